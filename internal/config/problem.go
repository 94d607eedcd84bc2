package config

import (
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with a config file.
type Problem struct {
	File string
	// Line and Column are 1-based; 0 when the problem has no place in the
	// file (a required section that is missing altogether).
	Line, Column int
	// Field is the path of the value, e.g. services[0].slo.objective.
	Field   string
	Message string
}

// Error formats p as file:line:column: field: message.
func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", p.Line, p.Column)
	}
	b.WriteString(": ")
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is every problem found in a config file, sorted by position.
type Problems []Problem

// Error lists the problems, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

func (ps Problems) sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
}

// collector gathers the problems of one file, placing each by its field path.
type collector struct {
	file string
	doc  *document
	list Problems
	// warnings are what is accepted but should change (deprecated keys).
	warnings Problems
}

// warnf records a warning at path: the config is accepted, and the
// warning is logged by whoever loads it (Config.Warnings).
func (p *collector) warnf(path, format string, args ...any) {
	line, col := p.doc.position(path)
	p.warnings = append(p.warnings, Problem{File: p.file, Line: line, Column: col, Field: path, Message: fmt.Sprintf(format, args...)})
}

func (p *collector) addf(path, format string, args ...any) {
	line, col := p.doc.position(path)
	p.list = append(p.list, Problem{
		File:    p.file,
		Line:    line,
		Column:  col,
		Field:   path,
		Message: fmt.Sprintf(format, args...),
	})
}

// err returns the problems sorted, or nil when there are none.
func (p *collector) err() error {
	if len(p.list) == 0 {
		return nil
	}
	p.list.sort()
	return p.list
}
