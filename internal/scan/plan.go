package scan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/patchgate/patchgate/internal/lifecycle"
	"github.com/patchgate/patchgate/internal/store"
)

// Labels of the events an import writes.
const (
	// ScannerLabel names the scanner ("trivy", "grype"); every event an
	// import writes has it, and only those events are closed by imports.
	ScannerLabel = "scanner"
	// CVEsLabel lists the advisories the patch fixes, comma-separated,
	// cut to the label's length with "+N more" (lifecycle.SplitCVEs).
	CVEsLabel      = lifecycle.CVEsLabel
	PackageLabel   = "package"
	InstalledLabel = "installed"
	FixedLabel     = "fixed"
	// AssetsLabel lists the scanned assets that had it.
	AssetsLabel = "assets"
)

// maxLabel is the longest label value the server accepts.
const maxLabel = 256

// maxDetail is the longest detail the server accepts.
const maxDetail = 4096

// Patch is one fix an import found: a package at the version that fixes
// its vulnerabilities. Its id is PatchID(Package, Fixed).
type Patch struct {
	ID        string
	Package   string
	Fixed     string
	Installed []string
	// Severity is the highest of its vulnerabilities' ("" when none is known).
	Severity string
	// Disclosed is the earliest publication of its advisories (zero when
	// none gives one).
	Disclosed time.Time
	CVEs      []string
	Assets    []string
	Targets   []string
	Scanners  []string
}

// PatchID is the patch id of a fix: the package and the version that
// fixes it, "openssl@3.0.15-1~deb12u1".
func PatchID(pkg, fixed string) string { return pkg + "@" + fixed }

