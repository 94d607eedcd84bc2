package config

import (
	"encoding/json"
	"fmt"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/prometheus/common/model"
)

// UnmarshalYAML reads a Prometheus duration such as 30s, 5m, 1h, 7d or 1w.
// It is given the node rather than its text so that a bad value is reported
// at its line and column.
func (d *Duration) UnmarshalYAML(node ast.Node) error {
	switch n := node.(type) {
	case *ast.StringNode, *ast.IntegerNode:
		text := n.GetToken().Value
		v, err := model.ParseDuration(text)
		if err != nil {
			return &yaml.SyntaxError{
				Message: fmt.Sprintf("invalid duration %q: want a number and a unit (ms, s, m, h, d, w, y) such as 30s or 5m", text),
				Token:   n.GetToken(),
			}
		}
		*d = Duration(v)
		return nil
	default:
		return &yaml.SyntaxError{
			Message: fmt.Sprintf("expected a duration such as 30s or 5m, got %s", describeNode(node)),
			Token:   node.GetToken(),
		}
	}
}

// MarshalYAML writes d as a Prometheus duration.
func (d Duration) MarshalYAML() (any, error) {
	return d.String(), nil
}

// UnmarshalJSON reads a Prometheus duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"30s\": %w", err)
	}
	v, err := model.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes d as a Prometheus duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// String formats d as Prometheus does: 30s, 5m, 1h30m, 30d, 1w.
func (d Duration) String() string {
	return model.Duration(d).String()
}
