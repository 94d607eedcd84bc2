package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/patchgate/patchgate/internal/scan"
	"github.com/patchgate/patchgate/server"
)

// runImport runs `patchgate import scan`.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 || args[0] != "scan" {
		return exitError, fmt.Errorf("usage: patchgate import scan --format trivy|grype --server URL --service S [--cluster C] FILE (one or more)")
	}
	fs := newFlags("import scan", stderr)
	format := fs.String("format", "", "report format: trivy (trivy image|fs|rootfs -f json) or grype (grype -o json)")
	url := fs.String("server", os.Getenv("PATCHGATE_URL"), "patchgate URL (env PATCHGATE_URL)")
	token := fs.String("token", "", "bearer token with the events scope (default: env PATCHGATE_TOKEN)")
	service := fs.String("service", "", "the service the scanned assets run (the reports together are one scan of it)")
	cluster := fs.String("cluster", "", "the cluster, when the scan covers one cluster's assets")
	timeout := fs.Duration("timeout", 2*time.Minute, "timeout of the import")
	if err := fs.Parse(args[1:]); err != nil {
		return exitError, err
	}
	files := fs.Args()
	var missing []string
	for _, f := range []struct{ name, v string }{{"--format", *format}, {"--server", *url}, {"--service", *service}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(files) == 0 {
		missing = append(missing, "FILE")
	}
	if len(missing) > 0 {
		return exitError, fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	if *token == "" {
		*token = os.Getenv("PATCHGATE_TOKEN")
	}
	in, bad := readScanFiles(*format, files, time.Now(), stderr)
	if len(in.Reports) == 0 {
		return exitError, fmt.Errorf("no report could be read (%d file(s) bad)", bad)
	}
	in.Format, in.Service, in.Cluster = *format, *service, *cluster
	c := &server.Client{URL: *url, Token: *token, HTTP: &http.Client{Timeout: *timeout}}
	a, err := c.ImportScan(ctx, in)
	if err != nil {
		return exitError, err
	}
	printScanAnswer(stdout, stderr, a)
	if bad > 0 || a.Unreadable() > 0 {
		return exitProblems, nil
	}
	return exitOK, nil
}

// readScanFiles reads and checks each file; a bad one is reported on
// stderr (file, JSON path, problem) and named in the input's Skipped, so
// the server records the others' findings but closes nothing.
func readScanFiles(format string, files []string, now time.Time, stderr io.Writer) (in server.ScanInput, bad int) {
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err == nil {
			_, err = scan.Decode(format, name, data, now)
		}
		if err != nil {
			fmt.Fprintf(stderr, "patchgate import scan: %v\n", err)
			in.Skipped = append(in.Skipped, name)
			bad++
			continue
		}
		in.Reports = append(in.Reports, server.ScanReport{Name: name, Report: data})
	}
	return in, bad
}

func printScanAnswer(stdout, stderr io.Writer, a server.ScanAnswer) {
	for _, r := range a.Reports {
		if r.Error != "" {
			fmt.Fprintf(stderr, "patchgate import scan: %s\n", r.Error)
			continue
		}
		fmt.Fprintf(stdout, "%s: %s, %d finding(s)\n", r.Name, r.Asset, r.Findings)
	}
	for _, e := range a.Events {
		switch {
		case e.Error != "":
			fmt.Fprintf(stderr, "patchgate import scan: %s\n", e.Error)
		case e.Type == "discovered":
			fmt.Fprintf(stdout, "  %-9s %-40s %-8s %s%s\n", e.Type, e.PatchID, orDash(e.Severity), e.CVEs, duplicateNote(e.Duplicate))
		default:
			fmt.Fprintf(stdout, "  %-9s %-40s no longer found%s\n", "gone", e.PatchID, duplicateNote(e.Duplicate))
		}
	}
	cluster := ""
	if a.Cluster != "" {
		cluster = " in " + a.Cluster
	}
	fmt.Fprintf(stdout, "%s%s: %d fix(es), %d finding(s) without a fix; %d event(s) added, %d already recorded\n",
		a.Service, cluster, a.Patches, a.Unfixed, a.Added, a.Unchanged)
	if a.NotClosed != "" {
		fmt.Fprintf(stderr, "patchgate import scan: %s\n", a.NotClosed)
	}
}

func duplicateNote(dup bool) string {
	if dup {
		return " (already recorded)"
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
