package gate

import (
	"context"
	"time"

	"github.com/prometheus/common/model"
)

// Verdict is the gate's answer.
type Verdict string

const (
	Go   Verdict = "go"
	NoGo Verdict = "no_go"
	Wait Verdict = "wait"
)

// CheckVerdict is one check's result.
type CheckVerdict string

const (
	Pass         CheckVerdict = "pass"
	Fail         CheckVerdict = "fail"
	Inconclusive CheckVerdict = "inconclusive"
)

// Request is one ask: may this patch go to the next stage?
type Request struct {
	Service string            `json:"service"`
	PatchID string            `json:"patch_id"`
	Stage   string            `json:"stage"`
	Params  map[string]string `json:"params,omitempty"`
}

// Decision is the gate's answer with everything an SRE needs to redo it.
type Decision struct {
	ID                string        `json:"decision_id"`
	Decision          Verdict       `json:"decision"`
	Reason            string        `json:"reason"`
	Checks            []CheckResult `json:"checks"`
	RetryAfterSeconds int           `json:"retry_after_seconds,omitempty"`
	Service           string        `json:"service"`
	PatchID           string        `json:"patch_id"`
	Stage             string        `json:"stage"`
	Attempt           string        `json:"attempt"`
	EvaluatedAt       time.Time     `json:"evaluated_at"`
	PolicyRevision    string        `json:"policy_revision"`
	Window            Window        `json:"window"`
	// Outcome is "timeout" when the verdict is the stage's on_timeout
	// answer after max_wait passed undecided, not a test's verdict.
	Outcome string `json:"outcome,omitempty"`
	// Override is set when an operator's override made the decision.
	Override *OverrideInfo `json:"override,omitempty"`
	// Mode is "enforce", or "shadow" when the stage runs in shadow mode:
	// Decision is then always go, and Shadow holds what the gate
	// evaluated.
	Mode   string  `json:"mode"`
	Shadow *Shadow `json:"shadow,omitempty"`
}

// Decision.Outcome of an answer that is the stage's on_timeout, not a
// test's verdict: at max_wait, or earlier because no decision was within
// reach (on_futility: answer).
const (
	OutcomeTimeout  = "timeout"
	OutcomeFutility = "futility"
)

// Modes of a decision.
const (
	ModeEnforce = "enforce"
	ModeShadow  = "shadow"
)

// Shadow is the verdict a stage in shadow mode evaluated, which the
// answer does not enforce.
type Shadow struct {
	Decision          Verdict `json:"decision"`
	Reason            string  `json:"reason"`
	RetryAfterSeconds int     `json:"retry_after_seconds,omitempty"`
}

// Evaluated is the verdict the gate evaluated: the shadow verdict in
// shadow mode, else the answer.
func (d Decision) Evaluated() Verdict {
	if d.Shadow != nil {
		return d.Shadow.Decision
	}
	return d.Decision
}

// Window is the stage attempt's evaluation window.
type Window struct {
	Start time.Time `json:"start"`
	// StartSource says where Start came from: "request" (params.stage_started_at),
	// "event" (a stage_started event) or "first_ask".
	StartSource string    `json:"start_source"`
	End         time.Time `json:"end"`
	// Look is the number of completed minutes evaluated (1-based); Looks is
	// the stage's planned number of looks (max_wait in minutes).
	Look  int `json:"look"`
	Looks int `json:"looks"`
}

// CheckResult is one check's verdict with the numbers behind it.
type CheckResult struct {
	Name    string       `json:"name"`
	Verdict CheckVerdict `json:"verdict"`
	// Observed and Threshold are nil when there was nothing to observe.
	Observed  *float64 `json:"observed"`
	Threshold *float64 `json:"threshold"`
	Unit      string   `json:"unit,omitempty"`
	// Queries are the PromQL the check ran, exactly as sent.
	Queries  []string `json:"queries"`
	Sentence string   `json:"sentence"`
	// Details holds the intermediate numbers (counts, statistic, bound, alpha).
	Details map[string]float64 `json:"details,omitempty"`
	// outcome is the sequential test's final verdict ("go" or "no_go")
	// when this result reached one; the engine stores it on the attempt.
	outcome string
	// missingData marks a result inconclusive for want of data or because
	// the source failed: it never turns into go, not even when the stage
	// times out under on_timeout: go.
	missingData bool
	// control marks the result of an operator control (window, freeze,
	// concurrency): evaluated on every ask, and a wait of its own is never
	// turned into the stage's on_timeout answer.
	control bool
	// state names what the control found in force (the open window, the
	// freeze, the place in line), for the look cache's key.
	state controlState
	// futile marks a wait whose decision is out of reach before max_wait
	// at the traffic seen so far (details.futile is 1 too).
	futile bool
	// retry is how long a control's wait lasts at least, in seconds.
	retry int
	// err is set when the gate itself failed to run the check (its store):
	// the ask then fails instead of being answered.
	err error
}

// Querier is the metric source as the gate uses it. Implementations live in
// internal/metricsource (HTTP API and embedded engine).
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time) (model.Vector, error)
	QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (model.Matrix, error)
}
