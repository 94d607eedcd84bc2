package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// maxAliasDepth bounds alias resolution while indexing (aliases of aliases).
const maxAliasDepth = 32

// document indexes a parsed YAML document by field path, such as
// services[1].stages[0].checks.error_delta.margin_pp, so that problems found
// after decoding point at the line they come from.
type document struct {
	nodes map[string]docNode
	order []string // paths in document order
}

// docNode is one indexed value. key is nil for list items.
type docNode struct {
	key   *token.Token
	value ast.Node
}

func newDocument(body ast.Node) *document {
	d := &document{nodes: map[string]docNode{}}
	if body != nil {
		d.walk("", nil, body, map[string]ast.Node{}, 0)
	}
	return d
}

// walk records node at path and descends into it. A path recorded before
// is replaced with everything under it: go-yaml decodes mapping keys in
// order, the last one winning, and merged keys (<<) are no exception.
func (d *document) walk(path string, key *token.Token, node ast.Node, anchors map[string]ast.Node, depth int) {
	if path != "" {
		d.forget(path)
		d.nodes[path] = docNode{key: key, value: node}
		d.order = append(d.order, path)
	}
	d.walkChildren(path, node, anchors, depth)
}

// forget drops path and every path under it.
func (d *document) forget(path string) {
	if _, ok := d.nodes[path]; !ok {
		return
	}
	d.order = slices.DeleteFunc(d.order, func(p string) bool {
		if p == path || strings.HasPrefix(p, path+".") || strings.HasPrefix(p, path+"[") {
			delete(d.nodes, p)
			return true
		}
		return false
	})
}

func (d *document) walkChildren(path string, node ast.Node, anchors map[string]ast.Node, depth int) {
	switch n := node.(type) {
	case *ast.AnchorNode:
		anchors[n.Name.GetToken().Value] = n.Value
		d.walkChildren(path, n.Value, anchors, depth)
	case *ast.TagNode:
		d.walkChildren(path, n.Value, anchors, depth)
	case *ast.AliasNode:
		if target, ok := anchors[n.Value.GetToken().Value]; ok && depth < maxAliasDepth {
			d.walkChildren(path, target, anchors, depth+1)
		}
	case *ast.MappingNode:
		d.walkMapping(path, n.Values, anchors, depth)
	case *ast.MappingValueNode:
		d.walkMapping(path, []*ast.MappingValueNode{n}, anchors, depth)
	case *ast.SequenceNode:
		for i, v := range n.Values {
			d.walk(fmt.Sprintf("%s[%d]", path, i), nil, v, anchors, depth)
		}
	}
}

func (d *document) walkMapping(path string, values []*ast.MappingValueNode, anchors map[string]ast.Node, depth int) {
	for _, mv := range values {
		if _, ok := mv.Key.(*ast.MergeKeyNode); !ok {
			d.walk(joinPath(path, mv.Key.GetToken().Value), mv.Key.GetToken(), mv.Value, anchors, depth)
			continue
		}
		if s, ok := mv.Value.(*ast.SequenceNode); ok {
			for _, v := range s.Values {
				d.walkChildren(path, v, anchors, depth)
			}
			continue
		}
		d.walkChildren(path, mv.Value, anchors, depth)
	}
}

// set reports whether path is written in the file with a value other than null.
func (d *document) set(path string) bool {
	n, ok := d.nodes[path]
	return ok && !isNull(n.value)
}

// null reports whether path is written in the file with an empty (null) value.
func (d *document) null(path string) bool {
	n, ok := d.nodes[path]
	return ok && isNull(n.value)
}

// position is where path is written: its key, or the start of a list item.
// A path not in the file is placed at its closest written parent; one
// with no written parent at all gets line 0.
func (d *document) position(path string) (line, column int) {
	for p := path; p != ""; p = parentPath(p) {
		n, ok := d.nodes[p]
		if !ok {
			continue
		}
		tk := n.key
		if tk == nil {
			tk = startToken(n.value)
		}
		return tk.Position.Line, tk.Position.Column
	}
	return 0, 0
}

// pathAt returns the path of the key or value written at line:column, the
// first in document order, or "" if none is there.
func (d *document) pathAt(line, column int) string {
	at := func(tk *token.Token) bool {
		return tk != nil && tk.Position.Line == line && tk.Position.Column == column
	}
	for _, p := range d.order {
		if at(d.nodes[p].key) {
			return p
		}
	}
	for _, p := range d.order {
		n := d.nodes[p]
		if at(n.value.GetToken()) || at(startToken(n.value)) {
			return p
		}
	}
	return ""
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

func isNull(node ast.Node) bool {
	for {
		switch n := node.(type) {
		case *ast.AnchorNode:
			node = n.Value
		case *ast.TagNode:
			node = n.Value
		default:
			return node == nil || node.Type() == ast.NullType
		}
	}
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
