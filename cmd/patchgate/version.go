package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// Set at link time: go build -ldflags "-X main.version=v1.2.0 -X main.revision=$(git rev-parse HEAD)".
var (
	version  = "dev"
	revision = "unknown"
)

// buildRevision is the revision set at link time, else the one the Go
// toolchain stamped (vcs.revision, with "-dirty" for a modified tree).
func buildRevision() string {
	if revision != "unknown" && revision != "" {
		return revision
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "unknown"
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

func printVersion(w io.Writer) {
	fmt.Fprintf(w, "patchgate %s (revision %s)\n", version, buildRevision())
}
