package stats

import "math"

// Minute is one completed minute of a stage: counts from both arms.
// Counts may be fractional (Prometheus increase() extrapolates).
type Minute struct {
	CanaryTotal, CanaryErrors, BaselineTotal, BaselineErrors float64
}

// clean reports whether the minute can be used: both arms served
// (positive totals) and every count is finite and not negative. Errors
// above the total, which extrapolated counters can produce, are clamped to
// the total.
func (m Minute) clean() (Minute, bool) {
	if !finite(m.CanaryTotal, m.CanaryErrors, m.BaselineTotal, m.BaselineErrors) ||
		!(m.CanaryTotal > 0 && m.BaselineTotal > 0) ||
		m.CanaryErrors < 0 || m.BaselineErrors < 0 {
		return Minute{}, false
	}
	m.CanaryErrors = math.Min(m.CanaryErrors, m.CanaryTotal)
	m.BaselineErrors = math.Min(m.BaselineErrors, m.BaselineTotal)
	return m, true
}

// terms returns the minute's canary share π, weight w = n_c·n_b/(n_c+n_b)
// and contrast Z_s = (1−π)·k − π·m, whose mean is w·(p_c − p_b).
func (m Minute) terms() (pi, w, z float64) {
	n := m.CanaryTotal + m.BaselineTotal
	pi = m.CanaryTotal / n
	w = m.CanaryTotal * m.BaselineTotal / n
	z = (1-pi)*m.CanaryErrors - pi*m.BaselineErrors
	return pi, w, z
}

// sums holds what the test needs from the minutes with both arms serving.
type sums struct {
	minutes, skipped int
	nc, xc, nb, xb   float64 // cumulative canary and baseline totals and errors
	w, z             float64 // Σ w_s, Σ Z_s
	a, b, a2, b2     float64 // Σ w(1−π), Σ wπ, Σ w(1−π)², Σ wπ²
	dhat             float64 // Σ Z_s / Σ w_s
	vemp             float64 // t'/(t'−1)·Σ (Z_s − w_s·D̂)²
	df               float64 // (Σv_s)²/Σv_s² − 1 ≤ t'−1, v_s = w_s·p̄_s(1−p̄_s) at the minute's pooled rate
	// Pearson statistics: each arm's Σ (x_s − n_s·p̂)²/(n_s·p̂(1−p̂))
	// around its own cumulative rate p̂ (k−1 df each, for an arm that saw
	// errors), and the within-minute Σ (Z_s − w_s·D̂)²/v_s (k−1 df).
	pearsonArms, dfArms     float64
	pearsonWithin, dfWithin float64
}

func accumulate(minutes []Minute) sums {
	var s sums
	for _, m := range minutes {
		m, ok := m.clean()
		if !ok {
			s.skipped++
			continue
		}
		pi, w, z := m.terms()
		s.minutes++
		s.nc += m.CanaryTotal
		s.xc += m.CanaryErrors
		s.nb += m.BaselineTotal
		s.xb += m.BaselineErrors
		s.w += w
		s.z += z
		s.a += w * (1 - pi)
		s.b += w * pi
		s.a2 += w * (1 - pi) * (1 - pi)
		s.b2 += w * pi * pi
	}
	if s.w > 0 {
		s.dhat = s.z / s.w
	}
	if s.minutes < 2 {
		return s
	}
	var sv, sv2 float64
	pc, pb := s.xc/s.nc, s.xb/s.nb
	armInfo := func(p float64) bool { return p > 0 && p < 1 }
	for _, m := range minutes {
		m, ok := m.clean()
		if !ok {
			continue
		}
		_, w, z := m.terms()
		r := z - w*s.dhat
		s.vemp += r * r
		// The minute's binomial variance at its own pooled error rate.
		p := (m.CanaryErrors + m.BaselineErrors) / (m.CanaryTotal + m.BaselineTotal)
		v := w * p * (1 - p)
		sv += v
		sv2 += v * v
		if v > 0 {
			s.pearsonWithin += r * r / v
			s.dfWithin++
		}
		if armInfo(pc) {
			d := m.CanaryErrors - m.CanaryTotal*pc
			s.pearsonArms += d * d / (m.CanaryTotal * pc * (1 - pc))
		}
		if armInfo(pb) {
			d := m.BaselineErrors - m.BaselineTotal*pb
			s.pearsonArms += d * d / (m.BaselineTotal * pb * (1 - pb))
		}
	}
	s.dfWithin = math.Max(s.dfWithin-1, 0)
	for _, p := range []float64{pc, pb} {
		if armInfo(p) {
			s.dfArms += float64(s.minutes - 1)
		}
	}
	t := float64(s.minutes)
	s.vemp *= t / (t - 1)
	s.df = t - 1
	if sv2 > 0 {
		s.df = math.Min(s.df, sv*sv/sv2-1)
	}
	return s
}
