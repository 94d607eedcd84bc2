package gate

import "fmt"

// FieldError is a request the gate cannot evaluate because a field is
// missing or malformed (HTTP 422).
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Message) }

// NotFoundError is a request naming a service or stage the configuration
// does not have (HTTP 404).
type NotFoundError struct {
	Field string
	Value string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s: unknown %s %q", e.Field, e.Field, e.Value)
}
