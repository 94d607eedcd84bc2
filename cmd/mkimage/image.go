package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's layout: what the Dockerfile builds on distroless static
// (nonroot) and what the Helm chart mounts.
const (
	BinaryPath  = "/usr/bin/patchgate"
	ConfigPath  = "/etc/patchgate/patchgate.yaml"
	DataDir     = "/var/lib/patchgate"
	CACertsPath = "/etc/ssl/certs/ca-certificates.crt"
	NonRoot     = 65532
)

// Config is what goes into one image.
type Config struct {
	Binary   []byte // the static patchgate binary
	CACerts  []byte // a PEM bundle of CA certificates
	Version  string
	Revision string
	Source   string // URL of the source repository
	Arch     string // GOARCH of Binary
	// Created stamps the image config and every file; the zero time is the
	// Unix epoch, so the same inputs give the same image digest.
	Created time.Time
}

func (c *Config) validate() error {
	switch {
	case len(c.Binary) == 0:
		return errors.New("invalid configuration: no binary")
	case len(c.CACerts) == 0:
		return errors.New("invalid configuration: no CA certificates")
	case c.Version == "" || c.Revision == "":
		return errors.New("invalid configuration: version and revision are required")
	case c.Arch == "":
		return errors.New("invalid configuration: no architecture")
	}
	return nil
}

// Labels are the OCI annotations the image config carries.
func (c *Config) Labels() map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "patchgate",
		"org.opencontainers.image.description": "SLO gatekeeper for patch rollouts",
		"org.opencontainers.image.version":     c.Version,
		"org.opencontainers.image.revision":    c.Revision,
		"org.opencontainers.image.source":      c.Source,
	}
}

// Build assembles the image: a base layer (users, CA certificates, the
// config and data folders) and a layer with the binary, run as 65532.
func Build(c Config) (v1.Image, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	mtime := c.Created
	if mtime.IsZero() {
		mtime = time.Unix(0, 0)
	}
	base, err := layer(mtime, []file{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n")},
		{name: "etc/nsswitch.conf", mode: 0o644, data: []byte("hosts: files dns\n")},
		{name: "etc/patchgate/", mode: 0o755, dir: true},
		{name: "etc/ssl/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/", mode: 0o755, dir: true},
		{name: CACertsPath[1:], mode: 0o644, data: c.CACerts},
		{name: "home/", mode: 0o755, dir: true},
		{name: "home/nonroot/", mode: 0o700, dir: true, owner: NonRoot},
		{name: "tmp/", mode: 0o1777, dir: true},
		{name: "var/", mode: 0o755, dir: true},
		{name: "var/lib/", mode: 0o755, dir: true},
		{name: DataDir[1:] + "/", mode: 0o750, dir: true, owner: NonRoot},
	})
	if err != nil {
		return nil, err
	}
	bin, err := layer(mtime, []file{
		{name: "usr/", mode: 0o755, dir: true},
		{name: "usr/bin/", mode: 0o755, dir: true},
		{name: BinaryPath[1:], mode: 0o755, data: c.Binary},
	})
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{Created: v1.Time{Time: mtime}, CreatedBy: "mkimage: users, CA certificates, " + path.Dir(ConfigPath) + ", " + DataDir, Comment: "distroless static nonroot layout"}},
		mutate.Addendum{Layer: bin, History: v1.History{Created: v1.Time{Time: mtime}, CreatedBy: "mkimage: " + BinaryPath}},
	)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture = c.Arch
	cf.OS = "linux"
	cf.Created = v1.Time{Time: mtime}
	cf.Author = "patchgate"
	cf.Config = v1.Config{
		User:         fmt.Sprintf("%d:%d", NonRoot, NonRoot),
		Entrypoint:   []string{BinaryPath, "serve"},
		Cmd:          []string{"--config", ConfigPath},
		WorkingDir:   DataDir,
		Env:          []string{"PATH=/usr/local/bin:/usr/bin:/bin", "SSL_CERT_FILE=" + CACertsPath},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Labels:       c.Labels(),
	}
	return mutate.ConfigFile(img, cf)
}

type file struct {
	name  string
	mode  int64
	dir   bool
	owner int
	data  []byte
}

func layer(mtime time.Time, files []file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, Uid: f.owner, Gid: f.owner, ModTime: mtime, Format: tar.FormatPAX}
		if f.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.BestCompression))
}

// WriteArchive writes img as one tar that is both an OCI image layout
// (oci-layout, index.json, blobs/) and a docker save archive (manifest.json
// naming the same blobs), the shape `docker save` writes since Docker 25:
// docker load, podman load, skopeo (oci-archive: or docker-archive:) and
// crane push read it.
func WriteArchive(w io.Writer, ref name.Tag, img v1.Image, mtime time.Time) error {
	if mtime.IsZero() {
		mtime = time.Unix(0, 0)
	}
	tw := tar.NewWriter(w)
	put := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: mtime, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	putBlob := func(h v1.Hash, data []byte) (string, error) {
		p := "blobs/" + h.Algorithm + "/" + h.Hex
		return p, put(p, data)
	}
	if err := put("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, ModTime: mtime, Typeflag: tar.TypeDir}); err != nil {
			return err
		}
	}
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return err
	}
	cfgPath, err := putBlob(cfgName, rawConfig)
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	var layerPaths []string
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		p, err := putBlob(d, data)
		if err != nil {
			return err
		}
		layerPaths = append(layerPaths, p)
	}
	rawManifest, err := img.RawManifest()
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	if _, err := putBlob(digest, rawManifest); err != nil {
		return err
	}
	index := v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType: types.OCIManifestSchema1,
			Size:      int64(len(rawManifest)),
			Digest:    digest,
			Annotations: map[string]string{
				"io.containerd.image.name":          ref.Name(),
				"org.opencontainers.image.ref.name": ref.TagStr(),
			},
		}},
	}
	indexJSON, err := json.Marshal(index)
	if err != nil {
		return err
	}
	if err := put("index.json", indexJSON); err != nil {
		return err
	}
	dockerJSON, err := json.Marshal(tarball.Manifest{{Config: cfgPath, RepoTags: []string{ref.Name()}, Layers: layerPaths}})
	if err != nil {
		return err
	}
	if err := put("manifest.json", dockerJSON); err != nil {
		return err
	}
	return tw.Close()
}

// WriteArchiveFile writes the archive through a temporary file.
func WriteArchiveFile(p string, ref name.Tag, img v1.Image, mtime time.Time) error {
	tmp, err := os.CreateTemp(path.Dir(p), ".patchgate-image-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := WriteArchive(tmp, ref, img, mtime); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}
