package sim

import (
	"context"
	"fmt"
	"time"
)

// Plan is one patch rolled out to one service, stage by stage.
type Plan struct {
	Service string
	Patch   string
	// ErrorRate is the error ratio of hosts on the patch.
	ErrorRate float64
	// LatencyP99, when set, is the 99th percentile request duration of
	// hosts on the patch, in seconds (the service needs a Latency).
	LatencyP99 float64
	Stages     []Stage
}

// Stage is one step of a plan: the share of hosts on the patch.
type Stage struct {
	Name  string
	Share float64
}

// Answer is what the gate said.
type Answer struct {
	Verdict string
	Reason  string
	ID      string
}

// Asker asks the gate whether a stage that started at startedAt may be
// promoted.
type Asker func(ctx context.Context, service, patch, stage string, startedAt time.Time) (Answer, error)

// Event is one step of a rollout as the demo prints it.
type Event struct {
	Time    time.Time
	Service string
	Patch   string
	Stage   string
	Answer  Answer
	// Action is what the rollout did: "promoted to 25pct", "finished",
	// "rolled back", "waiting".
	Action string
}

// Rollouts drives plans against a fleet the way a rollout tool does: it
// asks the gate once a minute, promotes on go, rolls back on no_go.
type Rollouts struct {
	plans []*planState
}

type planState struct {
	Plan
	stage   int
	started time.Time
	done    bool
	outcome string
}

// NewRollouts starts every plan at its first stage.
func NewRollouts(ctx context.Context, f *Fleet, plans ...Plan) (*Rollouts, error) {
	r := &Rollouts{}
	for _, p := range plans {
		if len(p.Stages) == 0 {
			return nil, fmt.Errorf("plan %s/%s has no stages", p.Service, p.Patch)
		}
		if p.LatencyP99 > 0 {
			f.SetPatchLatency(p.Patch, p.LatencyP99)
		}
		if err := f.SetRollout(p.Service, p.Patch, p.Stages[0].Share, p.ErrorRate); err != nil {
			return nil, err
		}
		r.plans = append(r.plans, &planState{Plan: p, started: f.Now()})
	}
	return r, nil
}

// Done reports whether every plan has finished or rolled back.
func (r *Rollouts) Done() bool {
	for _, p := range r.plans {
		if !p.done {
			return false
		}
	}
	return true
}

// Outcomes returns each plan's state: "rolling out: <stage>", "finished"
// or "rolled back at <stage>", keyed by service.
func (r *Rollouts) Outcomes() map[string]string {
	out := map[string]string{}
	for _, p := range r.plans {
		if p.done {
			out[p.Service] = p.outcome
		} else {
			out[p.Service] = "at " + p.Stages[p.stage].Name
		}
	}
	return out
}

// Tick asks the gate about every running plan and acts on the answers.
func (r *Rollouts) Tick(ctx context.Context, f *Fleet, ask Asker) ([]Event, error) {
	var events []Event
	for _, p := range r.plans {
		if p.done {
			continue
		}
		st := p.Stages[p.stage]
		a, err := ask(ctx, p.Service, p.Patch, st.Name, p.started)
		if err != nil {
			return events, fmt.Errorf("ask %s %s %s: %w", p.Service, p.Patch, st.Name, err)
		}
		ev := Event{Time: f.Now(), Service: p.Service, Patch: p.Patch, Stage: st.Name, Answer: a, Action: "waiting"}
		switch a.Verdict {
		case "go":
			if p.stage == len(p.Stages)-1 {
				p.done, p.outcome, ev.Action = true, "finished", "finished"
				break
			}
			p.stage++
			p.started = f.Now()
			next := p.Stages[p.stage]
			if err := f.SetRollout(p.Service, p.Patch, next.Share, p.ErrorRate); err != nil {
				return events, err
			}
			ev.Action = "promoted to " + next.Name
		case "no_go":
			if err := f.Rollback(p.Service); err != nil {
				return events, err
			}
			p.done, p.outcome, ev.Action = true, "rolled back at "+st.Name, "rolled back"
		}
		events = append(events, ev)
	}
	return events, nil
}
