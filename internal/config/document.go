package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// maxAliasDepth bounds how deep aliases of aliases are followed.
const maxAliasDepth = 32

// document finds the values of a parsed YAML document by field path, such
// as services[1].stages[0].checks.error_delta.margin_pp, so that defaults
// apply only to fields left out and problems found after decoding point at
// the line they come from. Paths are followed through anchors, aliases and
// merge keys (<<) on demand, so nested aliases cost nothing up front.
type document struct {
	root    ast.Node
	anchors map[string]ast.Node
}

func newDocument(root ast.Node) *document {
	d := &document{root: root, anchors: map[string]ast.Node{}}
	if root != nil {
		ast.Walk(anchorCollector(d.anchors), root)
	}
	return d
}

type anchorCollector map[string]ast.Node

func (c anchorCollector) Visit(node ast.Node) ast.Visitor {
	if a, ok := node.(*ast.AnchorNode); ok {
		c[a.Name.GetToken().Value] = a.Value
	}
	return c
}

// set reports whether path is written in the file with a value other than null.
func (d *document) set(path string) bool {
	_, value, ok := d.lookup(path)
	return ok && !d.isNull(value)
}

// null reports whether path is written in the file with an empty (null) value.
func (d *document) null(path string) bool {
	_, value, ok := d.lookup(path)
	return ok && d.isNull(value)
}

// position is where path is written: its key, or the start of a list item.
// A path not in the file is placed at its closest written parent; one
// with no written parent at all gets line 0.
func (d *document) position(path string) (line, column int) {
	for p := path; p != ""; p = parentPath(p) {
		key, value, ok := d.lookup(p)
		if !ok {
			continue
		}
		tk := key
		if tk == nil {
			tk = startToken(value)
		}
		return tk.Position.Line, tk.Position.Column
	}
	return 0, 0
}

// lookup follows path from the root. key is nil for a list item.
func (d *document) lookup(path string) (key *token.Token, value ast.Node, ok bool) {
	if d.root == nil || path == "" {
		return nil, nil, false
	}
	value = d.root
	for _, step := range splitSteps(path) {
		if step.index >= 0 {
			seq, isSeq := d.resolve(value, 0).(*ast.SequenceNode)
			if !isSeq || step.index >= len(seq.Values) {
				return nil, nil, false
			}
			key, value = nil, seq.Values[step.index]
			continue
		}
		if key, value, ok = d.field(value, step.field, 0); !ok {
			return nil, nil, false
		}
	}
	return key, value, true
}

// field finds name in the mapping node. As go-yaml decodes, keys count in
// order, the last one winning, merged keys (<<) included.
func (d *document) field(node ast.Node, name string, depth int) (key *token.Token, value ast.Node, ok bool) {
	if depth > maxAliasDepth {
		return nil, nil, false
	}
	var values []*ast.MappingValueNode
	switch m := d.resolve(node, depth).(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	default:
		return nil, nil, false
	}
	for _, mv := range values {
		if _, merge := mv.Key.(*ast.MergeKeyNode); !merge {
			if mv.Key.GetToken().Value == name {
				key, value, ok = mv.Key.GetToken(), mv.Value, true
			}
			continue
		}
		merged := []ast.Node{mv.Value}
		if s, isSeq := d.resolve(mv.Value, depth).(*ast.SequenceNode); isSeq {
			merged = s.Values
		}
		for _, m := range merged {
			if k, v, found := d.field(m, name, depth+1); found {
				key, value, ok = k, v, true
			}
		}
	}
	return key, value, ok
}

// resolve looks through anchors, tags and aliases to the value itself.
func (d *document) resolve(node ast.Node, depth int) ast.Node {
	for ; depth <= maxAliasDepth; depth++ {
		switch n := node.(type) {
		case *ast.AnchorNode:
			node = n.Value
		case *ast.TagNode:
			node = n.Value
		case *ast.AliasNode:
			target, ok := d.anchors[n.Value.GetToken().Value]
			if !ok {
				return nil
			}
			node = target
		default:
			return node
		}
	}
	return nil
}

func (d *document) isNull(node ast.Node) bool {
	n := d.resolve(node, 0)
	return n == nil || n.Type() == ast.NullType
}

// pathAt returns the path of the key or value written at line:column, or
// "" if none is there. Values written once under an anchor are found at
// the anchor's path.
func (d *document) pathAt(line, column int) string {
	at := func(tk *token.Token) bool {
		return tk != nil && tk.Position.Line == line && tk.Position.Column == column
	}
	var found string
	var visit func(path string, key *token.Token, node ast.Node)
	visit = func(path string, key *token.Token, node ast.Node) {
		if found != "" || node == nil {
			return
		}
		if path != "" && (at(key) || at(node.GetToken()) || at(startToken(node))) {
			found = path
			return
		}
		switch n := node.(type) {
		case *ast.AnchorNode:
			visit(path, nil, n.Value)
		case *ast.TagNode:
			visit(path, nil, n.Value)
		case *ast.MappingNode:
			for _, mv := range n.Values {
				if _, merge := mv.Key.(*ast.MergeKeyNode); merge {
					visit(path, nil, mv.Value)
					continue
				}
				visit(joinPath(path, mv.Key.GetToken().Value), mv.Key.GetToken(), mv.Value)
			}
		case *ast.MappingValueNode:
			visit(joinPath(path, n.Key.GetToken().Value), n.Key.GetToken(), n.Value)
		case *ast.SequenceNode:
			for i, v := range n.Values {
				visit(fmt.Sprintf("%s[%d]", path, i), nil, v)
			}
		}
	}
	visit("", nil, d.root)
	return found
}

// startToken is the first token of node as a reader sees it: the first key
// of a block mapping rather than its first colon.
func startToken(node ast.Node) *token.Token {
	switch n := node.(type) {
	case *ast.MappingNode:
		if !n.IsFlowStyle && len(n.Values) > 0 {
			return n.Values[0].Key.GetToken()
		}
		return n.Start
	case *ast.MappingValueNode:
		return n.Key.GetToken()
	case *ast.SequenceNode:
		return n.Start
	case *ast.AnchorNode:
		return n.Start
	case *ast.AliasNode:
		return n.Start
	case *ast.TagNode:
		return n.Start
	}
	return node.GetToken()
}

// describeNode names a YAML value for messages: a mapping, a list, or the
// scalar as written.
func describeNode(node ast.Node) string {
	switch node.Type() {
	case ast.MappingType, ast.MappingValueType:
		return "a mapping"
	case ast.SequenceType:
		return "a list"
	case ast.NullType:
		return "nothing"
	}
	return fmt.Sprintf("%q", node.GetToken().Value)
}

// step is one part of a path: a field name, or a list index (field "").
type step struct {
	field string
	index int // -1 for a field
}

// splitSteps splits services[1].sli into services, [1], sli.
func splitSteps(path string) []step {
	var steps []step
	for part := range strings.SplitSeq(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name != "" {
			steps = append(steps, step{field: name, index: -1})
		}
		for rest != "" {
			num, after, _ := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if err != nil {
				i = 1 << 30 // not an index: matches nothing
			}
			steps = append(steps, step{index: i})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return steps
}

func joinPath(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// parentPath strips the last field or index: a.b[2] → a.b → a → "".
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		return path[:strings.LastIndexByte(path, '[')]
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}
