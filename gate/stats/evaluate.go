package stats

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Defaults used when a Test field is zero.
const (
	DefaultAlpha             = 0.05
	DefaultRho               = 3.736
	DefaultMinMinutes        = 3
	DefaultMinExpectedErrors = 5
)

// Test configures the two-sample minute-stratified test of
// H0: p_c − p_b ≥ δ (no_go side) and H0: p_c − p_b ≤ δ (go side).
type Test struct {
	Margin float64 // δ as a fraction (0.005 = 0.5 percentage points)
	Alpha  float64 // each one-sided rule's level (default 0.05 when 0)
	// Looks is K, the stage's planned looks (one per completed minute);
	// 0 = open-ended → Robbins normal-mixture confidence sequence.
	Looks int
	// Rho is the mixture parameter of the confidence sequence (default 3.736).
	Rho               float64
	MinMinutes        int     // default 3
	MinExpectedErrors float64 // default 5
	// Variance is the variance model of S (default VarianceQuasi).
	Variance Variance
	// Prior is the dispersion of the minutes before the stage (see
	// HistoryDispersion), pooled with the stage's own estimate of φ by
	// the quasi-binomial variance models; zero means none.
	Prior Prior
	// Spending is the α-spending function of the group-sequential test
	// (default SpendPocock).
	Spending Spending
	// GoSpending, when set, is the spending function of the go side alone
	// (each side is its own one-sided test at level α), spent from the
	// first look. Unset, the go side spends by SpendPocockLate from look
	// MinMinutes on (the looks before it can never decide).
	GoSpending *Spending
	// ConservativeGoSkew (an ablation: the test before the go side was
	// reworked) never lowers the go bound for the statistic's skewness.
	ConservativeGoSkew bool
}

// Variance selects how the variance of S allows for errors that scatter
// more than binomially from minute to minute.
type Variance int

const (
	// VarianceQuasi (the default): V = VBin·max(1, f·φ̂), φ̂ the Pearson
	// dispersion pooled over both arms, each around its own rate
	// (2(k−1) degrees of freedom), f its Student-t widening; when the
	// arms' errors moved together beyond chance (a shared incident, a
	// drift), φ̂ is the within-minute dispersion alone (k−1).
	VarianceQuasi Variance = iota
	// VarianceStudent: V = max(VBin, f·VEmp), f the Student-t widening of
	// the empirical variance of the minutes' contrasts (before issue 16).
	VarianceStudent
	// Ablations (cmd/benchquality): VarianceQuasiArms never switches to
	// the within-minute dispersion, VarianceQuasiWithin always uses it;
	// neither reads a Prior.
	VarianceQuasiArms
	VarianceQuasiWithin
	// VarianceBinomial: V = VBin, no allowance for overdispersion (an
	// ablation: what a perfect dispersion model could at best reach on
	// binomial errors).
	VarianceBinomial
)

func (t Test) withDefaults() Test {
	if t.Alpha == 0 {
		t.Alpha = DefaultAlpha
	}
	if t.Rho == 0 {
		t.Rho = DefaultRho
	}
	if t.MinMinutes == 0 {
		t.MinMinutes = DefaultMinMinutes
	}
	if t.MinExpectedErrors == 0 {
		t.MinExpectedErrors = DefaultMinExpectedErrors
	}
	return t
}

// Validate reports whether the test, with defaults filled in, can run.
// Evaluate answers Undecided for a test that does not validate.
func (t Test) Validate() error {
	t = t.withDefaults()
	var errs []error
	if !(t.Margin >= 0 && t.Margin < 1) {
		errs = append(errs, fmt.Errorf("margin %v not in [0, 1)", t.Margin))
	}
	if !(t.Alpha > 0 && t.Alpha < 0.5) {
		errs = append(errs, fmt.Errorf("alpha %v not in (0, 0.5)", t.Alpha))
	}
	if t.Looks < 0 || t.Looks > MaxLooks {
		errs = append(errs, fmt.Errorf("looks %d not in [0, %d]", t.Looks, MaxLooks))
	}
	if !(t.Rho > 0) || math.IsInf(t.Rho, 1) {
		errs = append(errs, fmt.Errorf("rho %v not positive and finite", t.Rho))
	}
	if t.MinMinutes < 0 {
		errs = append(errs, fmt.Errorf("min minutes %d negative", t.MinMinutes))
	}
	if !(t.MinExpectedErrors >= 0) || math.IsInf(t.MinExpectedErrors, 1) {
		errs = append(errs, fmt.Errorf("min expected errors %v not finite and non-negative", t.MinExpectedErrors))
	}
	return errors.Join(errs...)
}

