package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"

	"github.com/patchgate/patchgate/alerts"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/slo"
)

var envName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

var update = flag.Bool("update", false, "rewrite deploy/kubernetes, the golden renders and the chart's rule files")

const (
	chartDir  = "helm/patchgate"
	rulesDir  = "helm/patchgate/files/rules"
	release   = "patchgate"
	namespace = "patchgate"
	// plainManifests is the chart's default render, kept for kubectl apply.
	plainManifests = "kubernetes/patchgate.yaml"
)

// Values beside the defaults: PostgreSQL, three replicas and every
// optional object, as a production install sets them.
var fullValues = map[string]any{
	"replicaCount": 3,
	"store":        map[string]any{"driver": "postgres"},
	"image":        map[string]any{"digest": "sha256:" + strings.Repeat("ab", 32)},
	"extraEnv": []any{map[string]any{"name": "GRAFANA_TOKEN", "valueFrom": map[string]any{
		"secretKeyRef": map[string]any{"name": "grafana", "key": "token"}}}},
	"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "kube-prometheus-stack"}},
	"prometheusRule": map[string]any{"enabled": true, "labels": map[string]any{"release": "kube-prometheus-stack"}},
	"networkPolicy": map[string]any{"enabled": true, "ingressFrom": []any{
		map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "argo-rollouts"}}},
		map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "monitoring"}}},
	}},
}

// render is `helm template patchgate deploy/helm/patchgate -n patchgate`
// with vals over the chart's values: the objects in install order, each
// headed by its template's name.
func render(t *testing.T, vals map[string]any) (string, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	caps := chartutil.DefaultCapabilities.Copy()
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{
		Name: release, Namespace: namespace, Revision: 1, IsInstall: true,
	}, caps)
	if err != nil {
		return "", err
	}
	files, err := engine.Engine{Strict: true}.Render(ch, rv)
	if err != nil {
		return "", err
	}
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name)
		}
	}
	_, manifests, err := releaseutil.SortManifests(files, caps.APIVersions, releaseutil.InstallOrder)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, m := range manifests {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	return b.String(), nil
}

// TestLint is `helm lint --strict`: warnings fail too.
func TestLint(t *testing.T) {
	for name, vals := range map[string]map[string]any{"default": nil, "full": fullValues} {
		t.Run(name, func(t *testing.T) {
			l := lint.AllWithKubeVersionAndSchemaValidation(chartDir, vals, namespace, nil, false)
			for _, m := range l.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				} else {
					t.Logf("helm lint: %s", m)
				}
			}
		})
	}
}

// TestRender renders the default and the full values, decodes every
// object strictly into the Kubernetes API types and compares the renders
// with their golden files: deploy/kubernetes/patchgate.yaml is the default.
func TestRender(t *testing.T) {
	tests := []struct {
		name   string
		vals   map[string]any
		golden string
		kinds  []string
	}{
		{"default", nil, plainManifests, []string{"PodDisruptionBudget", "ServiceAccount", "ConfigMap", "PersistentVolumeClaim", "Service", "Deployment"}},
		{"full", fullValues, "testdata/render-full.yaml", []string{"NetworkPolicy", "PodDisruptionBudget", "ServiceAccount", "ConfigMap", "Service", "Deployment", "PrometheusRule", "ServiceMonitor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := render(t, tt.vals)
			if err != nil {
				t.Fatal(err)
			}
			objs := decodeAll(t, out)
			var kinds []string
			for _, o := range objs {
				kinds = append(kinds, o.kind)
			}
			if !slices.Equal(kinds, tt.kinds) {
				t.Errorf("kinds %v, want %v", kinds, tt.kinds)
			}
			checkObjects(t, objs)
			golden(t, tt.golden, []byte(goldenHeader+out))
		})
	}
}

const goldenHeader = `# The Helm chart deploy/helm/patchgate rendered with its default values, as
# helm template patchgate deploy/helm/patchgate --namespace patchgate
# would. Written by make chart; do not edit (go test ./deploy checks it).
`

