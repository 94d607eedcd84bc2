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
// The variance of S is estimated twice. VBin is the binomial variance
// p̃_c(1−p̃_c)·Σ w_s(1−π_s) + p̃_b(1−p̃_b)·Σ w_s·π_s, where (p̃_c, p̃_b) is
// the maximum-likelihood estimate from the cumulative counts under the
// constraint p_c − p_b = δ (Farrington & Manning 1990; a cubic with a
// closed-form root, see ConstrainedMLE). VEmp = t'/(t'−1)·Σ (Z_s − w_s·D̂)²
// is the empirical variance over the t' minutes, which sees bursty,
// overdispersed errors that the binomial model does not. The test uses
// V = max(VBin, EmpFactor·VEmp) and Z = S/√V.
//
// EmpFactor is this package's addition to the reference. With few
// minutes, VEmp has few degrees of freedom and S/√VEmp is Student-t rather
// than normal; taking it as normal gave false no_go rates of 9–10% and
// false go rates up to 14% at the margin (α = 5%, simulated) under
// beta-binomial errors and after a shared error step that coincided with
// a traffic shift. EmpFactor = (t_ν⁻¹(q)/z)², where z
// is the look's bound on the normal scale, q = 1−Φ(z) and ν the effective
// degrees of freedom of VEmp (Satterthwaite, with each minute's binomial
// variance at its own pooled error rate as its weight, at most t'−1). It
// is 1 for many minutes and large for few.
//
// # The decision
//
// With K planned looks (Test.Looks > 0), the boundaries b_1..b_K come from
// Lan–DeMets α-spending with the Pocock-type function
// α(τ) = α·ln(1+(e−1)·τ), τ = k/K: b_k solves
// P(Z_1 < b_1, …, Z_{k−1} < b_{k−1}, Z_k ≥ b_k) = α(τ_k) − α(τ_{k−1}) for a
// Gaussian random walk with equal increments, by recursive numerical
// integration (Jennison & Turnbull, "Group Sequential Methods with
// Applications to Clinical Trials", 2000, ch. 19; see PocockBoundaries).
// Error counts are right-skewed, so each bound is moved by the
// Cornish–Fisher term for the skewness γ of S under the constrained
// estimates:
//
//	no_go (Regression)   iff  Z ≥ b_k + max(0,  γ)·(b_k²−1)/6
//	go    (NoRegression) iff −Z ≥ b_k + max(0, −γ)·(b_k²−1)/6
//
// Each rule is a one-sided test at level α. A look that is skipped spends
// its α unused; a look past K uses b_K.
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
