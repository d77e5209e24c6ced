package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// position is a place in the document, 1-based.
type position struct {
	Line, Col int
}

// keyIndex maps full dotted key paths ("listen.c2s[0].port") to the place
// where the key is first written. go-toml's decoder knows positions only while
// decoding; semantic validation happens afterwards, so this small pass over
// the AST records them for every key, table header and array element.
type keyIndex struct {
	pos    map[string]position
	byLine map[int][]string  // paths whose key starts on a line, for reverse lookups
	lines  []int             // byte offset of the start of each line
	arrays map[string]int    // array-of-tables path -> number of elements so far
	raw    map[string]string // scalar values as written, for messages
	data   []byte
	// headers are the table headers in document order, with whether each
	// was written [[array]] (true) or [table].
	headers []header
}

// header is one [table] or [[array]] header of the document.
type header struct {
	path  string // indexed path of the table
	array bool
}

// indexKeys parses data and records the positions of all keys. Parse errors
// are ignored here: the decoder reports them with better context, and the
// index then simply lacks the keys after the error.
func indexKeys(data []byte) *keyIndex {
	ix := &keyIndex{
		pos:    map[string]position{},
		byLine: map[int][]string{},
		arrays: map[string]int{},
		raw:    map[string]string{},
		data:   data,
		lines:  []int{0},
	}
	for i, c := range data {
		if c == '\n' {
			ix.lines = append(ix.lines, i+1)
		}
	}
	var p unstable.Parser
	p.Reset(data)
	table := ""
	for p.NextExpression() {
		expr := p.Expression()
		switch expr.Kind {
		case unstable.Table:
			table = ix.header(expr, false)
			ix.headers = append(ix.headers, header{table, false})
		case unstable.ArrayTable:
			table = ix.header(expr, true)
			ix.headers = append(ix.headers, header{stripTrailingIndex(table), true})
		case unstable.KeyValue:
			ix.keyValue(table, expr)
		}
	}
	return ix
}

// offsetPos converts a byte offset into a line and column.
func (ix *keyIndex) offsetPos(off int) position {
	line := sort.Search(len(ix.lines), func(i int) bool { return ix.lines[i] > off })
	return position{Line: line, Col: off - ix.lines[line-1] + 1}
}

func (ix *keyIndex) record(path string, r unstable.Range) {
	if _, ok := ix.pos[path]; ok {
		return
	}
	p := ix.offsetPos(int(r.Offset))
	ix.pos[path] = p
	ix.byLine[p.Line] = append(ix.byLine[p.Line], path)
}

// header handles [a.b] and [[a.b]] and returns the indexed path of the table.
func (ix *keyIndex) header(expr *unstable.Node, array bool) string {
	path := ""
	it := expr.Key()
	for it.Next() {
		n := it.Node()
		path = joinKey(path, string(n.Data))
		if array && it.IsLast() {
			i := ix.arrays[path]
			ix.arrays[path] = i + 1
			ix.record(path, n.Raw)
			path = fmt.Sprintf("%s[%d]", path, i)
		} else if i, ok := ix.arrays[path]; ok {
			path = fmt.Sprintf("%s[%d]", path, i-1)
		}
		ix.record(path, n.Raw)
	}
	return path
}

// keyValue records a = v, a.b.c = v, and everything inside inline values.
func (ix *keyIndex) keyValue(table string, expr *unstable.Node) {
	path := table
	it := expr.Key()
	for it.Next() {
		n := it.Node()
		path = joinKey(path, string(n.Data))
		ix.record(path, n.Raw)
	}
	ix.value(path, expr.Value())
}

func (ix *keyIndex) value(path string, v *unstable.Node) {
	switch v.Kind {
	case unstable.String, unstable.Integer, unstable.Float, unstable.Bool:
		if _, ok := ix.raw[path]; !ok && v.Raw.Length > 0 && v.Raw.Length < 80 {
			ix.raw[path] = string(ix.data[v.Raw.Offset : v.Raw.Offset+v.Raw.Length])
		}
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				ix.keyValue(path, c)
			}
		}
	case unstable.Array:
		i := 0
		it := v.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			elem := fmt.Sprintf("%s[%d]", path, i)
			if c.Raw.Length > 0 {
				ix.record(elem, c.Raw)
			}
			ix.value(elem, c)
			i++
		}
	}
}

// lookup returns the position of path, or of its closest recorded ancestor
// (a missing required key is reported at its table's header).
func (ix *keyIndex) lookup(path string) position {
	for path != "" {
		if p, ok := ix.pos[path]; ok {
			return p
		}
		path = parentKey(path)
	}
	return position{}
}

// written returns the scalar value written at path, without the quotes of
// a string ("" for tables, arrays and absent keys).
func (ix *keyIndex) written(path string) string {
	v := ix.raw[path]
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
	}
	return v
}

// has reports whether the document sets path explicitly.
func (ix *keyIndex) has(path string) bool {
	_, ok := ix.pos[path]
	return ok
}

// find maps a decoder error position back to an indexed key path. The
// decoder's own key lacks array indexes, so candidates recorded on the same
// line are compared with the indexes stripped; failing that (the decoder's key
// is imprecise inside inline tables), the rightmost key starting at or before
// the column wins.
func (ix *keyIndex) find(p position, plain string) string {
	best, bestCol := "", 0
	for _, path := range ix.byLine[p.Line] {
		if plain != "" && stripIndexes(path) == plain {
			return path
		}
		if c := ix.pos[path].Col; c <= p.Col && c >= bestCol {
			best, bestCol = path, c
		}
	}
	if best != "" {
		return best
	}
	return plain
}

// joinKey appends a key part, quoting it when it is not a bare TOML key.
func joinKey(path, part string) string {
	if !isBareKey(part) {
		part = fmt.Sprintf("%q", part)
	}
	if path == "" {
		return part
	}
	return path + "." + part
}

func isBareKey(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// parentKey strips the last part (or index) of a path. Quoted parts with dots
// are rare enough in configuration keys that a plain scan is acceptable: at
// worst the fallback position is a less precise ancestor.
func parentKey(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// stripIndexes removes "[n]" parts: "listen.c2s[0].port" -> "listen.c2s.port".
func stripIndexes(path string) string {
	var b strings.Builder
	depth := 0
	for _, c := range path {
		switch {
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(c)
		}
	}
	return b.String()
}
