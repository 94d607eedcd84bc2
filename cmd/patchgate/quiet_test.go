package main

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"testing"
)

// runMainEnv, set in the environment, makes the test binary run main
// with its arguments: the tests see the process as a user does, package
// initialisation included.
const runMainEnv = "PATCHGATE_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
	}
	os.Exit(m.Run())
}

// TestNoLibraryLogLines: no command (each exits 0 here) prints a library's
// log line, such as the "INFO: metrics: disable exposing PSI metrics" that
// github.com/VictoriaMetrics/metrics (under Sloth's library) logged while
// the process started, on hosts without PSI files (it stopped in v1.45.0).
// On a host with PSI files the old version printed nothing either.
func TestNoLibraryLogLines(t *testing.T) {
	logLine := regexp.MustCompile(`(?m)^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} |INFO: |PSI metrics`)
	for _, args := range [][]string{
		{"-h"},
		{"generate", "-h"},
		{"generate", "rules", "--config", "../../testdata/patchgate.yaml", "--out", t.TempDir()},
		{"generate", "alerts", "--config", "../../testdata/patchgate.yaml", "--out", t.TempDir()},
	} {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), runMainEnv+"=1")
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("%v: %v\n%s%s", args, err, stdout.String(), stderr.String())
		}
		if stdout.Len() == 0 {
			t.Errorf("%v: printed nothing; did main run?", args)
		}
		if m := logLine.Find(stderr.Bytes()); m != nil {
			t.Errorf("%v: stderr holds a log line (%q):\n%s", args, m, stderr.String())
		}
	}
}
