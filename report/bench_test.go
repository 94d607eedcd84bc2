package report_test

import (
	"io"
	"testing"

	"github.com/patchgate/patchgate/report"
	"github.com/patchgate/patchgate/report/reporttest"
)

// BenchmarkWrite renders the fixed report in each format (the HTML draws
// its four charts each time).
func BenchmarkWrite(b *testing.B) {
	r := reporttest.Report()
	for _, format := range report.Formats {
		b.Run(format, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := report.Write(io.Discard, r, format); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
