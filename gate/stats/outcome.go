package stats

import "strconv"

// Outcome is the answer of one evaluation.
type Outcome int

const (
	// Undecided: enough data, but neither rule crossed its bound (or a
	// number could not be computed). The gate answers wait.
	Undecided Outcome = iota
	// NotEnoughData: too few minutes or too few expected canary errors to
	// test at all. The gate answers wait, never no_go.
	NotEnoughData
	// Regression: the canary's error rate exceeds the baseline's by more
	// than the margin (no_go).
	Regression
	// NoRegression: the canary's error rate exceeds the baseline's by less
	// than the margin (go).
	NoRegression
)

func (o Outcome) String() string {
	switch o {
	case Undecided:
		return "undecided"
	case NotEnoughData:
		return "not_enough_data"
	case Regression:
		return "regression"
	case NoRegression:
		return "no_regression"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}