// Patches groups the findings of reports by fix, sorted by patch id;
// findings without a fixed version are counted in unfixed (no patch
// exists to roll out).
func Patches(reports []Report) (patches []Patch, unfixed int) {
	byID := map[string]*Patch{}
	for _, r := range reports {
		for _, f := range r.Findings {
			if f.Fixed == "" {
				unfixed++
				continue
			}
			id := PatchID(f.Package, f.Fixed)
			p := byID[id]
			if p == nil {
				p = &Patch{ID: id, Package: f.Package, Fixed: f.Fixed, Severity: f.Severity}
				byID[id] = p
			}
			if severityRank(f.Severity) < severityRank(p.Severity) {
				p.Severity = f.Severity
			}
			if !f.Published.IsZero() && (p.Disclosed.IsZero() || f.Published.Before(p.Disclosed)) {
				p.Disclosed = f.Published
			}
			p.Installed = appendNew(p.Installed, f.Installed)
			p.CVEs = appendNew(p.CVEs, f.Vulnerability)
			p.Assets = appendNew(p.Assets, r.Asset)
			p.Targets = appendNew(p.Targets, f.Target)
			p.Scanners = appendNew(p.Scanners, r.Format)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		p := byID[id]
		for _, s := range [][]string{p.Installed, p.CVEs, p.Assets, p.Targets, p.Scanners} {
			slices.Sort(s)
		}
		patches = append(patches, *p)
	}
	return patches, unfixed
}

func appendNew(list []string, v string) []string {
	if v == "" || slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// Scope is what an import speaks for: every asset of a service (in a
// cluster, when named) that was scanned. A patch that a scope's import
// no longer finds is gone from the whole scope.
type Scope struct {
	Service string
	Cluster string
}

// Change is one event an import adds.
type Change struct {
	PatchID string
	// Type is store.EventDiscovered (a fix newly seen) or
	// store.EventDeployed (a fix no scan of the scope finds any more).
	Type     string
	Time     time.Time
	Severity string
	Detail   string
	Labels   map[string]string
	// Key is the idempotency key, derived from the scope and the patch:
	// importing the same report again adds nothing.
	Key string
}

// PlanConfig is what Plan needs besides the patches.
type PlanConfig struct {
	Scope Scope
	// Stored are the scope's stored events (of every patch): what
	// earlier imports and rollouts recorded.
	Stored []store.Event
	// At is the time of the scan (the reports' newest CreatedAt, else now).
	At time.Time
	// Complete is false when a report of the import could not be read:
	// then nothing is closed, since its findings are unknown.
	Complete bool
}

// Plan returns the events an import adds: a discovered event for each
// patch the scope has not seen discovered, and a deployed event for each
// patch an earlier import discovered that is still open in the scope
// (lifecycle.Exposure) and absent from this import.
func Plan(patches []Patch, cfg PlanConfig) []Change {
	byPatch := map[string][]store.Event{}
	for _, e := range cfg.Stored {
		if e.Service != cfg.Scope.Service || e.Cluster != cfg.Scope.Cluster {
			continue
		}
		byPatch[e.PatchID] = append(byPatch[e.PatchID], e)
	}
	var out []Change
	found := map[string]bool{}
	for _, p := range patches {
		found[p.ID] = true
		scanner := strings.Join(p.Scanners, ",")
		labels := map[string]string{
			ScannerLabel:   scanner,
			CVEsLabel:      joinCut(p.CVEs, maxLabel),
			PackageLabel:   cut(p.Package, maxLabel),
			InstalledLabel: joinCut(p.Installed, maxLabel),
			FixedLabel:     cut(p.Fixed, maxLabel),
			AssetsLabel:    joinCut(p.Assets, maxLabel),
		}
		if !p.Disclosed.IsZero() {
			labels[lifecycle.DisclosedAtLabel] = p.Disclosed.UTC().Format(time.RFC3339)
		}
		detail := fmt.Sprintf("%s found %s in %s %s (fixed in %s) on %s",
			scanner, strings.Join(p.CVEs, ", "), p.Package, strings.Join(p.Installed, ", "), p.Fixed, strings.Join(p.Targets, ", "))
		out = append(out, Change{
			PatchID: p.ID, Type: store.EventDiscovered, Time: cfg.At, Severity: p.Severity,
			Detail: cut(detail, maxDetail), Labels: labels, Key: key("discovered", cfg.Scope, p.ID),
		})
	}
	if !cfg.Complete {
		return out
	}
	for _, id := range slices.Sorted(maps.Keys(byPatch)) {
		events := byPatch[id]
		if found[id] || !fromScan(events) || !lifecycle.Exposure(events).Open {
			continue
		}
		var scanner string
		for _, e := range events {
			if s := e.Labels[ScannerLabel]; s != "" {
				scanner = s
				break
			}
		}
		at := cfg.At
		if last := slices.MaxFunc(events, func(a, b store.Event) int { return a.Time.Compare(b.Time) }); last.Time.After(at) {
			at = last.Time // never before what it closes
		}
		out = append(out, Change{
			PatchID: id, Type: store.EventDeployed, Time: at,
			Detail: fmt.Sprintf("no longer found by a %s scan of service %s%s", scanner, cfg.Scope.Service, clusterText(cfg.Scope.Cluster)),
			Labels: map[string]string{ScannerLabel: scanner}, Key: key("gone", cfg.Scope, id),
		})
	}
	return out
}

// fromScan reports whether an import discovered the patch.
func fromScan(events []store.Event) bool {
	return slices.ContainsFunc(events, func(e store.Event) bool {
		return e.Type == store.EventDiscovered && e.Labels[ScannerLabel] != ""
	})
}

func clusterText(c string) string {
	if c == "" {
		return ""
	}
	return " in cluster " + c
}

// key derives an idempotency key from what the event says.
func key(kind string, s Scope, patchID string) string {
	h := sha256.New()
	for _, part := range []string{kind, s.Service, s.Cluster, patchID} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return "scan-" + kind + "-" + hex.EncodeToString(h.Sum(nil))[:32]
}

// cut shortens s to at most n bytes, on a rune boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	end := n - len(mark)
	for end > 0 && !isRuneStart(s[end]) {
		end--
	}
	return s[:end] + mark
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// joinCut joins list with commas, keeping as many entries as fit in n
// bytes and saying how many were left out.
func joinCut(list []string, n int) string {
	all := strings.Join(list, ",")
	if len(all) <= n {
		return all
	}
	for k := len(list) - 1; k > 0; k-- {
		s := strings.Join(list[:k], ",") + fmt.Sprintf(",+%d more", len(list)-k)
		if len(s) <= n {
			return s
		}
	}
	return cut(all, n)
}

// ScanTime is the time of an import: its reports' newest CreatedAt, else now.
func ScanTime(reports []Report, now time.Time) time.Time {
	var at time.Time
	for _, r := range reports {
		if r.CreatedAt.After(at) {
			at = r.CreatedAt
		}
	}
	if at.IsZero() {
		return now
	}
	return at
}
