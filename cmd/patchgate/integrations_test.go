package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/expr-lang/expr"
	"github.com/goccy/go-yaml"
	"k8s.io/client-go/util/jsonpath"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
	"github.com/patchgate/patchgate/internal/testbed"
)

// Tokens of the rollout tools in these tests.
const (
	argoToken    = "argo-token-0123456789"
	flaggerToken = "flagger-token-0123456789"
	spinToken    = "spinnaker-token-0123456789"
)

const toolsConfig = `source: {type: embedded}
store: {dsn: "DSN"}
tokens:
  - {name: argo-rollouts, token: "` + argoToken + `", scopes: [gate]}
  - {name: flagger, token: "` + flaggerToken + `", scopes: [gate, events]}
  - {name: spinnaker, token: "` + spinToken + `", scopes: [gate]}
services:
SERVICES`

const toolsService = `  - name: NAME
    sli:
      errors: sum(rate(http_requests_total{service="NAME",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="NAME"}[{{.window}}]))
      canary: '{track="canary"}'
      baseline: '{track="baseline"}'
    slo: {objective: 95}
    checks:
      error_delta: {}
      min_traffic: {requests: 1000}
      burn_rate: {}
      alerts: {}
      freshness: {}
    stages:
      - {name: canary, max_wait: 30m}
      - {name: 100pct, disable: [error_delta, min_traffic]}
`

// clock is the gate's time, moved by the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// toolsEnv is a running gate (the real engine over the embedded PromQL
// engine, SQLite) with three services whose canaries are healthy
// (checkout: go), regressing (payments: no_go) and silent for the last
// 20 minutes (search: wait), and the manifests generated for it.
type toolsEnv struct {
	url   string
	clock *clock
	// first is when the tools first ask (the stage windows start there),
	// later ten minutes on.
	first, later time.Time
	gen          string // folder of `generate integrations`
	store        store.Store
}

