package api

import (
	"context"
	"fmt"
	"math"
	"net/http"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/lexer"
	"github.com/vektah/gqlparser/v2/parser"
)

// Limits bound the size of a GraphQL document before it is validated or
// executed (docs/security.md, "GraphQL limits"). Every request is measured
// against them, authenticated or not, so a document can cost the server
// little more than reading it. A zero field takes its default.
type Limits struct {
	// MaxRequestSize caps the request body (POST) or query string (GET)
	// in bytes; a larger one is refused before it is read.
	MaxRequestSize int
	// MaxTokens caps the lexical tokens of the document (parsing stops
	// there).
	MaxTokens int
	// MaxDepth caps the nesting of fields, fragments expanded.
	MaxDepth int
	// MaxFields caps the fields of an operation with its fragments
	// expanded; each use of a fragment also counts as one.
	MaxFields int
	// MaxAliases caps the aliased fields, fragments expanded.
	MaxAliases int
	// MaxComplexity caps gqlgen's complexity of the operation (one per
	// field plus its children's, introspection excluded).
	MaxComplexity int
}

// DefaultLimits are the limits of an endpoint that configures none; the
// standard introspection query of GraphiQL and every ctl command stay far
// below them.
var DefaultLimits = Limits{MaxRequestSize: 128 << 10, MaxTokens: 2000, MaxDepth: 20, MaxFields: 1000, MaxAliases: 100, MaxComplexity: 1000}

// withDefaults fills the zero fields of l from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxRequestSize > 0 {
		d.MaxRequestSize = l.MaxRequestSize
	}
	if l.MaxTokens > 0 {
		d.MaxTokens = l.MaxTokens
	}
	if l.MaxDepth > 0 {
		d.MaxDepth = l.MaxDepth
	}
	if l.MaxFields > 0 {
		d.MaxFields = l.MaxFields
	}
	if l.MaxAliases > 0 {
		d.MaxAliases = l.MaxAliases
	}
	if l.MaxComplexity > 0 {
		d.MaxComplexity = l.MaxComplexity
	}
	return d
}

// docShape is what the limits and the introspection rule need to know of
// a document; it is kept per query text, next to gqlgen's cache of parsed
// and validated documents.
type docShape struct {
	// introspection: the document selects __schema or __type.
	introspection bool
}

// errLimit is the request error of a document over a limit: HTTP 400,
// extensions.code "limit_exceeded", the configuration key in the message
// and in extensions.limit.
func errLimit(key string, max, actual int) *httpError {
	msg := fmt.Sprintf("The query exceeds the limit %s = %d", key, max)
	if actual > 0 {
		msg = fmt.Sprintf("The query exceeds the limit %s = %d (it has %s)", key, max, countText(actual))
	}
	e := requestErr(http.StatusBadRequest, "limit_exceeded", msg)
	e.Ext = map[string]any{"limit": key, "max": max}
	return e
}

func countText(n int) string {
	if n >= math.MaxInt32 {
		return "more than 2147483647"
	}
	return fmt.Sprint(n)
}

// shape parses query (at most MaxTokens tokens) and measures every
// operation against the limits, expanding each fragment once (its measure
// is memoised, so a document of fragments that spread each other twice,
// F1 { ...F0 ...F0 } ... F24, costs its length, not 2^24). A document that
// does not parse is let through with ok = false: the executor reports the
// syntax error in the spec's words.
func (h *Handler) shape(ctx context.Context, query string) (s docShape, ok bool, herr *httpError) {
	if s, ok := h.shapes.Get(ctx, query); ok {
		return s, true, nil
	}
	src := &ast.Source{Input: query}
	if herr := h.prescan(src); herr != nil {
		return s, false, herr
	}
	doc, err := parser.ParseQuery(src)
	if err != nil {
		return s, false, nil
	}
	m := measurer{frags: map[string]*measure{}, doc: doc}
	for _, op := range doc.Operations {
		x := m.set(op.SelectionSet)
		switch {
		case x.depth > h.limits.MaxDepth:
			return s, false, errLimit("max_depth", h.limits.MaxDepth, x.depth)
		case x.fields > h.limits.MaxFields:
			return s, false, errLimit("max_fields", h.limits.MaxFields, x.fields)
		case x.aliases > h.limits.MaxAliases:
			return s, false, errLimit("max_aliases", h.limits.MaxAliases, x.aliases)
		case x.schemas > 1:
			// One introspection answer is some kilobytes; aliases would
			// multiply it.
			e := requestErr(http.StatusBadRequest, "limit_exceeded", "The query selects __schema more than once")
			e.Ext = map[string]any{"limit": "__schema", "max": 1}
			return s, false, e
		}
		s.introspection = s.introspection || x.introspection
	}
	h.shapes.Add(ctx, query, s)
	return s, true, nil
}

