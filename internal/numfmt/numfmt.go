// Package numfmt writes numbers for people to read: with a comma between
// each group of three digits, as the report, the UI, the gate's reasons
// and the benchmark write-ups print counts.
package numfmt

import (
	"math"
	"strconv"
	"strings"
)

// Grouped writes v with decimals digits after the point and a comma
// between each group of three digits before it: Grouped(1234567, 0) is
// "1,234,567", Grouped(-12345.67, 1) is "-12,345.7".
//
// With no decimals, v is rounded half away from zero, as math.Round does
// (2.5 is "3"); with decimals, to the nearest decimal of v's exact binary
// value, as strconv.FormatFloat does. A value that rounds to zero has no
// minus sign. NaN and the infinities are written as strconv writes them
// ("NaN", "+Inf", "-Inf").
func Grouped(v float64, decimals int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	decimals = max(decimals, 0)
	if decimals == 0 {
		v = math.Round(v)
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	s, neg := strings.CutPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	if neg && strings.Trim(s, "0.") != "" {
		b.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}