// Evaluate runs the test at look `look` on the stage's completed minutes so
// far. look is the 1-based number of completed minutes (normally
// len(minutes); values below 1 mean len(minutes)) and is capped at Looks
// when Looks > 0. Minutes where either arm has no requests are skipped.
func (t Test) Evaluate(minutes []Minute, look int) Result {
	t = t.withDefaults()
	if look < 1 {
		look = max(len(minutes), 1)
	}
	if t.Looks > 0 {
		look = min(look, t.Looks)
	}
	r := Result{Outcome: Undecided, Look: look, Looks: t.Looks, Alpha: t.Alpha, Margin: t.Margin}
	if t.Looks == 0 {
		r.Rho = t.Rho
	}
	if t.Validate() != nil {
		r.sanitize()
		return r
	}

	s := accumulate(minutes)
	r.Minutes, r.Skipped = s.minutes, s.skipped
	r.CanaryTotal, r.CanaryErrors = s.nc, s.xc
	r.BaselineTotal, r.BaselineErrors = s.nb, s.xb
	if s.nc > 0 {
		r.CanaryRate = s.xc / s.nc
	}
	if s.nb > 0 {
		r.BaselineRate = s.xb / s.nb
	}
	r.DHat, r.W = s.dhat, s.w
	r.S = s.z - t.Margin*s.w
	r.A, r.B, r.A2, r.B2 = s.a, s.b, s.a2, s.b2
	r.VEmp = s.vemp

	pc, pb, ok := ConstrainedMLE(s.xc, s.nc, s.xb, s.nb, t.Margin)
	if ok {
		r.PcTilde, r.PbTilde = pc, pb
		r.ExpectedCanaryErrors = s.nc * pc
		r.VBin = pc*(1-pc)*s.a + pb*(1-pb)*s.b
		if r.VBin > 0 {
			r.Gamma = (pc*(1-pc)*(1-2*pc)*s.a2 - pb*(1-pb)*(1-2*pb)*s.b2) / math.Pow(r.VBin, 1.5)
		}
	}
	// V = max(VBin, EmpFactor·VEmp): EmpFactor widens the empirical
	// variance for its few degrees of freedom, so that S/√V crosses the
	// look's bound (z on the normal scale) no more often than a normal
	// statistic would: EmpFactor = (t_ν⁻¹(1−Φ(z))/z)², ν = DF.
	t.variance(&r, s)
	if r.V > 0 {
		r.Z = r.S / math.Sqrt(r.V)
	}

	if !ok || r.Minutes < t.MinMinutes || !(r.ExpectedCanaryErrors >= t.MinExpectedErrors) {
		r.Outcome = NotEnoughData
		r.NeededCanaryRequests, r.NeededMinutes = t.needed(s, pc)
		r.sanitize()
		return r
	}
	if t.Looks > 0 {
		t.groupSequential(&r)
	} else {
		t.confidenceSequence(&r)
	}
	r.sanitize()
	return r
}

// variance sets V (and Bound, which the Student-t widening needs on the
// normal scale) by the test's variance model.
func (t Test) variance(r *Result, s sums) {
	r.EmpFactor, r.Phi = 1, 1
	var z float64
	switch t.Variance {
	case VarianceBinomial:
		r.DF = 0
		r.Bound, _ = t.bound(r.Look, r.VBin)
		r.V = r.VBin
		r.VGo, r.EmpFactorGo = r.V, r.EmpFactor
		return
	case VarianceStudent:
		r.DF = s.df
		r.Bound, z = t.bound(r.Look, math.Max(r.VBin, r.VEmp))
		if r.VEmp > 0 {
			r.EmpFactor = studentFactor(r.DF, z)
		}
		r.V = math.Max(r.VBin, r.EmpFactor*r.VEmp)
		r.VGo, r.EmpFactorGo = r.V, r.EmpFactor
		return
	case VarianceQuasiWithin:
		if s.dfWithin >= 1 {
			r.Phi, r.DF = s.pearsonWithin/s.dfWithin, s.dfWithin
		}
	default:
		if s.dfArms >= 1 {
			r.Phi, r.DF = s.pearsonArms/s.dfArms, s.dfArms
		}
		if t.Variance == VarianceQuasiArms {
			break
		}
		if shared(s) {
			r.Phi, r.DF = s.pearsonWithin/s.dfWithin, s.dfWithin
		}
		if phi, df, ok := t.Prior.pool(r.Phi, r.DF); ok {
			r.Phi, r.DF = phi, df
			r.PriorPhi, r.PriorDF = t.Prior.Phi, t.Prior.DF
		}
	}
	r.Bound, z = t.bound(r.Look, r.VBin*math.Max(1, r.Phi))
	r.EmpFactorGo = 1
	if r.DF >= 1 {
		r.EmpFactor = studentFactor(r.DF, z)
		r.EmpFactorGo = r.EmpFactor
		if t.Looks > 0 {
			// Each side is widened for the bound it is held against.
			r.EmpFactorGo = studentFactor(r.DF, t.goBound(r.Look))
		}
	}
	r.V = r.VBin * math.Max(1, r.EmpFactor*r.Phi)
	r.VGo = r.VBin * math.Max(1, r.EmpFactorGo*r.Phi)
}

// sharedLevel is the level of the test that the arms' errors moved
// together from minute to minute.
var sharedLevel = 0.01

