package stats

import "testing"

func TestFutility(t *testing.T) {
	steady := func(n int, m Minute) []Minute {
		ms := make([]Minute, n)
		for i := range ms {
			ms[i] = m
		}
		return ms
	}
	test := Test{Margin: 0.005, Looks: 60}
	cases := []struct {
		name    string
		minutes []Minute
		futile  bool
		reason  string
	}{
		// 5 canary requests a minute at 0.1%: five expected errors at the
		// margin take about 170 minutes.
		{"low traffic at minute 12 of 60", steady(12, Minute{5, 0, 50, 0}), true, "data"},
		{"low traffic, too early to judge", steady(5, Minute{5, 0, 50, 0}), false, ""},
		// Exactly at the margin two thirds of the way: neither bound is in
		// reach. (At half time the go side, which keeps 40% of its α for
		// the last looks, can still cross with about 0.4%.)
		{"at the margin at minute 40", steady(40, Minute{1000, 15, 4000, 40}), true, "power"},
		{"at the margin at minute 30", steady(30, Minute{1000, 15, 4000, 40}), false, ""},
		// Clearly within the margin but only just started: too early.
		{"at the margin at minute 10", steady(10, Minute{1000, 15, 4000, 40}), false, ""},
		// Heading for go: within reach.
		{"drifting towards go at minute 20", steady(20, Minute{100, 1, 400, 4}), false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := test.Evaluate(c.minutes, len(c.minutes))
			if r.Outcome == Regression || r.Outcome == NoRegression {
				t.Fatalf("the example decided (%v): it should be waiting", r.Outcome)
			}
			f := test.Futility(r)
			if f.Futile != c.futile || f.Reason != c.reason {
				t.Errorf("futile %v (%q), want %v (%q); %s, Z %.2f, needed minutes %d, power no_go %.4f go %.4f",
					f.Futile, f.Reason, c.futile, c.reason, r.Outcome, r.Z, r.NeededMinutes, f.PowerNoGo, f.PowerGo)
			}
		})
	}
	// Never for the confidence sequence, which has no last look.
	r := Test{Margin: 0.005}.Evaluate(steady(30, Minute{1000, 15, 4000, 40}), 30)
	if f := (Test{Margin: 0.005}).Futility(r); f.Futile {
		t.Errorf("open-ended test judged futile: %+v", f)
	}
}
