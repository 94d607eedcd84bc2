package numfmt

import (
	"math"
	"testing"
)

func TestGrouped(t *testing.T) {
	for _, tc := range []struct {
		v        float64
		decimals int
		want     string
	}{
		{0, 0, "0"},
		{7, 0, "7"},
		{999, 0, "999"},
		{1000, 0, "1,000"},
		{12480, 0, "12,480"},
		{1234567, 0, "1,234,567"},
		{-1234567, 0, "-1,234,567"},
		{1e15, 0, "1,000,000,000,000,000"},
		{1e21, 0, "1,000,000,000,000,000,000,000"},
		// Rounded half away from zero, with no minus sign on a zero.
		{2.5, 0, "3"},
		{-2.5, 0, "-3"},
		{999.5, 0, "1,000"},
		{-0.4, 0, "0"},
		{math.Copysign(0, -1), 0, "0"},
		// With decimals, as strconv.FormatFloat rounds.
		{1234.56, 1, "1,234.6"},
		{-12345.67, 1, "-12,345.7"},
		{999.96, 1, "1,000.0"},
		{0.5, 2, "0.50"},
		{-0.01, 1, "0.0"},
		{12, -1, "12"},
		{math.NaN(), 0, "NaN"},
		{math.Inf(1), 0, "+Inf"},
		{math.Inf(-1), 1, "-Inf"},
	} {
		if got := Grouped(tc.v, tc.decimals); got != tc.want {
			t.Errorf("Grouped(%v, %d) = %q, want %q", tc.v, tc.decimals, got, tc.want)
		}
	}
}