// checkObjects asserts what an operator relies on in the render.
func checkObjects(t *testing.T, objs []object) {
	t.Helper()
	for _, o := range objs {
		switch v := o.obj.(type) {
		case *corev1.Service:
			// generate integrations points rollout tools at this.
			if v.Name != "patchgate" || v.Namespace != "patchgate" || len(v.Spec.Ports) != 1 || v.Spec.Ports[0].Port != 8080 {
				t.Errorf("Service %s/%s ports %+v: want patchgate/patchgate on 8080 (http://patchgate.patchgate.svc:8080)", v.Namespace, v.Name, v.Spec.Ports)
			}
		case *appsv1.Deployment:
			checkDeployment(t, v)
		case *corev1.ConfigMap:
			checkConfig(t, v)
		}
	}
}

func checkDeployment(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	p := d.Spec.Template.Spec
	if len(p.Containers) != 1 {
		t.Fatalf("%d containers", len(p.Containers))
	}
	c := p.Containers[0]
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" ||
		c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("probes: readiness %+v, liveness %+v", c.ReadinessProbe, c.LivenessProbe)
	}
	sc := c.SecurityContext
	if p.SecurityContext == nil || p.SecurityContext.RunAsNonRoot == nil || !*p.SecurityContext.RunAsNonRoot ||
		p.SecurityContext.RunAsUser == nil || *p.SecurityContext.RunAsUser != 65532 {
		t.Errorf("pod security context %+v: want non-root 65532", p.SecurityContext)
	}
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container security context %+v: want a read-only root, no privilege escalation, ALL dropped", sc)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v", c.Resources)
	}
	if len(p.TopologySpreadConstraints) == 0 {
		t.Error("no topology spread constraints")
	}
	for _, tsc := range p.TopologySpreadConstraints {
		if tsc.LabelSelector == nil || tsc.LabelSelector.MatchLabels["app.kubernetes.io/instance"] != release {
			t.Errorf("topology spread %s selects %v, not the release's pods", tsc.TopologyKey, tsc.LabelSelector)
		}
	}
	// Every token and the DSN come from the Secret, never from values.
	for _, e := range c.Env {
		if !envName.MatchString(e.Name) {
			t.Errorf("env %q is not a portable variable name", e.Name)
		}
		if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("env %s is not read from a Secret", e.Name)
		}
	}
}

// checkConfig reads the ConfigMap's patchgate.yaml as config validate
// --offline does: the chart's config is one patchgate serves.
func checkConfig(t *testing.T, cm *corev1.ConfigMap) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "patchgate.yaml")
	if err := os.WriteFile(path, []byte(cm.Data["patchgate.yaml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadWithoutSecrets(path)
	if err != nil {
		t.Fatalf("the chart's patchgate.yaml: %v\n%s", err, cm.Data["patchgate.yaml"])
	}
	if cfg.Listen != ":8080" || len(cfg.Tokens) == 0 {
		t.Errorf("listen %q, %d tokens", cfg.Listen, len(cfg.Tokens))
	}
	for _, tok := range cfg.Tokens {
		if tok.TokenEnv == "" || tok.Token != "" {
			t.Errorf("token %s: want token_env only", tok.Name)
		}
	}
}

// TestRefused: values that cannot run fail the render with a message that
// says what to change.
func TestRefused(t *testing.T) {
	tests := []struct {
		name string
		vals map[string]any
		want string
	}{
		{"replicas with sqlite", map[string]any{"replicaCount": 2},
			"replicaCount is 2 but store.driver is sqlite: an SQLite file serves one replica. Set store.driver: postgres"},
		{"tokens without a secret", map[string]any{"existingSecret": ""},
			"existingSecret is empty"},
		{"tokens in config", map[string]any{"config": map[string]any{"tokens": []any{map[string]any{"name": "x"}}}},
			"config"},
		{"unknown value", map[string]any{"replicas": 2}, "replicas"},
		{"bad scope", map[string]any{"tokens": []any{map[string]any{"name": "x", "scopes": []any{"root"}, "secretKey": "x"}}}, "scopes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render(t, tt.vals)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("render error %v, want one containing %q", err, tt.want)
			}
			t.Logf("refused: %v", err)
		})
	}
}

