package stats

// Result has every number an SRE needs to redo the arithmetic. Numbers
// that cannot be computed (no data, zero variance) are 0, never NaN.
type Result struct {
	Outcome Outcome
	// Look is the look whose boundary was used (capped at Looks); Looks is
	// the stage's planned number of looks, 0 for the confidence sequence.
	Look, Looks int
	// Alpha is each one-sided rule's level, Margin the tested difference δ,
	// Rho the mixture parameter (confidence sequence only).
	Alpha, Margin, Rho float64
	// Minutes is t', the minutes with both arms serving; Skipped counts the
	// minutes left out (an arm without requests, or unusable counts).
	Minutes, Skipped int

	// Cumulative counts over the used minutes.
	CanaryTotal, CanaryErrors, BaselineTotal, BaselineErrors float64
	CanaryRate, BaselineRate                                 float64
	// DHat = Σ Z_s / W, the stratified estimate of p_c − p_b.
	DHat float64

	// W = Σ w_s; S = Σ (Z_s − δ·w_s) = W·(D̂ − δ);
	// V = VBin·max(1, EmpFactor·Phi) (the default, quasi-binomial) or
	// max(VBin, EmpFactor·VEmp) (VarianceStudent). VEmp is reported either
	// way.
	W, S, V, VBin, VEmp float64
	// DF is the degrees of freedom of Phi (of VEmp for VarianceStudent)
	// and EmpFactor ≥ 1 the Student-t widening for them at the no_go
	// bound (see doc.go).
	DF, EmpFactor float64
	// VGo = VBin·max(1, EmpFactorGo·Phi) is the go side's variance, its
	// Student-t widening EmpFactorGo taken at the go side's own bound
	// (equal to V and EmpFactor for VarianceStudent, VarianceBinomial and
	// the confidence sequence).
	VGo, EmpFactorGo float64
	// Phi is the dispersion φ̂ (1 when not estimated).
	Phi float64
	// PriorPhi and PriorDF are the history's dispersion when it was pooled
	// into Phi and DF (0 when there was none, or it differed from the
	// stage's beyond chance).
	PriorPhi, PriorDF float64
	// A = Σ w_s(1−π_s), B = Σ w_s·π_s, A2 = Σ w_s(1−π_s)², B2 = Σ w_s·π_s²:
	// VBin = p̃_c(1−p̃_c)·A + p̃_b(1−p̃_b)·B, and Gamma's sums.
	A, B, A2, B2 float64
	// PcTilde, PbTilde: Farrington–Manning constrained MLE at d = δ.
	PcTilde, PbTilde float64
	// Z = S/√V, the standardised statistic at d = δ.
	Z float64
	// Gamma is the skewness γ(δ) used by the Cornish–Fisher correction.
	Gamma float64

	// Bound is b_k (group-sequential) or ln(1/α) (confidence sequence).
	// Regression iff Z ≥ NoGoBound; NoRegression iff −Z ≥ GoBound, where
	// NoGoBound = b_k + max(0,γ)(b_k²−1)/6 and GoBound = (g_k −
	// γ(g_k²−1)/6)·√(VGo/V), g_k the go side's own bound (its α spent by
	// SpendPocockLate unless Test.GoSpending says otherwise). For the
	// confidence sequence both bounds are ln(1/α), compared with
	// LnMNoGo = ln M(S,V) and LnMGo = ln M(−S,V).
	Bound, NoGoBound, GoBound float64
	LnMNoGo, LnMGo            float64

	// ExpectedCanaryErrors = N_c·p̃_c(δ), the canary errors expected at the
	// margin; the test waits while it is below MinExpectedErrors.
	ExpectedCanaryErrors float64
	// When NotEnoughData: about how many more canary requests and minutes
	// are needed before the test can decide anything.
	NeededCanaryRequests float64
	NeededMinutes        int
}

// Details returns the result's numbers keyed by name, for a check's
// explanation.
func (r Result) Details() map[string]float64 {
	d := map[string]float64{
		"look":                   float64(r.Look),
		"looks":                  float64(r.Looks),
		"alpha":                  r.Alpha,
		"margin":                 r.Margin,
		"minutes":                float64(r.Minutes),
		"skipped_minutes":        float64(r.Skipped),
		"canary_total":           r.CanaryTotal,
		"canary_errors":          r.CanaryErrors,
		"baseline_total":         r.BaselineTotal,
		"baseline_errors":        r.BaselineErrors,
		"canary_rate":            r.CanaryRate,
		"baseline_rate":          r.BaselineRate,
		"d_hat":                  r.DHat,
		"w":                      r.W,
		"s":                      r.S,
		"v":                      r.V,
		"v_bin":                  r.VBin,
		"v_emp":                  r.VEmp,
		"df":                     r.DF,
		"emp_factor":             r.EmpFactor,
		"v_go":                   r.VGo,
		"emp_factor_go":          r.EmpFactorGo,
		"phi":                    r.Phi,
		"prior_phi":              r.PriorPhi,
		"prior_df":               r.PriorDF,
		"p_canary_tilde":         r.PcTilde,
		"p_baseline_tilde":       r.PbTilde,
		"z":                      r.Z,
		"gamma":                  r.Gamma,
		"bound":                  r.Bound,
		"no_go_bound":            r.NoGoBound,
		"go_bound":               r.GoBound,
		"expected_canary_errors": r.ExpectedCanaryErrors,
	}
	if r.Looks == 0 {
		d["rho"] = r.Rho
		d["ln_m_no_go"] = r.LnMNoGo
		d["ln_m_go"] = r.LnMGo
	}
	if r.Outcome == NotEnoughData {
		d["needed_canary_requests"] = r.NeededCanaryRequests
		d["needed_minutes"] = float64(r.NeededMinutes)
	}
	return d
}

// sanitize zeroes numbers that are not finite and withdraws any decision
// that rested on one.
func (r *Result) sanitize() {
	fields := []*float64{
		&r.Alpha, &r.Margin, &r.Rho,
		&r.CanaryTotal, &r.CanaryErrors, &r.BaselineTotal, &r.BaselineErrors,
		&r.CanaryRate, &r.BaselineRate, &r.DHat,
		&r.W, &r.S, &r.V, &r.VBin, &r.VEmp, &r.DF, &r.EmpFactor, &r.VGo, &r.EmpFactorGo, &r.Phi, &r.PriorPhi, &r.PriorDF, &r.A, &r.B, &r.A2, &r.B2,
		&r.PcTilde, &r.PbTilde, &r.Z, &r.Gamma,
		&r.Bound, &r.NoGoBound, &r.GoBound, &r.LnMNoGo, &r.LnMGo,
		&r.ExpectedCanaryErrors, &r.NeededCanaryRequests,
	}
	for _, f := range fields {
		if !finite(*f) {
			*f = 0
			if r.Outcome == Regression || r.Outcome == NoRegression {
				r.Outcome = Undecided
			}
		}
	}
}
