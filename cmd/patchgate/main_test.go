package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	_ "modernc.org/sqlite"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
	"github.com/patchgate/patchgate/server"
)

func runCmd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String() + errOut.String()
}

// verdicts answers each service with the verdict of the same name.
type verdicts struct{}

func (verdicts) Decide(_ context.Context, r gate.Request) (gate.Decision, error) {
	if r.Service == "boom" {
		return gate.Decision{}, &gate.NotFoundError{Field: "service", Value: r.Service}
	}
	d := gate.Decision{ID: "d-" + r.Service, Decision: gate.Verdict(r.Service), Reason: "because " + r.Service,
		Service: r.Service, PatchID: r.PatchID, Stage: r.Stage, EvaluatedAt: time.Now()}
	if d.Decision == gate.Wait {
		d.RetryAfterSeconds = 1
	}
	return d, nil
}

type noDecisions struct{}

func (noDecisions) GetDecision(context.Context, string) (store.Decision, error) {
	return store.Decision{}, store.ErrNotFound
}

func (noDecisions) ListDecisions(context.Context, store.Filter) ([]store.Decision, error) {
	return nil, nil
}

func TestCheckExitCodes(t *testing.T) {
	const token = "0123456789abcdef0123"
	srv, err := server.New(server.Config{
		Gate: verdicts{}, Decisions: noDecisions{}, Registry: prometheus.NewRegistry(),
		Tokens: []config.Token{{Name: "ci", Value: token, Scopes: []string{config.ScopeGate}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	cases := []struct {
		service string
		token   string
		extra   []string
		code    int
		out     string
	}{
		{"go", token, nil, 0, "go: because go"},
		{"no_go", token, nil, 1, "no_go: because no_go"},
		{"wait", token, nil, 75, "wait: because wait"},
		{"wait", token, []string{"--wait", "1500ms"}, 75, "still wait after 1.5s"},
		{"boom", token, nil, 2, "unknown service"},
		{"go", "wrong-token-wrong-token", nil, 2, "401"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(append([]string{tc.service}, tc.extra...), " "), func(t *testing.T) {
			args := append([]string{"check", "--server", ts.URL, "--token", tc.token, "--service", tc.service, "--patch", "p-1", "--stage", "canary"}, tc.extra...)
			code, out := runCmd(t, args...)
			if code != tc.code || !strings.Contains(out, tc.out) {
				t.Fatalf("exit %d, output %q; want exit %d and %q", code, out, tc.code, tc.out)
			}
		})
	}
	if code, out := runCmd(t, "check", "--server", ts.URL); code != 2 || !strings.Contains(out, "missing --patch, --service, --stage") {
		t.Fatalf("missing flags: exit %d, %q", code, out)
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("source:\n  type: prometheus\nservices: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := runCmd(t, "config", "validate", bad)
	if code != 1 || !strings.Contains(out, "bad.yaml:1:1: source.url: required") || !strings.Contains(out, "problem(s)") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
	t.Setenv("PATCHGATE_TOKEN_ARGO", "argo-token-0123456789")
	t.Setenv("PATCHGATE_TOKEN_CI", "ci-token-0123456789ab")
	t.Setenv("PATCHGATE_TOKEN_ADMIN", "admin-token-0123456789")
	code, out = runCmd(t, "config", "validate", "../../testdata/patchgate.yaml")
	if code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("example config: exit %d, output:\n%s", code, out)
	}
}

func TestServeRefusesWithoutTokens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yaml")
	cfg := `
source: {type: prometheus, url: "http://127.0.0.1:1"}
store: {dsn: "` + filepath.Join(t.TempDir(), "s.db") + `"}
services:
  - name: web
    sli:
      errors: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total[{{.window}}]))
    slo: {objective: 99}
    checks: {burn_rate: {}}
    stages: [{name: canary}]
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := runCmd(t, "serve", "--config", path)
	if code != 2 || !strings.Contains(out, "defines no tokens") || !strings.Contains(out, "--insecure-no-auth") {
		t.Fatalf("exit %d, output %q", code, out)
	}
}

// auditLog writes n decisions into a new SQLite store and returns its path.
func auditLog(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.db")
	st, err := store.Open(context.Background(), "sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range n {
		_, err := st.AppendDecision(context.Background(), store.Decision{ID: fmt.Sprintf("d-%d", i), Service: "checkout", PatchID: "p",
			Stage: "canary", Attempt: "1", Verdict: "no_go", EvaluatedAt: time.Now(), Body: []byte(`{"decision":"no_go"}`)})
		if err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestAuditVerifyFindsTampering(t *testing.T) {
	ctx := context.Background()
	path := auditLog(t, 5)
	code, out := runCmd(t, "audit", "verify", "--sqlite", path)
	if code != 0 || !strings.Contains(out, "audit log OK: 5 decision(s)") {
		t.Fatalf("intact log: exit %d, %q", code, out)
	}
	// Someone with write access to the file turns the third no_go into a go.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TRIGGER decisions_no_update", "UPDATE decisions SET verdict = 'go' WHERE seq = 3"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	code, out = runCmd(t, "audit", "verify", "--sqlite", path)
	if code != 1 || !strings.Contains(out, "first bad row is decision 3") {
		t.Fatalf("tampered log: exit %d, %q", code, out)
	}
}

// Events, overrides and freezes are chained too: an edit to any is named,
// and with a key a rehashed chain is caught.
func TestAuditVerifyNamesEditedEventsAndControls(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "audit.key")
	if err := os.WriteFile(keyFile, []byte(strings.Repeat("s", 40)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "audit.db")
	st, err := store.Open(ctx, "sqlite", path, store.WithAuditKey([]byte(strings.Repeat("s", 40))))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.AppendEvent(ctx, store.Event{PatchID: "p", Type: "deployed", Time: time.Now(), Service: "checkout", IdempotencyKey: "k"}); err != nil {
		t.Fatal(err)
	}
	o, err := st.CreateOverride(ctx, store.Override{Service: "checkout", Verdict: "go", Reason: "hotfix", Actor: "sre", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	code, out := runCmd(t, "audit", "verify", "--sqlite", path, "--audit-key-file", keyFile)
	if code != 0 || !strings.Contains(out, "audit chain OK: 3 entries over 0 decision(s), 1 event(s), 1 override(s), 0 freeze(s)") ||
		!strings.Contains(out, "every entry verified under the audit key") {
		t.Fatalf("intact: exit %d, %q", code, out)
	}
	code, out = runCmd(t, "audit", "verify", "--sqlite", path)
	if code != 0 || !strings.Contains(out, "3 entries NOT checked against forgery") {
		t.Fatalf("without the key: exit %d, %q", code, out)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "UPDATE overrides SET reason = 'approved' WHERE id = ?", o.ID); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out = runCmd(t, "audit", "verify", "--sqlite", path, "--audit-key-file", keyFile)
	if code != 1 || !strings.Contains(out, "first bad row is override 1 (id "+o.ID+")") || !strings.Contains(out, "changed since it was written") {
		t.Fatalf("edited override: exit %d, %q", code, out)
	}
}

func TestAuditVerifyFindsRowsRemovedFromTheEnd(t *testing.T) {
	ctx := context.Background()
	path := auditLog(t, 4)
	code, out := runCmd(t, "audit", "verify", "--sqlite", path)
	_, after, ok := strings.Cut(out, "head: ")
	if code != 0 || !ok {
		t.Fatalf("intact log: exit %d, %q", code, out)
	}
	head := strings.Fields(after)[0]
	if code, out := runCmd(t, "audit", "verify", "--sqlite", path, "--head", head); code != 0 || !strings.Contains(out, "is row 4 of 4") {
		t.Fatalf("same log with its head: exit %d, %q", code, out)
	}
	// Someone removes the newest decision: the audit chain still names it.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TRIGGER decisions_no_delete", "DELETE FROM decisions WHERE seq = 4"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if code, out := runCmd(t, "audit", "verify", "--sqlite", path); code != 1 || !strings.Contains(out, "first bad row is decision (id d-3): the row is gone") {
		t.Fatalf("truncated log: exit %d, %q", code, out)
	}
	// And its chain entry too: what is left is intact.
	if _, err := db.ExecContext(ctx, "DELETE FROM audit_chain WHERE seq = (SELECT max(seq) FROM audit_chain)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if code, out := runCmd(t, "audit", "verify", "--sqlite", path); code != 0 {
		t.Fatalf("truncated log and chain without a head: exit %d, %q (the chain left is intact)", code, out)
	}
	code, out = runCmd(t, "audit", "verify", "--sqlite", path, "--head", head)
	if code != 1 || !strings.Contains(out, "rows were removed from the end") {
		t.Fatalf("truncated log with the earlier head: exit %d, %q", code, out)
	}
}

// audit verify reads: a mistyped path is an error and no file appears; a
// log the user may only read is verified as it is.
func TestAuditVerifyNeverCreatesOrWrites(t *testing.T) {
	typo := filepath.Join(t.TempDir(), "typo.db")
	code, out := runCmd(t, "audit", "verify", "--sqlite", typo)
	if code != 2 || !strings.Contains(out, typo) || !strings.Contains(out, "does not exist") {
		t.Fatalf("missing file: exit %d, %q", code, out)
	}
	if _, err := os.Stat(typo); !os.IsNotExist(err) {
		t.Fatalf("audit verify created %s (stat: %v)", typo, err)
	}

	// A read-only copy in a read-only folder, as a backup is kept.
	src := auditLog(t, 3)
	dir := t.TempDir()
	dst := filepath.Join(dir, "copy.db")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	code, out = runCmd(t, "audit", "verify", "--sqlite", dst)
	if code != 0 || !strings.Contains(out, "audit log OK: 3 decision(s)") {
		t.Fatalf("read-only copy: exit %d, %q", code, out)
	}
	after, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, after) {
		t.Fatal("audit verify changed the file")
	}

	// A file that is not a patchgate store is named as such, not "OK: 0".
	other := filepath.Join(t.TempDir(), "other.db")
	db, err := sql.Open("sqlite", other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out = runCmd(t, "audit", "verify", "--sqlite", other)
	if code != 2 || !strings.Contains(out, "no decisions table") {
		t.Fatalf("foreign database: exit %d, %q", code, out)
	}
}
