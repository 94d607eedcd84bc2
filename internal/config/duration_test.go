package config

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

func TestDurationUnmarshalYAML(t *testing.T) {
	cases := []struct {
		in      string
		want    Duration
		wantErr string
	}{
		{in: "d: 30s", want: Duration(30 * time.Second)},
		{in: "d: 5m", want: Duration(5 * time.Minute)},
		{in: "d: 1h30m", want: Duration(90 * time.Minute)},
		{in: "d: 7d", want: Duration(7 * 24 * time.Hour)},
		{in: "d: 1w", want: Duration(7 * 24 * time.Hour)},
		{in: `d: "250ms"`, want: Duration(250 * time.Millisecond)},
		{in: "d: 0", want: 0},
		{in: "d:", want: 0},
		{in: "d: 30", wantErr: `invalid duration "30"`},
		{in: "d: -5m", wantErr: `invalid duration "-5m"`},
		{in: "d: 5 minutes", wantErr: `invalid duration "5 minutes"`},
		{in: "d: [5m]", wantErr: "expected a duration such as 30s or 5m, got a list"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			var v struct {
				D Duration `yaml:"d"`
			}
			err := yaml.Unmarshal([]byte(c.in), &v)
			if c.wantErr != "" {
				var yerr yaml.Error
				switch {
				case err == nil:
					t.Fatalf("got %v, want error %q", v.D, c.wantErr)
				case !errors.As(err, &yerr) || yerr.GetToken().Position.Line != 1:
					t.Fatalf("error %v carries no line", err)
				case !strings.Contains(yerr.GetMessage(), c.wantErr):
					t.Fatalf("error %q, want %q", yerr.GetMessage(), c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.D != c.want {
				t.Errorf("got %v, want %v", v.D, c.want)
			}
		})
	}
}

func TestDurationMarshal(t *testing.T) {
	cases := []struct {
		d    Duration
		want string
	}{
		{0, "0s"},
		{Duration(30 * time.Second), "30s"},
		{Duration(90 * time.Minute), "1h30m"},
		{Duration(30 * 24 * time.Hour), "30d"},
		{Duration(7 * 24 * time.Hour), "1w"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			if got := c.d.String(); got != c.want {
				t.Errorf("String: got %q, want %q", got, c.want)
			}
			y, err := yaml.Marshal(map[string]Duration{"d": c.d})
			if err != nil {
				t.Fatal(err)
			}
			if want := "d: " + c.want + "\n"; string(y) != want {
				t.Errorf("MarshalYAML: got %q, want %q", y, want)
			}
			j, err := json.Marshal(c.d)
			if err != nil {
				t.Fatal(err)
			}
			if want := `"` + c.want + `"`; string(j) != want {
				t.Errorf("MarshalJSON: got %s, want %s", j, want)
			}
			var back Duration
			if err := json.Unmarshal(j, &back); err != nil || back != c.d {
				t.Errorf("UnmarshalJSON: got %v, %v; want %v", back, err, c.d)
			}
		})
	}
}