func newToolsEnv(t *testing.T) *toolsEnv {
	t.Helper()
	ctx := context.Background()
	later := time.Date(2026, 11, 26, 11, 0, 0, 0, time.UTC)
	first := later.Add(-10 * time.Minute)
	dataStart := later.Add(-70 * time.Minute)

	var traffic []testbed.Traffic
	for _, s := range []struct {
		service   string
		canaryErr float64
		end       time.Time
	}{
		{"checkout", 0.005, later},
		{"payments", 0.04, later},
		{"search", 0.005, later.Add(-20 * time.Minute)},
	} {
		traffic = append(traffic,
			testbed.Traffic{Service: s.service, Track: "canary", RPS: 100, ErrorRatio: s.canaryErr, From: dataStart, To: s.end},
			testbed.Traffic{Service: s.service, Track: "baseline", RPS: 1900, ErrorRatio: 0.005, From: dataStart, To: s.end})
	}
	src := testbed.Source(t, testbed.Requests(traffic...)...)

	dir := t.TempDir()
	var services strings.Builder
	for _, s := range []string{"checkout", "payments", "search"} {
		services.WriteString(strings.ReplaceAll(toolsService, "NAME", s))
	}
	text := strings.NewReplacer("DSN", filepath.Join(dir, "gate.db"), "SERVICES", services.String()).Replace(toolsConfig)
	path := filepath.Join(dir, "patchgate.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: first}
	a, err := newApp(ctx, cfg, appOptions{source: src, now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	ts := httptest.NewServer(a.Handler())
	t.Cleanup(ts.Close)

	gen := filepath.Join(dir, "generated")
	if code, out := runCmd(t, "generate", "integrations", "--config", path, "--out", gen, "--url", ts.URL); code != 0 {
		t.Fatalf("generate integrations: exit %d\n%s", code, out)
	}
	return &toolsEnv{url: ts.URL, clock: clk, first: first, later: later, gen: gen, store: a.store}
}

// readStrict decodes a generated YAML file, refusing fields the tool's
// type does not have.
func readStrict(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalWithOptions(data, v, yaml.Strict()); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

type httpAnswer struct {
	status int
	header http.Header
	body   []byte
}

func send(t *testing.T, method, url string, header http.Header, body []byte) httpAnswer {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return httpAnswer{status: resp.StatusCode, header: resp.Header, body: b}
}

// --- Argo Rollouts ---------------------------------------------------------

// argoTemplate mirrors the fields of Argo Rollouts' AnalysisTemplate
// (pkg/apis/rollouts/v1alpha1/analysis_types.go) that patchgate uses;
// strict decoding refuses anything else.
type argoTemplateDoc struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Args []struct {
			Name      string  `yaml:"name"`
			Value     *string `yaml:"value"`
			ValueFrom *struct {
				SecretKeyRef *struct {
					Name string `yaml:"name"`
					Key  string `yaml:"key"`
				} `yaml:"secretKeyRef"`
			} `yaml:"valueFrom"`
		} `yaml:"args"`
		Metrics []struct {
			Name                    string `yaml:"name"`
			Interval                string `yaml:"interval"`
			Count                   int    `yaml:"count"`
			InconclusiveLimit       int    `yaml:"inconclusiveLimit"`
			ConsecutiveSuccessLimit int    `yaml:"consecutiveSuccessLimit"`
			SuccessCondition        string `yaml:"successCondition"`
			FailureCondition        string `yaml:"failureCondition"`
			Provider                struct {
				Web *struct {
					Method         string `yaml:"method"`
					URL            string `yaml:"url"`
					TimeoutSeconds int    `yaml:"timeoutSeconds"`
					Headers        []struct {
						Key   string `yaml:"key"`
						Value string `yaml:"value"`
					} `yaml:"headers"`
					JSONBody map[string]any `yaml:"jsonBody"`
					JSONPath string         `yaml:"jsonPath"`
				} `yaml:"web"`
			} `yaml:"provider"`
		} `yaml:"metrics"`
	} `yaml:"spec"`
}

// argoPhase is a measurement's phase as Argo Rollouts records it.
type argoPhase string

const (
	argoSuccessful   argoPhase = "Successful"
	argoFailed       argoPhase = "Failed"
	argoInconclusive argoPhase = "Inconclusive"
	argoError        argoPhase = "Error"
)

// argoMeasure evaluates an answer as Argo Rollouts' web metric provider
// does (metricproviders/webmetric/webmetric.go Run and parseResponse, then
// utils/evaluate EvaluateResult): a status outside 200-299 is an Error; a
// body that is not JSON is Successful without evaluating anything (issue
// #4535); else the jsonPath's first value is `result`, and with both
// conditions set the failure condition wins and neither true is
// Inconclusive.
func argoMeasure(status int, body []byte, jsonPathExpr, success, failure string) (argoPhase, error) {
	if status < 200 || status >= 300 {
		return argoError, fmt.Errorf("received non 2xx response code: %d", status)
	}
	var data any
	if err := json.Unmarshal(body, &data); err != nil {
		return argoSuccessful, nil
	}
	jp := jsonpath.New("metrics")
	if jsonPathExpr == "" {
		jsonPathExpr = "{$}"
	}
	if err := jp.Parse(jsonPathExpr); err != nil {
		return argoError, err
	}
	results, err := jp.FindResults(data)
	if err != nil {
		return argoError, fmt.Errorf("could not find JSONPath in body: %w", err)
	}
	var result any
	found := false
	for _, rs := range results {
		if len(rs) > 0 {
			result, found = rs[0].Interface(), true
			break
		}
	}
	if !found {
		return argoError, fmt.Errorf("result of web metric produced no value")
	}
	eval := func(cond string) (bool, error) {
		env := map[string]any{"result": result}
		prog, err := expr.Compile(cond, expr.Env(env))
		if err != nil {
			return false, err
		}
		out, err := expr.Run(prog, env)
		if err != nil {
			return false, err
		}
		b, ok := out.(bool)
		if !ok {
			return false, fmt.Errorf("expected bool, but got %T", out)
		}
		return b, nil
	}
	ok, err := eval(success)
	if err != nil {
		return argoError, err
	}
	bad, err := eval(failure)
	if err != nil {
		return argoError, err
	}
	switch {
	case bad:
		return argoFailed, nil
	case !ok:
		return argoInconclusive, nil
	}
	return argoSuccessful, nil
}

// argoResolve replaces {{args.NAME}} as Argo does before it sends.
func argoResolve(s string, args map[string]string) string {
	for k, v := range args {
		s = strings.ReplaceAll(s, "{{args."+k+"}}", v)
	}
	return s
}

func argoResolveAny(v any, args map[string]string) any {
	switch x := v.(type) {
	case string:
		return argoResolve(x, args)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = argoResolveAny(e, args)
		}
		return out
	}
	return v
}

// argoAsk runs one measurement of the generated template for a service.
func argoAsk(t *testing.T, tmpl argoTemplateDoc, args map[string]string) (argoPhase, httpAnswer) {
	t.Helper()
	args = mapsClone(args)
	for _, a := range tmpl.Spec.Args {
		if _, set := args[a.Name]; set {
			continue
		}
		switch {
		case a.Value != nil:
			args[a.Name] = *a.Value
		case a.ValueFrom != nil && a.ValueFrom.SecretKeyRef != nil:
			// The Secret named in the template holds the Argo token.
			args[a.Name] = argoToken
		}
	}
	m := tmpl.Spec.Metrics[0]
	web := m.Provider.Web
	header := http.Header{}
	for _, h := range web.Headers {
		header.Set(h.Key, argoResolve(h.Value, args))
	}
	body, err := json.Marshal(argoResolveAny(web.JSONBody, args))
	if err != nil {
		t.Fatal(err)
	}
	header.Set("Content-Type", "application/json") // jsonBody sets it
	a := send(t, web.Method, argoResolve(web.URL, args), header, body)
	phase, _ := argoMeasure(a.status, a.body, web.JSONPath, m.SuccessCondition, m.FailureCondition)
	return phase, a
}

func mapsClone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// readArgo reads the generated AnalysisTemplate of a service's stage.
func readArgo(t *testing.T, dir, service, stage string) argoTemplateDoc {
	t.Helper()
	var tmpl argoTemplateDoc
	readStrict(t, filepath.Join(dir, "argo", service+"-"+stage+"-analysistemplate.yaml"), &tmpl)
	if tmpl.APIVersion != "argoproj.io/v1alpha1" || tmpl.Kind != "AnalysisTemplate" || tmpl.Metadata.Name != "patchgate-"+service+"-"+stage {
		t.Fatalf("%s %s: %s %s %q", service, stage, tmpl.APIVersion, tmpl.Kind, tmpl.Metadata.Name)
	}
	if len(tmpl.Spec.Metrics) != 1 || tmpl.Spec.Metrics[0].Provider.Web == nil {
		t.Fatalf("%s %s: want one web metric, got %+v", service, stage, tmpl.Spec.Metrics)
	}
	m := tmpl.Spec.Metrics[0]
	if m.SuccessCondition != `result.decision == "go"` || m.FailureCondition != `result.decision == "no_go"` ||
		m.Provider.Web.JSONPath != "{$}" || m.Provider.Web.Method != "POST" {
		t.Fatalf("%s %s: metric %+v", service, stage, m)
	}
	return tmpl
}

// argoRun is the state of one AnalysisRun's metric as Argo Rollouts
// (v1.8, analysis/analysis.go assessMetricStatus) keeps it.
type argoRun struct {
	count, failed, inconclusive, consecutiveErrors, consecutiveSuccess int
}

// add records a measurement and returns the metric's phase afterwards:
// "" while it keeps measuring.
func (r *argoRun) add(tmpl argoTemplateDoc, p argoPhase) argoPhase {
	m := tmpl.Spec.Metrics[0]
	if p == argoError {
		r.consecutiveErrors++
	} else {
		r.consecutiveErrors = 0
		r.count++
	}
	switch p {
	case argoSuccessful:
		r.consecutiveSuccess++
	case argoFailed:
		r.failed++
		r.consecutiveSuccess = 0
	case argoInconclusive:
		r.inconclusive++
		r.consecutiveSuccess = 0
	}
	switch {
	case r.failed > 0: // failureLimit 0
		return argoFailed
	case r.inconclusive > m.InconclusiveLimit:
		return argoInconclusive
	case r.consecutiveErrors > 4: // consecutiveErrorLimit 4
		return argoError
	case m.ConsecutiveSuccessLimit > 0 && r.consecutiveSuccess >= m.ConsecutiveSuccessLimit:
		return argoSuccessful
	case r.count >= m.Count && m.ConsecutiveSuccessLimit > 0:
		return argoInconclusive
	case r.count >= m.Count:
		return argoSuccessful
	}
	return ""
}

// TestArgoRolloutsRunLength runs whole AnalysisRuns of the generated
// templates against the gate, a measurement a minute: a stage that stays
// inconclusive ends with the gate's on_timeout, never paused as
// Inconclusive first, and the first go ends the run.
func TestArgoRolloutsRunLength(t *testing.T) {
	env := newToolsEnv(t)
	for _, tt := range []struct {
		stage       string
		count, incl int
	}{
		{"canary", 32, 31}, // max_wait: 30m
		{"100pct", 62, 61}, // the default 60m
	} {
		m := readArgo(t, env.gen, "search", tt.stage).Spec.Metrics[0]
		if m.Interval != "1m0s" && m.Interval != "1m" || m.Count != tt.count || m.InconclusiveLimit != tt.incl || m.ConsecutiveSuccessLimit != 1 {
			t.Errorf("%s: interval %s count %d inconclusiveLimit %d consecutiveSuccessLimit %d, want 1m %d %d 1",
				tt.stage, m.Interval, m.Count, m.InconclusiveLimit, m.ConsecutiveSuccessLimit, tt.count, tt.incl)
		}
	}

	run := func(service string, at func(i int) time.Time) (argoPhase, int, string) {
		tmpl := readArgo(t, env.gen, service, "canary")
		args := map[string]string{"patch-id": "openssl-3.0.15", "canary-hash": "5c7d9e1f3"}
		var r argoRun
		for i := 0; i < tmpl.Spec.Metrics[0].Count+5; i++ {
			env.clock.set(at(i))
			p, a := argoAsk(t, tmpl, args)
			if done := r.add(tmpl, p); done != "" {
				return done, i + 1, string(a.body)
			}
		}
		t.Fatalf("%s: the run never ended", service)
		return "", 0, ""
	}
	// search is silent: the gate waits until max_wait (30m), then answers
	// its on_timeout no_go. Argo must still be asking then.
	phase, n, last := run("search", func(i int) time.Time { return env.first.Add(time.Duration(i) * time.Minute) })
	if phase != argoFailed || !strings.Contains(last, `"outcome":"timeout"`) {
		t.Errorf("silent canary: run ended %s after %d measurements, want Failed by the gate's timeout; last answer %s", phase, n, last)
	}
	// checkout: the first ask opens the window (wait), ten minutes on the
	// gate says go, and the run ends there.
	phase, n, last = run("checkout", func(i int) time.Time {
		if i == 0 {
			return env.first
		}
		return env.later.Add(time.Duration(i-1) * time.Minute)
	})
	if phase != argoSuccessful || n != 2 {
		t.Errorf("healthy canary: run ended %s after %d measurements, want Successful after 2; last answer %s", phase, n, last)
	}
}

func TestArgoRolloutsWebMetric(t *testing.T) {
	env := newToolsEnv(t)
	read := func(service string) argoTemplateDoc { return readArgo(t, env.gen, service, "canary") }
	args := map[string]string{"patch-id": "openssl-3.0.15", "canary-hash": "6b9f7c8d4"}

	// The rollout's first measurement opens the stage window: nothing to
	// judge yet, so every service is Inconclusive (the rollout waits).
	for _, svc := range []string{"checkout", "payments", "search"} {
		if phase, a := argoAsk(t, read(svc), args); phase != argoInconclusive {
			t.Fatalf("%s first measurement: %s (HTTP %d %s), want Inconclusive", svc, phase, a.status, a.body)
		}
	}
	env.clock.set(env.later)
	for _, tt := range []struct {
		service string
		want    argoPhase
	}{
		{"checkout", argoSuccessful},
		{"payments", argoFailed},
		{"search", argoInconclusive}, // a wait: never Failed or Error
	} {
		phase, a := argoAsk(t, read(tt.service), args)
		if phase != tt.want {
			t.Errorf("%s ten minutes on: %s (HTTP %d %s), want %s", tt.service, phase, a.status, a.body, tt.want)
		}
		if a.status != http.StatusOK {
			t.Errorf("%s: HTTP %d for a decision, want 200", tt.service, a.status)
		}
	}

	// Bad requests are the only non-2xx, and Argo counts them as errors
	// (retried, never a success); every answer is JSON.
	tmpl := read("checkout")
	for _, tt := range []struct {
		name   string
		args   map[string]string
		status int
	}{
		{"unknown stage", map[string]string{"stage": "75pct"}, http.StatusNotFound},
		{"empty patch id", map[string]string{"patch-id": ""}, http.StatusUnprocessableEntity},
		{"wrong token", map[string]string{"token": "not-the-token-0123"}, http.StatusUnauthorized},
	} {
		a := args
		a = mapsClone(a)
		for k, v := range tt.args {
			a[k] = v
		}
		phase, ans := argoAsk(t, tmpl, a)
		if ans.status != tt.status || phase != argoError {
			t.Errorf("%s: HTTP %d, Argo %s; want %d and Error", tt.name, ans.status, phase, tt.status)
		}
		if !json.Valid(ans.body) || !strings.HasPrefix(ans.header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: answer is not JSON: %s %q", tt.name, ans.header.Get("Content-Type"), ans.body)
		}
	}
	// Why the gate must always answer JSON: Argo reads a 200 text body as
	// Successful without looking at it.
	if phase, _ := argoMeasure(http.StatusOK, []byte("no_go"), "{$}", `result.decision == "go"`, `result.decision == "no_go"`); phase != argoSuccessful {
		t.Fatalf("argoMeasure does not reproduce Argo's non-JSON handling: %s", phase)
	}
}

// --- Flagger ---------------------------------------------------------------

// flaggerCanaryDoc mirrors the fields of Flagger's Canary
// (pkg/apis/flagger/v1beta1/canary.go CanaryWebhook) the generator writes.
type flaggerCanaryDoc struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Spec struct {
		Analysis struct {
			Webhooks []struct {
				Type     string            `yaml:"type"`
				Name     string            `yaml:"name"`
				URL      string            `yaml:"url"`
				Timeout  string            `yaml:"timeout"`
				Metadata map[string]string `yaml:"metadata"`
			} `yaml:"webhooks"`
		} `yaml:"analysis"`
	} `yaml:"spec"`
}