// TestChartRules keeps files/rules equal to patchgate generate rules and
// generate alerts --format prometheus over the chart's config (the same
// library calls, written by make chart with -update), and checks the
// PrometheusRule's groups with promtool check rules --lint-fatal.
func TestChartRules(t *testing.T) {
	out, err := render(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cm *corev1.ConfigMap
	for _, o := range decodeAll(t, out) {
		if v, ok := o.obj.(*corev1.ConfigMap); ok {
			cm = v
		}
	}
	path := filepath.Join(t.TempDir(), "patchgate.yaml")
	if err := os.WriteFile(path, []byte(cm.Data["patchgate.yaml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadWithoutSecrets(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	err = slo.NewGenerator(slo.GeneratorConfig{}).Files(context.Background(), cfg, slo.FilesConfig{Format: slo.FormatPrometheus}, func(f slo.File) error {
		want[f.Name] = f.Data
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := alerts.Rules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	name, data, err := alerts.File(res, alerts.FileConfig{Format: slo.FormatPrometheus})
	if err != nil {
		t.Fatal(err)
	}
	want[name] = data
	if *update {
		if err := os.RemoveAll(rulesDir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(rulesDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range want {
		golden(t, filepath.Join(rulesDir, name), data)
	}
	have, _ := filepath.Glob(filepath.Join(rulesDir, "*.yml"))
	for _, p := range have {
		if _, ok := want[filepath.Base(p)]; !ok {
			t.Errorf("%s is no longer generated; run make chart", p)
		}
	}

	full, err := render(t, fullValues)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range decodeAll(t, full) {
		pr, ok := o.obj.(*prometheusRule)
		if !ok {
			continue
		}
		promtool(t, pr.Spec)
	}
}

func promtool(t *testing.T, spec prometheusRuleSpec) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is not installed (Debian prometheus)")
		}
		t.Log("SKIPPING promtool check rules: promtool is not installed (Debian prometheus)")
		return
	}
	data, err := yaml.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "prometheusrule.rules.yml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "check", "rules", "--lint-fatal", path).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules --lint-fatal: %v\n%s", err, out)
	}
	t.Logf("promtool: %s", bytes.TrimSpace(out))
}

type object struct {
	kind, name string
	obj        any
}

// decodeAll decodes each object of a render into its API type, refusing
// unknown fields. The Prometheus Operator's kinds decode into the fields
// of monitoring.coreos.com/v1 the chart uses (see promoperator.go).
func decodeAll(t *testing.T, render string) []object {
	t.Helper()
	var out []object
	for i, doc := range strings.Split(render, "\n---\n") {
		doc = strings.TrimPrefix(doc, "---\n")
		js, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		if string(js) == "null" {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(js, &head); err != nil {
			t.Fatal(err)
		}
		var obj any
		switch head.APIVersion + " " + head.Kind {
		case "v1 ServiceAccount":
			obj = &corev1.ServiceAccount{}
		case "v1 ConfigMap":
			obj = &corev1.ConfigMap{}
		case "v1 Service":
			obj = &corev1.Service{}
		case "v1 PersistentVolumeClaim":
			obj = &corev1.PersistentVolumeClaim{}
		case "apps/v1 Deployment":
			obj = &appsv1.Deployment{}
		case "policy/v1 PodDisruptionBudget":
			obj = &policyv1.PodDisruptionBudget{}
		case "networking.k8s.io/v1 NetworkPolicy":
			obj = &networkingv1.NetworkPolicy{}
		case "monitoring.coreos.com/v1 ServiceMonitor":
			obj = &serviceMonitor{}
		case "monitoring.coreos.com/v1 PrometheusRule":
			obj = &prometheusRule{}
		default:
			t.Fatalf("document %d: no API type for %s %s", i, head.APIVersion, head.Kind)
		}
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(obj); err != nil {
			t.Errorf("%s %s: %v", head.Kind, head.Metadata.Name, err)
			continue
		}
		out = append(out, object{kind: head.Kind, name: head.Metadata.Name, obj: obj})
	}
	return out
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s is missing; run make chart", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the chart's render (run make chart after a deliberate change); got:\n%s", path, firstDiff(string(want), string(got)))
	}
}

func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want %q\n  got  %q", i+1, wl, gl)
		}
	}
	return ""
}
