package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkLoad runs wrk (Debian package wrk: a C load generator, cheaper per
// request than the Go client) against url for d with conns connections on
// two threads, POSTing body with the bearer token.
func wrkLoad(ctx context.Context, bin, dir, name, url string, body []byte, conns int, d time.Duration) (rate, error) {
	script := filepath.Join(dir, "post.lua")
	lua := fmt.Sprintf("wrk.method = \"POST\"\nwrk.body = %s\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.headers[\"Authorization\"] = \"Bearer %s\"\n",
		luaString(string(body)), token)
	if err := os.WriteFile(script, []byte(lua), 0o600); err != nil {
		return rate{}, err
	}
	secs := max(int(d.Round(time.Second)/time.Second), 1)
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-t", "2", "-c", strconv.Itoa(conns), "-d", fmt.Sprintf("%ds", secs),
		"--latency", "-s", script, url).CombinedOutput()
	if err != nil {
		return rate{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	return parseWrk(name, string(out))
}

var (
	wrkRequests = regexp.MustCompile(`(\d+) requests in ([\d.]+)(us|ms|s|m)`)
	wrkPercent  = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkErrors   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads the totals and the 50th and 99th latency percentiles of
// wrk --latency's report.
func parseWrk(name, out string) (rate, error) {
	r := rate{name: name}
	m := wrkRequests.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("wrk report without a request count:\n%s", out)
	}
	r.requests, _ = strconv.Atoi(m[1])
	r.elapsed = duration(m[2], m[3])
	for _, p := range wrkPercent.FindAllStringSubmatch(out, -1) {
		if p[1] == "50" {
			r.p50 = duration(p[2], p[3])
		} else {
			r.p99 = duration(p[2], p[3])
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		n, _ := strconv.Atoi(m[1])
		r.failures += n
		r.firstError = "non-2xx answers"
	}
	if m := wrkErrors.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.failures += n
		}
		if r.firstError == "" && r.failures > 0 {
			r.firstError = strings.TrimSpace(m[0])
		}
	}
	r.requests -= r.failures
	return r, nil
}

func duration(v, unit string) time.Duration {
	f, _ := strconv.ParseFloat(v, 64)
	scale := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute}[unit]
	return time.Duration(f * float64(scale))
}

// luaString quotes s as a Lua string literal.
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range []byte(s) {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
