package gate

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// A service whose SLI queries write the window as {{ .window }} (with
// spaces, which config and Sloth accept) used to make every query fail,
// and min_traffic then crashed serve on its first ask.
func TestSpacedWindowPlaceholder(t *testing.T) {
	f := newFixture(t)
	f.write(t, arm{"canary", 100, 0.005, -5, 10, false}, arm{"baseline", 1900, 0.005, -5, 10, false})
	policy := strings.ReplaceAll(testPolicy, "{{.window}}", "{{ .window }}")
	if policy == testPolicy {
		t.Fatal("the test policy has no {{.window}} to rewrite")
	}
	e := f.engine(t, nil, t0.Add(10*time.Minute), policy)
	d, err := e.Decide(context.Background(), ask("canary"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Decision != Go {
		t.Fatalf("decision %s (%s), want go as with {{.window}}", d.Decision, d.Reason)
	}
	for _, c := range d.Checks {
		for _, q := range c.Queries {
			if strings.Contains(q, "window") {
				t.Errorf("%s sent %q with its placeholder unfilled", c.Name, q)
			}
		}
	}
}

// panicking is a metric source whose every query panics.
type panicking struct{}

func (panicking) Query(context.Context, string, time.Time) (model.Vector, error) {
	panic("the source exploded")
}

func (panicking) QueryRange(context.Context, string, time.Time, time.Time, time.Duration) (model.Matrix, error) {
	panic("the source exploded")
}

// A check that panics is that check's failure: the ask is answered, never go.
func TestPanickingCheckIsItsFailure(t *testing.T) {
	f := newFixture(t)
	e := f.engine(t, panicking{}, t0.Add(10*time.Minute), testPolicy)
	d, err := e.Decide(context.Background(), ask("canary"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Decision == Go {
		t.Fatalf("decision go from a source that panics: %s", d.Reason)
	}
	if !strings.Contains(d.Reason, "panic: the source exploded") {
		t.Errorf("reason %q does not name the panic", d.Reason)
	}
}

func TestRunCheckRecovers(t *testing.T) {
	l := &look{}
	r := runCheck(context.Background(), l, panicCheck{})
	if r.Verdict != Fail || r.Name != "boom" || !strings.Contains(r.Sentence, "panic: runtime error: index out of range") {
		t.Fatalf("result %+v, want boom failed naming the panic", r)
	}
}

type panicCheck struct{}

func (panicCheck) name() string { return "boom" }
func (panicCheck) run(context.Context, *look) CheckResult {
	var s []string
	_ = s[len(s)] // index out of range
	return CheckResult{}
}

// infinite answers every query with +Inf.
type infinite struct{}

func (infinite) Query(_ context.Context, _ string, ts time.Time) (model.Vector, error) {
	return model.Vector{{Value: model.SampleValue(math.Inf(1)), Timestamp: model.TimeFromUnixNano(ts.UnixNano())}}, nil
}

func (infinite) QueryRange(_ context.Context, _ string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	s := &model.SampleStream{Metric: model.Metric{}}
	for t := start; !t.After(end); t = t.Add(step) {
		s.Values = append(s.Values, model.SamplePair{Timestamp: model.TimeFromUnixNano(t.UnixNano()), Value: model.SampleValue(math.Inf(1))})
	}
	return model.Matrix{s}, nil
}

// A source answering +Inf used to fail the JSON encoding of the answer
// (HTTP 500): it is data the gate cannot use, never a go.
func TestInfiniteValuesAreNeverGo(t *testing.T) {
	f := newFixture(t)
	e := f.engine(t, infinite{}, t0.Add(10*time.Minute), testPolicy)
	d, err := e.Decide(context.Background(), ask("canary"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Decision == Go {
		t.Fatalf("go on infinite values: %s", d.Reason)
	}
	if _, err := json.Marshal(d); err != nil {
		t.Fatalf("the answer does not encode: %v", err)
	}
	if br := checkNamed(d, "burn_rate"); br.Verdict == Pass {
		t.Errorf("burn_rate passed on infinite values: %s", br.Sentence)
	}
}

// errorsDown fails the SLI's errors queries only.
type errorsDown struct{ Querier }

func (s errorsDown) QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	if strings.Contains(q, `code=~"5.."`) {
		return nil, errors.New("errors query timed out")
	}
	return s.Querier.QueryRange(ctx, q, start, end, step)
}

// When a query that min_traffic does not use fails, min_traffic still
// counts the canary's requests and names only its own query.
func TestMinTrafficNamesOnlyItsQuery(t *testing.T) {
	f := newFixture(t)
	f.write(t, arm{"canary", 100, 0.005, -5, 10, false}, arm{"baseline", 1900, 0.005, -5, 10, false})
	e := f.engine(t, errorsDown{f.src}, t0.Add(10*time.Minute), testPolicy)
	d, err := e.Decide(context.Background(), ask("canary"))
	if err != nil {
		t.Fatal(err)
	}
	mt := checkNamed(d, "min_traffic")
	if mt.Verdict != Pass || strings.Contains(mt.Sentence, "errors query") {
		t.Fatalf("min_traffic %s (%s), want a pass from the canary's requests alone", mt.Verdict, mt.Sentence)
	}
	if mt.Observed == nil || *mt.Observed < 59000 || *mt.Observed > 61000 {
		t.Errorf("min_traffic counted %v requests, want about 60,000 (100/s for 10 minutes)", mt.Observed)
	}
	if len(mt.Queries) != 1 || strings.Contains(mt.Queries[0], `code=~"5.."`) {
		t.Errorf("min_traffic names %q, want only the canary request query", mt.Queries)
	}
	if ed := checkNamed(d, "error_delta"); ed.Verdict != Inconclusive || !strings.Contains(ed.Sentence, "errors query timed out") {
		t.Errorf("error_delta %s (%s), want inconclusive naming the failed query", ed.Verdict, ed.Sentence)
	}
	if d.Decision == Go {
		t.Errorf("go with the errors query down: %s", d.Reason)
	}
}
