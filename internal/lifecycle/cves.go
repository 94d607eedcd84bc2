package lifecycle

import (
	"fmt"
	"slices"
	"strings"

	"github.com/patchgate/patchgate/internal/store"
)

// CVEsLabel is the event label listing the advisories a patch fixes,
// comma-separated; when the list is longer than a label holds, it ends
// with "+N more". Imported scanner reports set it (docs/scans.md).
const CVEsLabel = "cves"

// SplitCVEs reads a CVEsLabel value: the ids, and how many more there
// were than listed.
func SplitCVEs(v string) (ids []string, more int) {
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		var n int
		if _, err := fmt.Sscanf(part, "+%d more", &n); err == nil {
			more += n
			continue
		}
		ids = append(ids, part)
	}
	return ids, more
}

// PatchCVEs returns the CVEs named by a patch's events, sorted, and how
// many more there were than listed.
func PatchCVEs(events []store.Event) (ids []string, more int) {
	for _, e := range events {
		listed, n := SplitCVEs(e.Labels[CVEsLabel])
		for _, id := range listed {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		more = max(more, n)
	}
	slices.Sort(ids)
	return ids, more
}

// cveExposure sets the exposure of each CVE of an open patch.
func cveExposure(s *Snapshot, patchID, sev string, events []store.Event, seconds float64) {
	ids, _ := PatchCVEs(events)
	for _, id := range ids {
		if strings.ContainsFunc(id, func(r rune) bool { return r < ' ' }) {
			continue
		}
		s.set(OpenCVEExposure, seconds, sev, id, patchID)
	}
}