// prescan reads the tokens of a document, which costs a fraction of
// parsing it, and refuses it when it has too many tokens, or when one of
// its definitions (an operation or a fragment) on its own, fragments not
// yet expanded, has too many fields or aliases or nests its fields too
// deep. Those counts can only grow when fragments are expanded, so what
// prescan refuses, shape would refuse too; a flat or deep hostile
// document never reaches the parser.
func (h *Handler) prescan(src *ast.Source) *httpError {
	var (
		lx                       = lexer.New(src)
		braces                   []bool // open selection sets: true if a field's
		depth, fields, aliases   int    // of the current definition
		parens                   int
		spread, typeCond, direct bool // the next name follows "...", "on", "@"
		inline                   bool // the next "{" opens an inline fragment
	)
	for n := 0; ; n++ {
		tok, err := lx.ReadToken()
		if err != nil || tok.Kind == lexer.EOF {
			return nil
		}
		if n == h.limits.MaxTokens {
			return errLimit("max_tokens", h.limits.MaxTokens, 0)
		}
		if parens > 0 {
			// Arguments, variables and their values: no selections.
			switch tok.Kind {
			case lexer.ParenL:
				parens++
			case lexer.ParenR:
				parens--
			}
			continue
		}
		if len(braces) == 0 {
			// Between definitions: a new one starts.
			fields, aliases = 0, 0
			if tok.Kind == lexer.BraceL {
				braces = append(braces, false)
			} else if tok.Kind == lexer.ParenL {
				parens++
			}
			continue
		}
		switch tok.Kind {
		case lexer.ParenL:
			parens++
		case lexer.BraceL:
			field := !inline
			braces = append(braces, field)
			if field {
				depth++
				if depth > h.limits.MaxDepth {
					return errLimit("max_depth", h.limits.MaxDepth, depth)
				}
			}
			inline = false
		case lexer.BraceR:
			if braces[len(braces)-1] {
				depth--
			}
			braces = braces[:len(braces)-1]
		case lexer.Spread:
			spread, inline = true, true
			fields++
		case lexer.At:
			direct = true
		case lexer.Colon:
			// The name before was an alias; the field's name follows.
			aliases++
			fields--
			if aliases > h.limits.MaxAliases {
				return errLimit("max_aliases", h.limits.MaxAliases, aliases)
			}
		case lexer.Name:
			switch {
			case direct:
				direct = false
			case typeCond:
				typeCond = false
			case spread && tok.Value == "on":
				spread, typeCond = false, true
			case spread:
				spread, inline = false, false // a named fragment
			default:
				inline = false
				fields++
				if fields > h.limits.MaxFields {
					return errLimit("max_fields", h.limits.MaxFields, fields)
				}
			}
		}
	}
}

// measure is the size of a selection set with its fragments expanded.
// Counts saturate at math.MaxInt32.
type measure struct {
	fields, aliases, depth, schemas int
	introspection                   bool
}

type measurer struct {
	doc   *ast.QueryDocument
	frags map[string]*measure // done, or in progress (a cycle counts nothing; validation rejects it)
}

func sat(a, b int) int { return min(a+b, math.MaxInt32) }

func (m *measurer) set(set ast.SelectionSet) measure {
	var out measure
	add := func(x measure, depth int) {
		out.fields = sat(out.fields, x.fields)
		out.aliases = sat(out.aliases, x.aliases)
		out.schemas = sat(out.schemas, x.schemas)
		out.depth = max(out.depth, depth)
		out.introspection = out.introspection || x.introspection
	}
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			x := m.set(s.SelectionSet)
			x.fields = sat(x.fields, 1)
			if s.Alias != "" && s.Alias != s.Name {
				x.aliases = sat(x.aliases, 1)
			}
			switch s.Name {
			case "__schema":
				x.schemas = sat(x.schemas, 1)
				x.introspection = true
			case "__type":
				x.introspection = true
			}
			add(x, x.depth+1)
		case *ast.InlineFragment:
			x := m.set(s.SelectionSet)
			x.fields = sat(x.fields, 1)
			add(x, x.depth)
		case *ast.FragmentSpread:
			x := m.fragment(s.Name)
			x.fields = sat(x.fields, 1)
			add(x, x.depth)
		}
	}
	return out
}

func (m *measurer) fragment(name string) measure {
	if x, ok := m.frags[name]; ok {
		return *x
	}
	m.frags[name] = &measure{} // in progress
	def := m.doc.Fragments.ForName(name)
	if def == nil {
		return measure{}
	}
	x := m.set(def.SelectionSet)
	m.frags[name] = &x
	return x
}
