package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/slo"
)

func init() { generators["rules"] = runGenerateRules }

// labelFlags collects repeated --label k=v flags.
type labelFlags map[string]string

func (l labelFlags) String() string { return fmt.Sprint(map[string]string(l)) }

func (l labelFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want name=value, got %q", v)
	}
	l[k] = val
	return nil
}

// ruleFlags are the flags of the commands that write Prometheus rules.
type ruleFlags struct {
	path, out, format, namespace *string
	labels                       labelFlags
}

func newRuleFlags(fs *flag.FlagSet, files, objects string) *ruleFlags {
	rf := &ruleFlags{labels: labelFlags{}}
	rf.path = fs.String("config", "patchgate.yaml", "configuration file")
	rf.out = fs.String("out", "", "folder to write into (created if missing)")
	rf.format = fs.String("format", string(slo.FormatPrometheus), "prometheus ("+files+") or prometheus-operator ("+objects+")")
	rf.namespace = fs.String("namespace", "", "namespace of the "+objects+" (prometheus-operator)")
	fs.Var(rf.labels, "label", "label of the "+objects+", name=value, e.g. the operator's ruleSelector (repeatable)")
	return rf
}

// load parses args, checks the flags go together and loads the config.
// The rules need no secrets: tokens and DSNs stay unresolved.
func (rf *ruleFlags) load(fs *flag.FlagSet, args []string) (*config.Config, error) {
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if *rf.out == "" {
		return nil, errors.New("missing --out")
	}
	if !slices.Contains(slo.Formats(), slo.Format(*rf.format)) {
		return nil, fmt.Errorf("--format must be prometheus or prometheus-operator, got %q", *rf.format)
	}
	if (*rf.namespace != "" || len(rf.labels) > 0) && slo.Format(*rf.format) != slo.FormatPrometheusOperator {
		return nil, errors.New("--namespace and --label apply to --format prometheus-operator only")
	}
	return config.LoadWithoutSecrets(*rf.path)
}

func runGenerateRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("generate rules", stderr)
	rf := newRuleFlags(fs, "rules files", "PrometheusRule objects")
	cfg, err := rf.load(fs, args)
	if err != nil {
		return err
	}
	out, format, namespace, labels := rf.out, rf.format, rf.namespace, rf.labels
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	var files, slos, recording, alerting int
	gen := slo.NewGenerator(slo.GeneratorConfig{})
	err = gen.Files(ctx, cfg, slo.FilesConfig{Format: slo.Format(*format), Namespace: *namespace, Labels: labels}, func(f slo.File) error {
		p := filepath.Join(*out, f.Name)
		if err := writeFileAtomic(p, f.Data); err != nil {
			return err
		}
		files++
		slos += len(f.SLOs)
		recording += f.Recording
		alerting += f.Alerting
		fmt.Fprintf(stdout, "wrote %s: %s\n", p, f.Describe())
		return nil
	})
	if err != nil {
		return err
	}
	load := "list them under rule_files in prometheus.yml"
	if slo.Format(*format) == slo.FormatPrometheusOperator {
		load = "kubectl apply -f " + *out
	}
	fmt.Fprintf(stdout, "%d file(s) for %d service(s): %d SLO(s), %d recording rule(s), %d alert(s), generated with Sloth %s; to load them, %s.\n",
		files, len(cfg.Services), slos, recording, alerting, slothVersion(), load)
	if deployed := deployedServices(cfg); len(deployed) > 0 {
		fmt.Fprintf(stdout, "sloth_rules_deployed is on for %s: the burn_rate check reads these recording rules, so load them before serving.\n", strings.Join(deployed, ", "))
	}
	return nil
}

func deployedServices(cfg *config.Config) []string {
	var out []string
	for _, s := range cfg.Services {
		if s.SLO.SlothRulesDeployed {
			out = append(out, s.Name)
		}
	}
	return out
}

// writeFileAtomic writes through a temporary file, so that Prometheus
// reloading the folder never reads half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
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
	return os.Rename(tmp.Name(), path)
}

// slothVersion is the version of Sloth's library built in.
func slothVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/slok/sloth" {
				return d.Version
			}
		}
	}
	return "(unknown version)"
}
