package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Integrations configures the rollout-tool endpoints that cannot name a
// service and stage in their own requests.
type Integrations struct {
	Flagger Flagger `yaml:"flagger" json:"flagger"`
}

// Flagger maps Flagger Canaries to services and stages. A webhook's
// metadata (keys service, patch_id, stage) may name them instead; where
// both do, they must agree.
type Flagger struct {
	Targets []FlaggerTarget `yaml:"targets" json:"targets,omitempty"`
}

// FlaggerTarget is one Canary (namespace/name, as in Flagger's webhook
// payload) and the service it rolls out.
type FlaggerTarget struct {
	// Namespace and Name identify the Canary; both required, the pair unique.
	Namespace string `yaml:"namespace" json:"namespace"`
	Name      string `yaml:"name" json:"name"`
	// Service is a configured service; required.
	Service string `yaml:"service" json:"service"`
	// Stage is the service stage every hook asks about unless StageByHook
	// names another; optional (the webhook metadata may name it).
	Stage string `yaml:"stage" json:"stage,omitempty"`
	// StageByHook names the stage per webhook type, e.g.
	// {confirm-promotion: 100pct}. Keys are Flagger webhook types.
	StageByHook map[string]string `yaml:"stage_by_hook" json:"stage_by_hook,omitempty"`
}

// FlaggerHooks returns the webhook types of Flagger (v1.36), in the order
// a canary meets them.
func FlaggerHooks() []string {
	return []string{
		"confirm-rollout", "pre-rollout", "rollout", "confirm-traffic-increase",
		"confirm-promotion", "post-rollout", "rollback", "event",
	}
}

// FlaggerTarget returns the target for the Canary namespace/name.
func (c *Config) FlaggerTarget(namespace, name string) (*FlaggerTarget, bool) {
	for i := range c.Integrations.Flagger.Targets {
		t := &c.Integrations.Flagger.Targets[i]
		if t.Namespace == namespace && t.Name == name {
			return t, true
		}
	}
	return nil, false
}

// StageFor returns the stage the target names for a webhook type ("" when
// it names none).
func (t *FlaggerTarget) StageFor(hook string) string {
	if s, ok := t.StageByHook[hook]; ok {
		return s
	}
	return t.Stage
}

func validateIntegrations(c *Config, p *collector) {
	seen := map[string]int{}
	hooks := FlaggerHooks()
	for i, t := range c.Integrations.Flagger.Targets {
		path := fmt.Sprintf("integrations.flagger.targets[%d]", i)
		if t.Namespace == "" {
			p.addf(path+".namespace", "required: the Canary's namespace")
		}
		if t.Name == "" {
			p.addf(path+".name", "required: the Canary's name")
		}
		if t.Namespace != "" && t.Name != "" {
			id := t.Namespace + "/" + t.Name
			if first, dup := seen[id]; dup {
				p.addf(path, "Canary %s is already mapped by integrations.flagger.targets[%d]", id, first)
			} else {
				seen[id] = i
			}
		}
		if t.Service == "" {
			p.addf(path+".service", "required: one of the configured services")
			continue
		}
		svc, ok := c.Service(t.Service)
		if !ok {
			p.addf(path+".service", "undefined service %q", t.Service)
			continue
		}
		checkStage := func(field, stage string) {
			if _, ok := svc.Stage(stage); !ok {
				p.addf(field, "service %q has no stage %q (stages: %s)", svc.Name, stage, stageNames(svc))
			}
		}
		if t.Stage != "" {
			checkStage(path+".stage", t.Stage)
		}
		for _, hook := range slices.Sorted(maps.Keys(t.StageByHook)) {
			field := path + ".stage_by_hook." + hook
			if !slices.Contains(hooks, hook) {
				p.addf(field, "unknown Flagger webhook type %q: must be one of %s", hook, strings.Join(hooks, ", "))
				continue
			}
			checkStage(field, t.StageByHook[hook])
		}
	}
}

func stageNames(s *Service) string {
	names := make([]string, len(s.Stages))
	for i, st := range s.Stages {
		names[i] = st.Name
	}
	return strings.Join(names, ", ")
}
