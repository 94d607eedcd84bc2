// Package testenv finds the real servers tests run against. Outside CI a
// missing server skips the test loudly; under CI (CI=true) it fails it.
package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true or CI=1).
func InCI() bool {
	v, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && v
}

// Missing reports that a required server or setting is absent: a failure
// under CI, a loud skip elsewhere.
func Missing(t testing.TB, what, hint string) {
	t.Helper()
	msg := fmt.Sprintf("MISSING %s: %s", what, hint)
	if InCI() {
		t.Fatalf("%s (CI=true: a missing server is a failure, not a skip)", msg)
	}
	fmt.Fprintf(os.Stderr, "\n*** %s: skipping %s ***\n\n", msg, t.Name())
	t.Skip(msg)
}

// Binary returns the path of a server binary, or skips/fails as Missing does.
func Binary(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, fmt.Sprintf("install Debian package %q (apt-get install -y --no-install-recommends %s)", pkg, pkg))
	}
	return p
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
