// Command mkimage packs a static patchgate binary into an OCI image archive
// without Docker (make image): user 65532, CA certificates, entrypoint
// "patchgate serve --config /etc/patchgate/patchgate.yaml", OCI labels.
package main

import (
	"context"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "mkimage: %v\n", err)
		os.Exit(2)
	}
}

func run(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	binary := fs.String("binary", "", "the static patchgate binary (CGO_ENABLED=0, GOOS=linux)")
	out := fs.String("out", "bin/patchgate-image.tar", "the image archive to write")
	repo := fs.String("repository", "ghcr.io/patchgate/patchgate", "image repository the archive is tagged with")
	version := fs.String("version", "dev", "image version: its tag and org.opencontainers.image.version")
	revision := fs.String("revision", "unknown", "source revision: org.opencontainers.image.revision")
	source := fs.String("source", "https://github.com/patchgate/patchgate", "org.opencontainers.image.source")
	caCerts := fs.String("ca-certs", "/etc/ssl/certs/ca-certificates.crt", "PEM bundle of CA certificates to ship")
	arch := fs.String("arch", runtime.GOARCH, "GOARCH the binary was built for")
	created := fs.String("created", "", "image creation time, RFC 3339 (default: the Unix epoch, for a reproducible digest)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument(s): %s", strings.Join(fs.Args(), " "))
	}
	if *binary == "" {
		return errors.New("missing --binary")
	}
	bin, err := os.ReadFile(*binary)
	if err != nil {
		return err
	}
	if err := checkStatic(*binary); err != nil {
		return err
	}
	certs, err := os.ReadFile(*caCerts)
	if err != nil {
		return fmt.Errorf("--ca-certs: %w", err)
	}
	var when time.Time
	if *created != "" {
		if when, err = time.Parse(time.RFC3339, *created); err != nil {
			return fmt.Errorf("--created: %w", err)
		}
	}
	ref, err := name.NewTag(*repo + ":" + tagOf(*version))
	if err != nil {
		return fmt.Errorf("--repository/--version: %w", err)
	}
	img, err := Build(Config{Binary: bin, CACerts: certs, Version: *version, Revision: *revision, Source: *source, Arch: *arch, Created: when})
	if err != nil {
		return err
	}
	if err := WriteArchiveFile(*out, ref, img, when); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %s (%s), linux/%s, user %d, entrypoint %s serve\n", *out, ref.Name(), digest, *arch, NonRoot, BinaryPath)
	fmt.Fprintf(stdout, "load it with: docker load -i %s (or podman load -i, skopeo copy oci-archive:%s docker://REGISTRY/patchgate:%s)\n", *out, *out, tagOf(*version))
	return nil
}

// tagOf turns a version into a valid image tag ("+" is not allowed).
func tagOf(version string) string {
	return strings.ReplaceAll(version, "+", "_")
}

// checkStatic refuses a dynamically linked binary: the image has no libc.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("--binary %s: not a Linux binary: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("--binary %s is dynamically linked; build it with CGO_ENABLED=0", path)
		}
	}
	return nil
}