// flaggerPayload is Flagger v1.36's CanaryWebhookPayload.
type flaggerPayload struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Phase     string            `json:"phase"`
	Checksum  string            `json:"checksum"`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

// flaggerCall sends a webhook as Flagger's callWebhook does: POST, only
// Content-Type set; a status up to 202 is a yes.
func flaggerCall(t *testing.T, url string, p flaggerPayload) (bool, httpAnswer) {
	t.Helper()
	body, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	a := send(t, http.MethodPost, url, http.Header{"Content-Type": {"application/json"}}, body)
	return a.status <= 202, a
}

func TestFlaggerWebhooks(t *testing.T) {
	env := newToolsEnv(t)
	const checksum = "7f8d9c6b5a"
	type hook struct {
		url      string
		metadata map[string]string
	}
	hooks := func(service string) map[string]hook {
		var c flaggerCanaryDoc
		readStrict(t, filepath.Join(env.gen, "flagger", service+"-canary-webhooks.yaml"), &c)
		if c.APIVersion != "flagger.app/v1beta1" || c.Kind != "Canary" || c.Metadata.Name != service {
			t.Fatalf("%s: %s %s %q", service, c.APIVersion, c.Kind, c.Metadata.Name)
		}
		out := map[string]hook{}
		for _, w := range c.Spec.Analysis.Webhooks {
			if !strings.Contains(w.URL, "${PATCHGATE_TOKEN}") {
				t.Fatalf("%s webhook %s: URL %q has no token placeholder", service, w.Name, w.URL)
			}
			// What Flux's postBuild substitution does at deploy time.
			out[w.Type] = hook{url: strings.ReplaceAll(w.URL, "${PATCHGATE_TOKEN}", flaggerToken), metadata: w.Metadata}
		}
		for _, typ := range []string{"confirm-traffic-increase", "rollback", "confirm-promotion", "event"} {
			if _, ok := out[typ]; !ok {
				t.Fatalf("%s: no %s webhook in %+v", service, typ, out)
			}
		}
		return out
	}
	payload := func(service string, h hook) flaggerPayload {
		return flaggerPayload{Name: service, Namespace: "shop", Phase: "Progressing", Checksum: checksum, Metadata: h.metadata}
	}

	// Flagger's event webhook at the start of the analysis.
	for _, svc := range []string{"checkout", "payments", "search"} {
		h := hooks(svc)["event"]
		p := payload(svc, h)
		p.Metadata = map[string]string{"eventMessage": "Starting canary analysis for " + svc + ".shop", "eventType": "Normal",
			"timestamp": fmt.Sprint(env.first.UnixMilli())}
		for k, v := range h.metadata {
			p.Metadata[k] = v
		}
		if ok, a := flaggerCall(t, h.url, p); !ok {
			t.Fatalf("%s event: HTTP %d %s", svc, a.status, a.body)
		}
	}
	// First traffic step, at weight 0: the first stage starts and the step
	// is approved without a decision (no canary traffic to judge yet).
	for _, svc := range []string{"checkout", "payments", "search"} {
		h := hooks(svc)["confirm-traffic-increase"]
		if _, ok := h.metadata["stage"]; ok {
			t.Errorf("%s confirm-traffic-increase names stage %q: patchgate follows the stages itself", svc, h.metadata["stage"])
		}
		if ok, a := flaggerCall(t, h.url, payload(svc, h)); !ok || !strings.Contains(string(a.body), `"started":"canary"`) {
			t.Fatalf("%s first confirm-traffic-increase: HTTP %d %s, want 200 starting canary", svc, a.status, a.body)
		}
	}
	env.clock.set(env.later)
	for _, tt := range []struct {
		service          string
		increase, rollbk bool
		reason           string
	}{
		{"checkout", true, false, ""},
		{"payments", false, true, "beyond the 0.5 pp margin"},
		{"search", false, false, "stale or absent series are never a go"},
	} {
		hs := hooks(tt.service)
		ok, a := flaggerCall(t, hs["confirm-traffic-increase"].url, payload(tt.service, hs["confirm-traffic-increase"]))
		if ok != tt.increase {
			t.Errorf("%s confirm-traffic-increase: HTTP %d %s, want approve %v", tt.service, a.status, a.body, tt.increase)
		}
		if !ok && !strings.Contains(string(a.body), tt.reason) {
			t.Errorf("%s: refusal %q does not say %q", tt.service, a.body, tt.reason)
		}
		if a.status == http.StatusTooManyRequests || a.status >= 500 {
			t.Errorf("%s: HTTP %d is retried by Flagger", tt.service, a.status)
		}
		ok, a = flaggerCall(t, hs["rollback"].url, payload(tt.service, hs["rollback"]))
		if ok != tt.rollbk {
			t.Errorf("%s rollback: HTTP %d %s, want roll back %v", tt.service, a.status, a.body, tt.rollbk)
		}
	}

	// The asks of one Canary revision are one stage attempt: the window
	// opened by the first ask is the one judged (look 10), the patch is
	// named after the checksum.
	list, err := env.store.ListDecisions(context.Background(), store.Filter{Service: "checkout", Stage: "canary"})
	if err != nil || len(list) == 0 {
		t.Fatalf("decisions: %v %d", err, len(list))
	}
	var newest struct {
		PatchID string `json:"patch_id"`
		Attempt string `json:"attempt"`
		Window  struct {
			Look int `json:"look"`
		} `json:"window"`
	}
	if err := json.Unmarshal(list[0].Body, &newest); err != nil {
		t.Fatal(err)
	}
	if newest.PatchID != "flagger-"+checksum || newest.Attempt != checksum || newest.Window.Look != 10 {
		t.Errorf("newest checkout decision: %+v, want patch flagger-%s, attempt %s, look 10", newest, checksum, checksum)
	}
	if events, err := env.store.ListEvents(context.Background(), store.EventFilter{Service: "checkout", Type: store.EventStageStarted}); err != nil {
		t.Fatal(err)
	} else {
		// The event hook's and the first step's start of canary, then the
		// start of 100pct by canary's go.
		var stages []string
		for _, e := range events {
			if e.Attempt != checksum || e.Actor != "flagger" {
				t.Errorf("stage_started %+v, want attempt %s, by flagger", e, checksum)
			}
			stages = append(stages, e.Stage)
		}
		if !slices.Equal(stages, []string{"canary", "canary", "100pct"}) {
			t.Errorf("stage_started events of checkout for stages %v, want canary (event hook), canary (first step), 100pct (canary's go)", stages)
		}
	}
}

