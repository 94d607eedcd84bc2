package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// decodeProblem turns a go-yaml parse or decode error into a Problem at the
// error's token, naming the field there when doc knows it.
func decodeProblem(file string, doc *document, err error) Problem {
	var yerr yaml.Error
	if !errors.As(err, &yerr) || yerr.GetToken() == nil {
		return Problem{File: file, Message: err.Error()}
	}
	tk := yerr.GetToken()
	p := Problem{
		File:    file,
		Line:    tk.Position.Line,
		Column:  tk.Position.Column,
		Message: yerr.GetMessage(),
	}
	if doc != nil {
		p.Field = doc.pathAt(p.Line, p.Column)
	}
	var (
		typeErr *yaml.TypeError
		nodeErr *yaml.UnexpectedNodeTypeError
		unknown *yaml.UnknownFieldError
	)
	switch {
	case errors.As(err, &typeErr):
		p.Message = fmt.Sprintf("expected %s, got %s", kindName(typeErr.DstType), describeValue(typeErr.SrcType, tk.Value))
	case errors.As(err, &nodeErr):
		p.Message = fmt.Sprintf("expected %s, got %s", nodeTypeName(nodeErr.Expected), describeNodeType(nodeErr.Actual, tk.Value))
	case errors.As(err, &unknown):
		p.Message = "unknown field"
		if fields := fieldsAt(parentPath(p.Field)); len(fields) > 0 && p.Field != "" {
			p.Message += "; valid fields here: " + strings.Join(fields, ", ")
		}
	}
	return p
}

// kindName names a Go type the way a config author thinks of it.
func kindName(t reflect.Type) string {
	if t == reflect.TypeFor[Duration]() {
		return "a duration such as 30s"
	}
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "a mapping"
	}
	return t.String()
}

func describeValue(t reflect.Type, text string) string {
	if t == nil {
		return fmt.Sprintf("%q", text)
	}
	switch t.Kind() {
	case reflect.Map, reflect.Struct:
		return "a mapping"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return fmt.Sprintf("%q", text)
}

func nodeTypeName(t ast.NodeType) string {
	switch t {
	case ast.MappingType, ast.MappingValueType:
		return "a mapping"
	case ast.SequenceType:
		return "a list"
	}
	return "a single value"
}

func describeNodeType(t ast.NodeType, text string) string {
	switch t {
	case ast.MappingType, ast.MappingValueType:
		return "a mapping"
	case ast.SequenceType:
		return "a list"
	}
	return fmt.Sprintf("%q", text)
}

// fieldsAt lists the YAML field names allowed at path, following the
// Config type through its yaml tags; nil when path is not a struct.
func fieldsAt(path string) []string {
	t := reflect.TypeFor[Config]()
	for _, st := range splitSteps(path) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if st.index >= 0 {
			continue
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
		f, ok := fieldByTag(t, st.field)
		if !ok {
			return nil
		}
		t = f.Type
	}
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[Duration]() {
		return nil
	}
	var names []string
	for f := range t.Fields() {
		if name := yamlName(f); name != "" {
			names = append(names, name)
		}
	}
	return names
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for f := range t.Fields() {
		if yamlName(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}
