// Package stats decides whether a canary's error rate is worse than its
// baseline's by more than a margin δ, asked once per completed minute of a
// stage, with stated error rates however often it is asked ("method R" of
// the patchgate statistics reference).
//
// # The statistic
//
// For each minute s in which both arms served (canary n_c,s requests with
// k_s errors, baseline n_b,s requests with m_s errors):
//
//	π_s = n_c,s/(n_c,s+n_b,s)        the canary's share of the minute
//	w_s = n_c,s·n_b,s/(n_c,s+n_b,s)  the minute's weight
//	Z_s = (1−π_s)·k_s − π_s·m_s      whose mean is w_s·(p_c − p_b)
//
// Summed over the minutes, W = Σ w_s, D̂ = Σ Z_s / W estimates the
// difference D = p_c − p_b, and S(δ) = Σ (Z_s − δ·w_s) = W·(D̂ − δ) has mean
// zero at the margin. An error-rate change shared by both arms (an
// incident, a change of traffic mix) cancels inside its minute, because
// each minute compares the arms only with each other.
//
// The variance of S starts from the binomial one, VBin =
// p̃_c(1−p̃_c)·Σ w_s(1−π_s) + p̃_b(1−p̃_b)·Σ w_s·π_s, where (p̃_c, p̃_b) is
// the maximum-likelihood estimate from the cumulative counts under the
// constraint p_c − p_b = δ (Farrington & Manning 1990; a cubic with a
// closed-form root, see ConstrainedMLE). Errors often scatter more than
// binomially from minute to minute (bursts, retries, one bad host), so the
// test (Variance: VarianceQuasi, the default) uses the quasi-binomial
//
//	V = VBin·max(1, f·φ̂)
//
// where φ̂ is the Pearson dispersion of both arms pooled: each arm's
// Σ (x_s − n_s·p̂)²/(n_s·p̂(1−p̂)) around its own rate, over 2(k−1) degrees
// of freedom for k minutes. A level both arms share that moved (an
// incident, a drift) inflates it; an F test of that part against the
// within-minute part Σ (Z_s − w_s·D̂)²/(w_s·p̄_s(1−p̄_s)) (k−1 degrees of
// freedom, blind to anything the arms share) then switches to the
// within-minute dispersion alone (level 1%). The hour before the stage
// (Test.Prior, see HistoryDispersion: successive differences of the
// baseline's minutes, about 39 degrees of freedom) is pooled into φ̂
// unless the stage is burstier (one-sided p < 0.25) or calmer (p < 0.01)
// than its history. f = (t_ν⁻¹(q)/z)², z the look's bound on the normal
// scale, q = 1−Φ(z), ν the degrees of freedom of φ̂, widens V so that
// S/√V crosses z no more often than a normal statistic would; it is 1 for
// many degrees of freedom and large for few, which is why the history's
// and the second arm's degrees of freedom matter.
//
// Before issue 16 the test used V = max(VBin, f·VEmp) with VEmp =
// t'/(t'−1)·Σ (Z_s − w_s·D̂)², the empirical variance of the contrasts, and
// f at its Satterthwaite degrees of freedom (≤ k−1): valid under bursts
// and shared steps (taking S/√VEmp as normal gave false no_go rates of
// 9–10% and false go up to 14% at the margin), but f·VEmp exceeded VBin
// even on binomial errors at few minutes, costing 30% more canary traffic
// to a no_go. It stays selectable (VarianceStudent); docs/decision-quality.md
// compares them.
//
// # The decision
//
// With K planned looks (Test.Looks > 0), each side is its own one-sided
// test at level α with its own boundaries from Lan–DeMets α-spending,
// b_k solving P(Z_1 < b_1, …, Z_{k−1} < b_{k−1}, Z_k ≥ b_k) = α(τ_k) −
// α(τ_{k−1}) for a Gaussian random walk with equal increments, by
// recursive numerical integration (Jennison & Turnbull, "Group Sequential
// Methods with Applications to Clinical Trials", 2000, ch. 19; see
// spendingBoundaries in boundary.go).
//
// The no_go side spends by the Pocock-type function α(τ) = α·ln(1+(e−1)τ),
// τ = k/K: a bad canary is stopped early. The go side (SpendPocockLate)
// spends 60% of α the same way and keeps 40% for the last looks
// (Hwang–Shih–DeCani, γ = −8), from look MinMinutes on (earlier looks can
// never decide): a clearly healthy canary gets its go about as early as
// under the Pocock type, and one whose difference sits between 0 and δ,
// which needs most of the stage to be told apart from δ, still finds α
// near max_wait. The Student-t widening f of each side is taken at that
// side's bound, so the go side's variance is VGo = VBin·max(1, f_go·φ̂).
//
// Error counts are right-skewed, so each bound is moved by the
// Cornish–Fisher term for the skewness γ of S under the constrained
// estimates: the no_go bound only ever up (its tail is the heavy one), the
// go bound by the whole term (its tail is the light one; γ capped at 0.5,
// where the expansion still holds):
//
//	no_go (Regression)   iff  Z ≥ b_k + max(0, γ)·(b_k²−1)/6
//	go    (NoRegression) iff −Z ≥ (g_k − min(γ, 0.5)·(g_k²−1)/6)·√(VGo/V)
//
// A look that is skipped spends its α unused; a look past K uses b_K.
// Test.Spending selects an O'Brien–Fleming-type or Hwang–Shih–DeCani
// (γ = −2) function for the no_go side, Test.GoSpending one for the go
// side, and Test.ConservativeGoSkew the go bound of the first round of
// issue 16 (measured, none the default: see docs/decision-quality.md).
//
// # Futility
//
// Test.Futility says when a waiting test can no longer decide by its last
// look at the traffic seen so far: the minutes it still needs to start go
// past the last look, or neither side's conditional power (with the
// difference estimated so far continuing) reaches 0.1%. The gate then
// answers the stage's on_timeout at once (on_futility: answer).
//
// With no planned number of looks (Test.Looks = 0) the test is the
// one-sided Robbins normal-mixture confidence sequence on the same S and
// V (Lindon, Sanden & Shirikian, "Rapid Regression Detection in Software
// Deployments through Sequential Testing", KDD 2022, arXiv:2205.14762):
//
//	ln M(s, v) = ln 2 + ½·ln(ρ/(v+ρ)) + s²/(2(v+ρ)) + ln Φ(s/√(v+ρ))
//	no_go iff ln M(S, V) ≥ ln(1/α);  go iff ln M(−S, V) ≥ ln(1/α)
//
// which keeps its level at every look by Ville's inequality.
//
// # Waiting
//
// No decision is made before MinMinutes minutes with both arms serving
// (default 3), nor while the canary errors expected at the margin,
// N_c·p̃_c, are fewer than MinExpectedErrors (default 5). Then the outcome
// is NotEnoughData with an estimate of the canary requests and minutes
// still needed; it is never turned into a regression. Anything that
// cannot be computed (no traffic, zero variance, non-finite counts) gives
// Undecided or NotEnoughData, never a decision.
//
// # Several checks
//
// The test judges any proportion: error_delta's errors, and latency_delta's
// requests slower than a bucket boundary. When m sequential checks gate
// one stage, each runs at α/m (Bonferroni; gate.metricChecks applies it
// and the checks' answers say so). The stage answers no_go as soon as one
// check finds a regression and go once every check ruled one out, so it
// errs only when one of its checks errs: its false no_go (every canary at
// or within its margins) is at most m·α/m = α, and its false go (some
// canary at or beyond its margin) at most α/m ≤ α, whatever the
// dependence between the checks (slow requests and errors often rise
// together). TestSeveralChecksSplitAlpha shows it by simulation; with
// two checks at α = 5%: false no_go 2.0% (5.2% without the split), false
// go 1.7–1.8% (3.3–4.0% without).
package stats