// --- Spinnaker -------------------------------------------------------------

// spinnakerStageDoc is a pipeline stage of the preconfigured type.
type spinnakerStageDoc struct {
	Name            string            `json:"name"`
	RefID           string            `json:"refId"`
	Type            string            `json:"type"`
	ParameterValues map[string]string `json:"parameterValues"`
}

// spelResolve stands in for Orca's expression evaluation of the payload.
func spelResolve(v any, values map[string]string) any {
	switch x := v.(type) {
	case string:
		for expr, val := range values {
			x = strings.ReplaceAll(x, expr, val)
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = spelResolve(e, values)
		}
		return out
	}
	return v
}

// orcaMonitor reads a status answer as MonitorWebhookTask does: the value
// at statusJsonPath (here of the form $.field) matched, upper-cased,
// against the comma-separated success and terminal statuses; anything
// else keeps the stage RUNNING.
func orcaMonitor(t *testing.T, st orcaPreconfigured, body []byte) string {
	t.Helper()
	field, ok := strings.CutPrefix(st.StatusJSONPath, "$.")
	if !ok || strings.ContainsAny(field, ".[") {
		t.Fatalf("statusJsonPath %q: this test reads only $.field", st.StatusJSONPath)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("status answer is not JSON: %s", body)
	}
	s, ok := doc[field].(string)
	if !ok {
		t.Fatalf("%s is %T, want a string (Orca fails the stage otherwise)", st.StatusJSONPath, doc[field])
	}
	split := func(list string) []string {
		var out []string
		for p := range strings.SplitSeq(list, ",") {
			out = append(out, strings.ToUpper(strings.TrimSpace(p)))
		}
		return out
	}
	switch {
	case slices.Contains(split(st.TerminalStatuses), strings.ToUpper(s)):
		return "TERMINAL"
	case slices.Contains(split(st.SuccessStatuses), strings.ToUpper(s)):
		return "SUCCEEDED"
	}
	return "RUNNING"
}

