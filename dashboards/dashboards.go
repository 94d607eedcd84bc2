package dashboards

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/prometheus/prometheus/promql/parser"
)

// Kind is what a dashboard is for.
type Kind string

const (
	Executive Kind = "executive" // coverage, exposure, compliance, time-to-deploy, error budget
	OnCall    Kind = "oncall"    // active rollouts, canary deltas, no_go decisions, rollbacks, incidents
	Debug     Kind = "debug"     // restarts, reboots, image pulls, agents, the gate's own health
	SLO       Kind = "slo"       // one per service: burn rates, budget, SLI
)

// The classic dashboard model (schema version 42, lowered for older
// releases by Grafana.adapt): what file provisioning and POST
// /api/dashboards/db take. The SDK marks it deprecated in favour of
// dashboardv2, which only Grafana 12's /apis endpoints accept.
type (
	//lint:ignore SA1019 see above: the API patchgate publishes through takes this model.
	classic = dashboard.Dashboard
	//lint:ignore SA1019 see above.
	builder = dashboard.DashboardBuilder
)

// Dashboard is one generated dashboard.
type Dashboard struct {
	Kind Kind
	// Service is the service of an SLO dashboard.
	Service string
	UID     string
	Title   string
	// Model is the dashboard as built by the foundation SDK.
	Model classic
	// Grafana is the release JSON writes for; the zero value is Latest.
	Grafana Grafana
}

// JSON is the dashboard as Grafana's file provisioning and
// POST /api/dashboards/db take it, indented, ending in a newline.
func (d Dashboard) JSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d.Model); err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", d.UID, err)
	}
	out, err := d.Grafana.adapt(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("dashboard %s for %s: %w", d.UID, d.Grafana, err)
	}
	return out, nil
}

// BuildFor returns the dashboards of a configuration for a Grafana
// release (see ParseGrafana): executive, on-call, debug, and one SLO
// dashboard per service, in that order.
func BuildFor(cfg *config.Config, g Grafana) ([]Dashboard, error) {
	prefix := cfg.Grafana.UIDPrefix
	if prefix == "" {
		prefix = config.DefaultGrafanaUIDPrefix
	}
	services := make([]string, len(cfg.Services))
	for i, s := range cfg.Services {
		services[i] = s.Name
	}
	out := []Dashboard{
		{Kind: Executive, UID: UID(prefix, Executive, ""), Title: "patchgate: executive"},
		{Kind: OnCall, UID: UID(prefix, OnCall, ""), Title: "patchgate: on-call"},
		{Kind: Debug, UID: UID(prefix, Debug, ""), Title: "patchgate: debug"},
	}
	for _, s := range cfg.Services {
		out = append(out, Dashboard{Kind: SLO, Service: s.Name, UID: UID(prefix, SLO, s.Name), Title: "patchgate SLO: " + s.Name})
	}
	for i := range out {
		d := &out[i]
		var b *builder
		switch d.Kind {
		case Executive:
			b = executive(cfg, services)
		case OnCall:
			b = onCall(cfg, services)
		case Debug:
			b = debug(services)
		case SLO:
			svc, _ := cfg.Service(d.Service)
			b = sloDashboard(svc)
		}
		b.Uid(d.UID).Title(d.Title).Tags(tags(d))
		m, err := b.Build()
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", d.UID, err)
		}
		d.Model = m
		d.Grafana = g
		if err := d.checkQueries(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkQueries refuses a dashboard with a query that does not parse as
// PromQL once Grafana's variables are filled: Grafana would show the
// panel's error to whoever opened it, long after generate said it wrote
// the file.
func (d Dashboard) checkQueries() error {
	qs, err := d.Queries()
	if err != nil {
		return fmt.Errorf("dashboard %s: %w", d.UID, err)
	}
	for _, q := range qs {
		if _, err := parser.ParseExpr(Sample(q.Expr)); err != nil {
			return fmt.Errorf("dashboard %s: %s: the query does not parse as PromQL: %w", d.UID, q.Where, err)
		}
	}
	return nil
}

func tags(d *Dashboard) []string {
	t := []string{"patchgate", string(d.Kind)}
	if d.Service != "" {
		t = append(t, "service:"+d.Service)
	}
	return t
}

// newDashboard starts a dashboard with what all of them share.
func newDashboard(from, refresh string) *builder {
	//lint:ignore SA1019 the classic model, see builder.
	return dashboard.NewDashboardBuilder("").
		Editable().
		Timezone("browser").
		Time(from, "now").
		Refresh(refresh).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Annotation(builtInAnnotations())
}

// uidRE is what Grafana accepts in a uid.
var uidRE = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// maxUID is the longest uid Grafana accepts.
const maxUID = 40

// UID is the uid of a dashboard: "<prefix>-<kind>", and for an SLO
// dashboard "<prefix>-slo-<service>". A service name Grafana would refuse
// in a uid (it may hold '.') or one too long is shortened and given a hash
// of the name, so uids stay valid, stable and distinct.
func UID(prefix string, kind Kind, service string) string {
	if kind != SLO {
		return prefix + "-" + string(kind)
	}
	uid := prefix + "-slo-" + service
	if uidRE.MatchString(service) && len(uid) <= maxUID {
		return uid
	}
	h := sha256.Sum256([]byte(service))
	suffix := "-" + hex.EncodeToString(h[:4])
	clean := strings.Map(func(r rune) rune {
		if r < 128 && uidRE.MatchString(string(r)) {
			return r
		}
		return '-'
	}, uid)
	return clean[:min(len(clean), maxUID-len(suffix))] + suffix
}

// Write writes each dashboard to dir as <uid>.json, for Grafana's file
// provisioning, and returns the files written.
func Write(dir string, ds []Dashboard) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files := make([]string, 0, len(ds))
	for _, d := range ds {
		b, err := d.JSON()
		if err != nil {
			return files, err
		}
		name := filepath.Join(dir, d.UID+".json")
		if err := os.WriteFile(name, b, 0o644); err != nil {
			return files, err
		}
		files = append(files, name)
	}
	return files, nil
}