// shared reports whether the part of the arms' Pearson statistic that
// the within-minute contrasts do not see (a level both arms share, which
// moved) is significantly larger than the within-minute part.
func shared(s sums) bool {
	if !(s.dfWithin >= 1) || !(s.dfArms > s.dfWithin) {
		return false
	}
	df1 := s.dfArms - s.dfWithin
	level := math.Max(s.pearsonArms-s.pearsonWithin, 0) / df1
	within := s.pearsonWithin / s.dfWithin
	if !(within > 0) {
		return level > 0
	}
	f := distuv.F{D1: df1, D2: s.dfWithin}
	return f.Survival(level/within) < sharedLevel
}

// groupSequential applies each side's boundary with the Cornish–Fisher
// skewness correction. The no_go bound is only ever raised for skewness
// (error counts are right-skewed: the no_go tail is the heavy one); the
// go bound takes the whole correction, lowered where the go tail is the
// light one. The go bound is then put on the scale of Z: the go side's
// own variance VGo (its Student-t widening at its own bound) is VGo/V
// times V, so −S/√VGo ≥ g iff −Z ≥ g·√(VGo/V).
func (t Test) groupSequential(r *Result) {
	bk, gk := r.Bound, t.goBound(r.Look)
	r.NoGoBound = bk + math.Max(0, r.Gamma)*(bk*bk-1)/6
	r.GoBound = t.goSkew(gk, r.Gamma) * math.Sqrt(r.VGo/r.V)
	if !(r.V > 0) || !(r.VGo > 0) || !finite(r.Z, r.Gamma, r.NoGoBound, r.GoBound) {
		return
	}
	r.Outcome = decide(r.Z >= r.NoGoBound, -r.Z >= r.GoBound)
}

// goSkew is the go side's bound g corrected for the skewness γ of S.
func (t Test) goSkew(g, gamma float64) float64 {
	if t.ConservativeGoSkew {
		return g + math.Max(0, -gamma)*(g*g-1)/6
	}
	return g - math.Min(gamma, goSkewCap)*(g*g-1)/6
}

// goSkewCap bounds the skewness by which the go bound is lowered: the
// Cornish–Fisher term is a small-skew expansion, and a few requests
// that all failed (γ = 2.6 at 30 requests an arm) would otherwise put the
// bound below zero. At γ = 0.5, about five expected errors at the margin,
// it lowers a bound of 2.5 by 0.44.
const goSkewCap = 0.5

// goBound is the go side's b_k.
func (t Test) goBound(look int) float64 {
	if t.GoSpending == nil {
		return boundaries.get(t.Looks, t.Alpha, SpendPocockLate, t.MinMinutes-1)[look-1]
	}
	return boundaries.get(t.Looks, t.Alpha, *t.GoSpending, 0)[look-1]
}

// confidenceSequence applies the one-sided normal-mixture sequences.
func (t Test) confidenceSequence(r *Result) {
	r.NoGoBound, r.GoBound = r.Bound, r.Bound
	if !(r.V > 0) {
		return
	}
	r.LnMNoGo = LnMixture(r.S, r.V, t.Rho)
	r.LnMGo = LnMixture(-r.S, r.V, t.Rho)
	if !finite(r.LnMNoGo, r.LnMGo) {
		return
	}
	r.Outcome = decide(r.LnMNoGo >= r.Bound, r.LnMGo >= r.Bound)
}

// bound returns the look's bound, b_k or ln(1/α) for the confidence
// sequence, and the same bound on the scale of Z at variance v.
func (t Test) bound(look int, v float64) (bound, z float64) {
	if t.Looks > 0 {
		b := boundaries.get(t.Looks, t.Alpha, t.Spending, 0)[look-1]
		return b, b
	}
	b := -math.Log(t.Alpha)
	return b, csNormalBound(v, t.Rho, b)
}

func decide(noGo, goOn bool) Outcome {
	switch {
	case noGo && !goOn:
		return Regression
	case goOn && !noGo:
		return NoRegression
	}
	return Undecided
}

// fallbackRate is the error rate assumed for the wait estimate when no
// errors have been seen at all.
const fallbackRate = 0.01

// needed estimates how many more canary requests and minutes it takes
// until there are MinMinutes minutes and N_c·p̃_c reaches MinExpectedErrors.
// It uses p̃_c, else the pooled error rate, else fallbackRate, and the
// canary's traffic per minute so far.
func (t Test) needed(s sums, pc float64) (requests float64, minutes int) {
	rate := pc
	if !(rate > 0) && s.nc+s.nb > 0 {
		rate = (s.xc + s.xb) / (s.nc + s.nb)
	}
	if !(rate > 0) || !finite(rate) {
		rate = fallbackRate
	}
	requests = math.Max(0, t.MinExpectedErrors/rate-s.nc)
	minutes = max(t.MinMinutes-s.minutes, 0)
	if requests > 0 {
		minutes = max(minutes, 1)
		if s.minutes > 0 && s.nc > 0 {
			m := math.Ceil(requests / (s.nc / float64(s.minutes)))
			minutes = max(minutes, int(math.Min(m, math.MaxInt32)))
		}
	}
	return requests, minutes
}
