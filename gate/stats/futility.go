package stats

import "math"

// FutilityLevel is the conditional power below which a side counts as out
// of reach: with the difference estimated so far continuing, the test
// would cross that side's bound by the last look less often than this.
const FutilityLevel = 0.001

// Futility says whether the looks left before the last planned one can
// still reach a decision at the traffic seen so far.
type Futility struct {
	// Futile: neither go nor no_go is within reach by look Looks.
	Futile bool
	// Reason names why: "data" (the test cannot even start before the
	// last look) or "power" (it can, but neither bound is within reach).
	Reason string
	// PowerNoGo and PowerGo are the conditional powers of each side by
	// the last look (Reason "power" only).
	PowerNoGo, PowerGo float64
	// LooksLeft is the looks left after this one.
	LooksLeft int
}

// Futility judges a group-sequential result (Looks > 0) that is still
// waiting. Before a quarter of the looks (a sixth for NotEnoughData, and
// never before MinMinutes) nothing is judged futile: early estimates of
// the difference and of the traffic are too rough to project.
//
// NotEnoughData is futile when the minutes the test still needs
// (NeededMinutes, at the canary traffic so far) go past the last look.
// Undecided is futile when both sides' conditional power is below
// FutilityLevel: on the Brownian-motion scale B(τ) = Z·√τ, τ = look/Looks
// (information grows with the minutes at the traffic so far), with the
// drift estimated so far continuing, B(1) ~ N(Z/√τ, 1−τ), so the power of
// the no_go side is Φ̄((b_K − Z/√τ)/√(1−τ)) and of the go side
// Φ̄((b_K + Z/√τ)/√(1−τ)), b_K the last look's bound of that side (with
// the current skewness correction, and the go side's on the scale of Z). Crossing at an earlier look is not
// counted, so the power is slightly understated.
func (t Test) Futility(r Result) Futility {
	t = t.withDefaults()
	if t.Looks <= 0 || r.Looks <= 0 || r.Look >= t.Looks {
		return Futility{}
	}
	f := Futility{LooksLeft: t.Looks - r.Look}
	switch r.Outcome {
	case NotEnoughData:
		if r.Look < max(t.MinMinutes, t.Looks/6) || r.NeededMinutes <= 0 {
			return f
		}
		if r.NeededMinutes > f.LooksLeft {
			f.Futile, f.Reason = true, "data"
		}
		return f
	case Undecided:
		if r.Look < max(t.MinMinutes, t.Looks/4) || !(r.V > 0) {
			return f
		}
		tau := float64(r.Look) / float64(t.Looks)
		bK := boundaries.get(t.Looks, t.Alpha, t.Spending, 0)[t.Looks-1]
		noGo := bK + math.Max(0, r.Gamma)*(bK*bK-1)/6
		goOn := t.goSkew(t.goBound(t.Looks), r.Gamma)
		if r.VGo > 0 {
			goOn *= math.Sqrt(r.VGo / r.V)
		}
		drift := r.Z / math.Sqrt(tau)
		sd := math.Sqrt(1 - tau)
		f.PowerNoGo = normSF((noGo - drift) / sd)
		f.PowerGo = normSF((goOn + drift) / sd)
		if !finite(f.PowerNoGo, f.PowerGo) {
			return Futility{LooksLeft: f.LooksLeft}
		}
		if f.PowerNoGo < FutilityLevel && f.PowerGo < FutilityLevel {
			f.Futile, f.Reason = true, "power"
		}
	}
	return f
}
