package slo

import (
	"embed"
	"io/fs"
	"time"

	"github.com/slok/sloth/pkg/common/conventions"
)

// windowsFS holds the alert windows catalogue handed to Sloth: one
// AlertWindows file per SLO period. Setting a catalogue replaces Sloth's
// embedded one (28d and 30d only), so both of those are copied here beside
// patchgate's 7d and 90d; see the comments in each file.
//
//go:embed windows/*.yaml
var windowsFS embed.FS

func windowsCatalogue() fs.FS {
	sub, err := fs.Sub(windowsFS, "windows")
	if err != nil {
		panic(err) // the embedded folder exists: a build without it does not compile
	}
	return sub
}

// SLIErrorRecord is the name of the series Sloth records a service's error
// ratio over window in, e.g. slo:sli_error:ratio_rate1h. It carries the
// labels sloth_id, sloth_service, sloth_slo and sloth_window.
func SLIErrorRecord(window time.Duration) string {
	return conventions.GetSLIErrorMetric(window)
}

// Sloth's labels on every series it records.
const (
	LabelSlothService = conventions.PromSLOServiceLabelName
	LabelSlothSLO     = conventions.PromSLONameLabelName
	LabelSlothID      = conventions.PromSLOIDLabelName
	LabelSlothWindow  = conventions.PromSLOWindowLabelName
)