func TestSpinnakerWebhookStage(t *testing.T) {
	env := newToolsEnv(t)
	var orca orcaLocal
	readStrict(t, filepath.Join(env.gen, "spinnaker", "orca-local.yml"), &orca)
	if len(orca.Webhook.Preconfigured) != 1 {
		t.Fatalf("orca-local.yml: %d preconfigured webhooks, want 1", len(orca.Webhook.Preconfigured))
	}
	pre := orca.Webhook.Preconfigured[0]
	if pre.Type != "patchgate" || !pre.Enabled || !pre.WaitForCompletion || pre.StatusURLResolution != "locationHeader" || pre.Method != "POST" {
		t.Fatalf("preconfigured stage %+v", pre)
	}
	var params []string
	for _, p := range pre.Parameters {
		params = append(params, p.Name)
	}
	if !slices.Equal(params, []string{"service", "stage", "patch_id"}) {
		t.Errorf("parameters %v, want service, stage, patch_id", params)
	}
	// The reference Orca decrypts at start; the secret holds the whole header value.
	ref := pre.CustomHeaders["Authorization"]
	if len(ref) != 1 || !strings.HasPrefix(ref[0], "encrypted:") {
		t.Fatalf("Authorization %v, want one encrypted: reference", ref)
	}
	decrypted := map[string]string{ref[0]: "Bearer " + spinToken}
	read := func(service string) spinnakerStageDoc {
		data, err := os.ReadFile(filepath.Join(env.gen, "spinnaker", service+"-canary-stage.json"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "Authorization") || strings.Contains(string(data), "encrypted:") {
			t.Errorf("%s: the pipeline stage carries a header: %s", service, data)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var st spinnakerStageDoc
		if err := dec.Decode(&st); err != nil {
			t.Fatalf("%s: %v", service, err)
		}
		if st.Type != pre.Type {
			t.Fatalf("%s: stage type %q, want the preconfigured %q", service, st.Type, pre.Type)
		}
		return st
	}
	headers := func() http.Header {
		h := http.Header{}
		for k, vs := range pre.CustomHeaders {
			for _, v := range vs {
				if d, ok := decrypted[v]; ok {
					v = d
				}
				h.Add(k, v)
			}
		}
		return h
	}
	// What Orca evaluates: the stage's parameterValues (their own
	// expressions first), then the preconfigured payload.
	trigger := map[string]string{"${trigger['parameters']['patch_id']}": "openssl-3.0.15"}
	create := func(st spinnakerStageDoc) (string, httpAnswer) {
		spel := map[string]string{"${execution['id']}": "01JD4M6X8Q2W5Z"}
		for k, v := range st.ParameterValues {
			spel["${parameterValues['"+k+"']}"] = spelResolve(v, trigger).(string)
		}
		body := spelResolve(pre.Payload, spel).(string)
		if !json.Valid([]byte(body)) {
			t.Fatalf("payload after evaluation is not JSON: %s", body)
		}
		a := send(t, pre.Method, pre.URL, headers(), []byte(body))
		if a.status < 200 || a.status > 399 {
			t.Fatalf("POST %s: HTTP %d %s (Orca: TERMINAL)", pre.URL, a.status, a.body)
		}
		return a.header.Get("Location"), a
	}
	poll := func(location string) string {
		a := send(t, http.MethodGet, location, headers(), nil)
		if a.status != http.StatusOK {
			t.Fatalf("GET %s: HTTP %d %s", location, a.status, a.body)
		}
		return orcaMonitor(t, pre, a.body)
	}

	locations := map[string]string{}
	for _, svc := range []string{"checkout", "payments", "search"} {
		loc, a := create(read(svc))
		if loc == "" {
			t.Fatalf("%s: no Location header (Orca: TERMINAL, status URL not resolved)", svc)
		}
		if got := orcaMonitor(t, pre, a.body); got != "RUNNING" {
			t.Fatalf("%s right after the POST: %s, want RUNNING", svc, got)
		}
		locations[svc] = loc
	}
	env.clock.set(env.later)
	for _, tt := range []struct{ service, want string }{
		{"checkout", "SUCCEEDED"},
		{"payments", "TERMINAL"},
		{"search", "RUNNING"},
	} {
		if got := poll(locations[tt.service]); got != tt.want {
			t.Errorf("%s ten minutes on: %s, want %s", tt.service, got, tt.want)
		}
	}
}

// TestSpinnakerSecretFlag: --spinnaker-secret writes the reference as
// given, --spinnaker-sensitive-headers moves it under sensitiveHeaders, and
// what is not a secret reference (a token pasted by mistake) is refused
// without being echoed.
func TestSpinnakerSecretFlag(t *testing.T) {
	const ref = "encrypted:secrets-manager!r:us-west-2!s:patchgate-authorization"
	for _, tt := range []struct {
		args      []string
		sensitive bool
	}{
		{[]string{"--spinnaker-secret", ref}, false},
		{[]string{"--spinnaker-secret", ref, "--spinnaker-sensitive-headers"}, true},
	} {
		out := filepath.Join(t.TempDir(), "out")
		if code, text := runCmd(t, append([]string{"generate", "integrations", "--config", "../../testdata/patchgate.yaml", "--out", out}, tt.args...)...); code != 0 {
			t.Fatalf("%v: exit %d: %s", tt.args, code, text)
		}
		var orca orcaLocal
		readStrict(t, filepath.Join(out, "spinnaker", "orca-local.yml"), &orca)
		pre := orca.Webhook.Preconfigured[0]
		where, other := pre.CustomHeaders, pre.SensitiveHeaders
		if tt.sensitive {
			where, other = other, where
		}
		if got := where["Authorization"]; len(got) != 1 || got[0] != ref {
			t.Errorf("%v: Authorization %v, want [%s]", tt.args, got, ref)
		}
		if _, ok := other["Authorization"]; ok {
			t.Errorf("%v: Authorization written twice", tt.args)
		}
	}
	for _, bad := range []struct{ value, says string }{
		{"Bearer s3cr3t-token-value", "want Spinnaker's secret reference encrypted:<engine>!<key>:<value>!"},
		{"encrypted:s3", "want Spinnaker's secret reference"},
		{"encryptedFile:s3!r:us-west-2!b:mybucket!f:token", "references a file"},
	} {
		code, text := runCmd(t, "generate", "integrations", "--config", "../../testdata/patchgate.yaml", "--out", t.TempDir(), "--spinnaker-secret", bad.value)
		if code != exitError || !strings.Contains(text, "--spinnaker-secret: ") || !strings.Contains(text, bad.says) {
			t.Errorf("--spinnaker-secret %q: exit %d: %s", bad.value, code, text)
		}
		if strings.Contains(text, "s3cr3t") {
			t.Errorf("the refusal echoes the value: %s", text)
		}
	}
}

// --- the generator ---------------------------------------------------------

func TestGenerateIntegrations(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "patchgate.yaml")
	cfg := strings.NewReplacer("DSN", filepath.Join(dir, "gate.db"), "SERVICES",
		strings.ReplaceAll(toolsService, "NAME", "checkout")+strings.ReplaceAll(toolsService, "NAME", "Cart_API")).Replace(toolsConfig) +
		"integrations:\n  flagger:\n    targets: [{namespace: shop, name: cart-api-canary, service: Cart_API}]\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, text := runCmd(t, "generate", "integrations", "--config", path, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, text)
	}
	want := []string{
		"argo/cart-api-100pct-analysistemplate.yaml", "argo/cart-api-canary-analysistemplate.yaml",
		"argo/checkout-100pct-analysistemplate.yaml", "argo/checkout-canary-analysistemplate.yaml",
		"flagger/cart-api-canary-webhooks.yaml", "flagger/checkout-canary-webhooks.yaml",
		"spinnaker/cart-api-100pct-stage.json", "spinnaker/cart-api-canary-stage.json",
		"spinnaker/checkout-100pct-stage.json", "spinnaker/checkout-canary-stage.json",
		"spinnaker/orca-local.yml",
	}
	var got []string
	err := filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(out, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if !strings.Contains(text, "wrote 11 files for 2 services") || !strings.Contains(text, "flagger/cart-api-canary-webhooks.yaml") {
		t.Errorf("output does not say what was written:\n%s", text)
	}

	// Names follow the config: the Canary named by the Flagger mapping,
	// the service's own name in requests, defaults for URL and Secret.
	var c flaggerCanaryDoc
	readStrict(t, filepath.Join(out, "flagger/cart-api-canary-webhooks.yaml"), &c)
	if c.Metadata.Name != "cart-api-canary" || c.Metadata.Namespace != "shop" {
		t.Errorf("Canary %+v, want shop/cart-api-canary", c.Metadata)
	}
	for _, w := range c.Spec.Analysis.Webhooks {
		if w.Metadata["service"] != "Cart_API" || !strings.HasPrefix(w.URL, defaultIntegrationsURL+"/v1/integrations/flagger/"+w.Type+"/t/") {
			t.Errorf("webhook %+v", w)
		}
	}
	var tmpl argoTemplateDoc
	readStrict(t, filepath.Join(out, "argo/cart-api-100pct-analysistemplate.yaml"), &tmpl)
	if tmpl.Metadata.Name != "patchgate-cart-api-100pct" || *tmpl.Spec.Args[0].Value != "Cart_API" || *tmpl.Spec.Args[1].Value != "100pct" ||
		tmpl.Spec.Args[4].ValueFrom.SecretKeyRef.Name != defaultTokenSecret {
		t.Errorf("template %+v", tmpl)
	}

	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--config", path}, "missing --out"},
		{[]string{"--config", path, "--out", out, "--url", "patchgate:8080"}, "--url must be an http or https URL"},
		{[]string{"--config", path, "--out", out, "--token-secret", "Patchgate_Token"}, "--token-secret must be a Kubernetes Secret name"},
		{[]string{"--config", filepath.Join(dir, "missing.yaml"), "--out", out}, "no such file"},
	} {
		code, text := runCmd(t, append([]string{"generate", "integrations"}, tt.args...)...)
		if code != 2 || !strings.Contains(text, tt.msg) {
			t.Errorf("%v: exit %d %q, want 2 and %q", tt.args, code, text, tt.msg)
		}
	}
}

func TestGenerateIntegrationsRefusesCollisions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "patchgate.yaml")
	cfg := strings.NewReplacer("DSN", filepath.Join(dir, "gate.db"), "SERVICES",
		strings.ReplaceAll(toolsService, "NAME", "cart_api")+strings.ReplaceAll(toolsService, "NAME", "cart-api")).Replace(toolsConfig)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, text := runCmd(t, "generate", "integrations", "--config", path, "--out", filepath.Join(dir, "out"))
	if code != 2 || !strings.Contains(text, `service "cart_api" and service "cart-api" would both be written to flagger/cart-api-canary-webhooks.yaml`) {
		t.Fatalf("exit %d: %s", code, text)
	}
}
