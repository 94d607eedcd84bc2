package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse panic and that every failure
// is a list of problems naming the file.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(configDir, "*.yml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range append(files, "../../testdata/patchgate.yaml") {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{"", "~", "hello", "- a", "{}", "source: ~", "services: [~]", "services: [{stages: [~]}]", "a: &a [*a]"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse("fuzz.yml", data)
		if err == nil {
			return
		}
		var ps Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Fatalf("error %T is not Problems: %v", err, err)
		}
		for _, p := range ps {
			if p.File != "fuzz.yml" || p.Message == "" {
				t.Fatalf("problem without file or message: %#v", p)
			}
		}
	})
}
