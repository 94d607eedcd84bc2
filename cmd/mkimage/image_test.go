package main

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	testVersion  = "1.2.3-test"
	testRevision = "0123456789abcdef0123456789abcdef01234567"
)

// buildPatchgate builds the binary as make image does.
func buildPatchgate(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the image holds a Linux binary")
	}
	bin := filepath.Join(t.TempDir(), "patchgate")
	cmd := exec.Command("go", "build", "-trimpath",
		"-ldflags", "-s -w -X main.version="+testVersion+" -X main.revision="+testRevision,
		"-o", bin, "github.com/patchgate/patchgate/cmd/patchgate")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestImage builds the image archive and reads it back as docker load and
// an OCI runtime would: the user, the entrypoint, the labels, the files
// and the binary's bytes.
func TestImage(t *testing.T) {
	bin := buildPatchgate(t)
	want, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(t.TempDir(), "ca.crt")
	const pem = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"
	if err := os.WriteFile(certs, []byte(pem), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "patchgate-image.tar")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"--binary", bin, "--out", out, "--version", testVersion,
		"--revision", testRevision, "--ca-certs", certs}, &stdout, &stderr); err != nil {
		t.Fatalf("mkimage: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "ghcr.io/patchgate/patchgate:"+testVersion) {
		t.Errorf("output does not name the tag:\n%s", stdout.String())
	}

	// Read as docker load does: manifest.json.
	tag, err := name.NewTag("ghcr.io/patchgate/patchgate:" + testVersion)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatalf("read the archive as docker load does: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{"/usr/bin/patchgate", "serve"}) ||
		!slices.Equal(c.Cmd, []string{"--config", "/etc/patchgate/patchgate.yaml"}) {
		t.Errorf("entrypoint %q cmd %q, want patchgate serve --config /etc/patchgate/patchgate.yaml", c.Entrypoint, c.Cmd)
	}
	for k, v := range map[string]string{
		"org.opencontainers.image.version":  testVersion,
		"org.opencontainers.image.revision": testRevision,
		"org.opencontainers.image.source":   "https://github.com/patchgate/patchgate",
	} {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok || cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("ports %v, platform %s/%s", c.ExposedPorts, cf.OS, cf.Architecture)
	}

	files := extract(t, img)
	if got := files["usr/bin/patchgate"]; !bytes.Equal(got.data, want) || got.mode != 0o755 {
		t.Errorf("usr/bin/patchgate: %d bytes mode %o, want the %d bytes built, mode 755", len(got.data), got.mode, len(want))
	}
	if got := files["etc/ssl/certs/ca-certificates.crt"]; string(got.data) != pem {
		t.Errorf("CA certificates: %q", got.data)
	}
	if !strings.Contains(string(files["etc/passwd"].data), "nonroot:x:65532:65532:") {
		t.Errorf("etc/passwd has no user 65532:\n%s", files["etc/passwd"].data)
	}
	for _, dir := range []string{"var/lib/patchgate", "home/nonroot"} {
		if f, ok := files[dir]; !ok || f.uid != 65532 {
			t.Errorf("%s: present %v, owner %d, want 65532", dir, ok, f.uid)
		}
	}
	if _, ok := files["etc/patchgate"]; !ok {
		t.Error("no /etc/patchgate")
	}

	// Read as an OCI layout (podman load, skopeo oci-archive:): the same
	// image, OCI media types, the tag in the index.
	dir := untar(t, out)
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("read the archive as an OCI layout: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != testVersion {
		t.Fatalf("index: %+v", im.Manifests)
	}
	oci, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := oci.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON || m.Layers[0].MediaType != types.OCILayer {
		t.Errorf("media types %s, %s, %s: want OCI", m.MediaType, m.Config.MediaType, m.Layers[0].MediaType)
	}
	dockerCfg, _ := img.ConfigName()
	ociCfg, _ := oci.ConfigName()
	if dockerCfg != ociCfg {
		t.Errorf("docker manifest.json and OCI index name different configs: %s, %s", dockerCfg, ociCfg)
	}

	// The binary in the image says what it is.
	run := filepath.Join(t.TempDir(), "patchgate")
	if err := os.WriteFile(run, files["usr/bin/patchgate"].data, 0o755); err != nil {
		t.Fatal(err)
	}
	v, err := exec.Command(run, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(v), "patchgate "+testVersion+" (revision "+testRevision+")\n"; got != want {
		t.Errorf("--version: %q, want %q", got, want)
	}
}

// The same inputs give the same digest: the image can be rebuilt and checked.
func TestImageReproducible(t *testing.T) {
	c := Config{Binary: []byte("\x7fELF not really"), CACerts: []byte("certs"), Version: "1", Revision: "r", Arch: "amd64"}
	a, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Errorf("digests differ: %s, %s", da, db)
	}
}

func TestMkimageRefuses(t *testing.T) {
	dir := t.TempDir()
	notELF := filepath.Join(dir, "script")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{nil, "missing --binary"},
		{[]string{"--binary", notELF}, "not a Linux binary"},
		{[]string{"--binary", "/bin/sh"}, "is dynamically linked; build it with CGO_ENABLED=0"},
	}
	for _, tt := range tests {
		err := run(context.Background(), append(tt.args, "--out", filepath.Join(dir, "x.tar")), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.args, err, tt.want)
		}
	}
}

type entry struct {
	data []byte
	mode int64
	uid  int
}

// extract reads the image's flattened file system.
func extract(t *testing.T, img v1.Image) map[string]entry {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]entry{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(h.Name, "/")] = entry{data: data, mode: h.Mode, uid: h.Uid}
	}
}

func untar(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The Dockerfile gives the layout mkimage builds: same user, entrypoint,
// command, paths and labels.
func TestDockerfileSameLayout(t *testing.T) {
	data, err := os.ReadFile("../../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	want := []string{
		"FROM gcr.io/distroless/static-debian12:nonroot",
		"CGO_ENABLED=0",
		"USER 65532:65532",
		"WORKDIR " + DataDir,
		"EXPOSE 8080",
		`ENTRYPOINT ["` + BinaryPath + `", "serve"]`,
		`CMD ["--config", "` + ConfigPath + `"]`,
		"/out" + BinaryPath,
		"--chown=65532:65532 /out" + DataDir + " " + DataDir,
	}
	c := Config{Version: "${VERSION}", Revision: "${REVISION}", Source: "https://github.com/patchgate/patchgate"}
	for k, v := range c.Labels() {
		want = append(want, k+`="`+v+`"`)
	}
	for _, w := range want {
		if !strings.Contains(df, w) {
			t.Errorf("deploy/Dockerfile lacks %s", w)
		}
	}
}
