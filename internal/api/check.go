package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/gander-xmpp/gander/internal/jid"
)

// mapParseErrors gives syntax errors the reference's codes and messages
// (spec/server.md §2.7); validation errors keep the library's.
func mapParseErrors(errs gqlerror.List) []*gqlerror.Error {
	out := make([]*gqlerror.Error, 0, len(errs))
	for _, e := range errs {
		code, _ := e.Extensions["code"].(string)
		if code != "GRAPHQL_PARSE_FAILED" {
			e.Locations = nil
			out = append(out, e)
			continue
		}
		line := 0
		if len(e.Locations) > 0 {
			line = e.Locations[0].Line
		}
		kind, verb := "parser_error", "parse"
		if scanError(e.Message) {
			kind, verb = "scanner_error", "scan"
		}
		out = append(out, &gqlerror.Error{
			Message:    fmt.Sprintf("Cannot %s line %d because of %s", verb, line, e.Message),
			Extensions: map[string]any{"code": kind},
		})
	}
	return out
}

// mapErrors maps the errors of CreateOperationContext: syntax errors as
// mapParseErrors does, and gqlgen's complexity limit as the other limits
// (limit_exceeded, docs/security.md).
func (h *Handler) mapErrors(op *graphql.OperationContext, errs gqlerror.List) []*gqlerror.Error {
	out := mapParseErrors(errs)
	for i, e := range out {
		if code, _ := e.Extensions["code"].(string); code != "COMPLEXITY_LIMIT_EXCEEDED" {
			continue
		}
		actual := 0
		if op != nil {
			if st, ok := op.Stats.GetExtension("ComplexityLimit").(*extension.ComplexityStats); ok {
				actual = st.Complexity
			}
		}
		out[i] = errLimit("max_complexity", h.limits.MaxComplexity, actual).gql()
	}
	return out
}

// scanError tells lexer errors (bad characters, unterminated strings)
// from grammar errors.
func scanError(msg string) bool {
	for _, p := range []string{"Unexpected character", "Cannot parse the unexpected character", "Unterminated", "Invalid character", "Invalid number", "Unexpected <Invalid>"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// check coerces every argument of the operation (400 input_coercion) and
// then applies the protection rules of spec/server.md §2.4 (401
// no_permissions), before anything executes.
func (h *Handler) check(op *graphql.OperationContext, who caller) *httpError {
	w := &walker{schema: h.es.Schema(), op: op}
	if err := w.walk(op.Operation.SelectionSet, func(f *ast.Field, args map[string]any) *httpError { return nil }); err != nil {
		return err
	}
	w.done = nil
	return w.walk(op.Operation.SelectionSet, func(f *ast.Field, args map[string]any) *httpError {
		return h.permitted(w, f, args, who)
	})
}

type walker struct {
	schema *ast.Schema
	op     *graphql.OperationContext
	seen   map[string]bool // fragments being walked (cycles are invalid anyway)
	// done are the fragments walked without error: the arguments and the
	// caller are the same at every spread, so walking one again can only
	// give the same answer (a fragment spread twice per level, n levels
	// deep, would otherwise cost 2^n).
	done map[string]bool
}

func (w *walker) opName() string {
	if w.op.Operation.Name != "" {
		return w.op.Operation.Name
	}
	return "ROOT"
}

// walk visits every field of set, depth first, with its coerced
// arguments.
func (w *walker) walk(set ast.SelectionSet, visit func(*ast.Field, map[string]any) *httpError) *httpError {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Definition == nil {
				continue
			}
			args, err := w.coerceArgs(s)
			if err != nil {
				return err
			}
			if err := visit(s, args); err != nil {
				return err
			}
			if err := w.walk(s.SelectionSet, visit); err != nil {
				return err
			}
		case *ast.InlineFragment:
			if err := w.walk(s.SelectionSet, visit); err != nil {
				return err
			}
		case *ast.FragmentSpread:
			if s.Definition == nil || w.seen[s.Name] || w.done[s.Name] {
				continue
			}
			if w.seen == nil {
				w.seen = map[string]bool{}
			}
			if w.done == nil {
				w.done = map[string]bool{}
			}
			w.seen[s.Name] = true
			err := w.walk(s.Definition.SelectionSet, visit)
			delete(w.seen, s.Name)
			if err != nil {
				return err
			}
			w.done[s.Name] = true
		}
	}
	return nil
}

func (w *walker) coerceArgs(f *ast.Field) (map[string]any, *httpError) {
	raw := f.ArgumentMap(w.op.Variables)
	out := make(map[string]any, len(raw))
	for _, def := range f.Definition.Arguments {
		v, ok := raw[def.Name]
		if !ok || v == nil {
			continue
		}
		c, err := w.coerce(def.Type, v)
		if err != nil {
			return nil, err
		}
		out[def.Name] = c
	}
	return out, nil
}

func (w *walker) coerce(t *ast.Type, v any) (any, *httpError) {
	if v == nil {
		return nil, nil
	}
	if t.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			list = []any{v}
		}
		out := make([]any, len(list))
		for i, x := range list {
			c, err := w.coerce(t.Elem, x)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	def := w.schema.Types[t.NamedType]
	if def != nil && def.Kind == ast.InputObject {
		m, ok := v.(map[string]any)
		if !ok {
			return v, nil
		}
		out := make(map[string]any, len(m))
		for _, fd := range def.Fields {
			if x, ok := m[fd.Name]; ok {
				c, err := w.coerce(fd.Type, x)
				if err != nil {
					return nil, err
				}
				out[fd.Name] = c
			}
		}
		return out, nil
	}
	val, _, err := parseScalar(t.NamedType, v)
	if err != nil {
		var ce *coercionError
		r := err.Error()
		if errors.As(err, &ce) {
			r = ce.Reason
		}
		return nil, requestErr(http.StatusBadRequest, "input_coercion",
			fmt.Sprintf("Input coercion failed for type %s with value %s. The reason it failed is: %s", t.NamedType, renderValue(v), r))
	}
	return val, nil
}

// protection returns the @protected directive that applies to f: the
// field's own, else its type's.
func (w *walker) protection(f *ast.Field) *ast.Directive {
	if d := f.Definition.Directives.ForName("protected"); d != nil {
		return d
	}
	if td := w.schema.Types[f.Definition.Type.Name()]; td != nil {
		return td.Directives.ForName("protected")
	}
	return nil
}

func (h *Handler) permitted(w *walker, f *ast.Field, args map[string]any, who caller) *httpError {
	d := w.protection(f)
	if d == nil {
		return nil
	}
	if who.kind == "" {
		return requestErr(http.StatusUnauthorized, "no_permissions",
			fmt.Sprintf("Cannot execute query %s without permissions", w.opName()))
	}
	// A domain admin is restricted only by a field's own DOMAIN or GLOBAL
	// rule; the category's plain @protected admits every admin.
	d = f.Definition.Directives.ForName("protected")
	if who.kind != EndpointDomainAdmin || d == nil {
		return nil
	}
	typ, names := directiveArgs(d)
	switch typ {
	case "GLOBAL":
		return requestErr(http.StatusUnauthorized, "no_permissions",
			fmt.Sprintf("Cannot execute query %s without a global admin permissions", w.opName()))
	case "DOMAIN":
		var bad []string
		for _, n := range names {
			if !inDomain(args[n], who.domain) && !h.inSubdomain(args[n], who.domain) {
				bad = append(bad, n)
			}
		}
		if len(bad) > 0 {
			return requestErr(http.StatusUnauthorized, "no_permissions",
				fmt.Sprintf("Cannot execute query %s without permissions to the given domain. Args with invalid value: %s", w.opName(), strings.Join(bad, ", ")))
		}
	}
	return nil
}

// directiveArgs reads @protected(type:, args:).
func directiveArgs(d *ast.Directive) (typ string, args []string) {
	typ = "DEFAULT"
	for _, a := range d.Arguments {
		switch a.Name {
		case "type":
			typ = a.Value.Raw
		case "args":
			for _, c := range a.Value.Children {
				args = append(args, c.Value.Raw)
			}
		}
	}
	return typ, args
}

// inDomain reports whether a coerced argument (a domain name, a JID, or a
// list of them) belongs to domain; null is never in a domain.
func inDomain(v any, domain string) bool {
	switch x := v.(type) {
	case string:
		return x == domain
	case jid.JID:
		return x.Domain() == domain
	case []any:
		if len(x) == 0 {
			return false
		}
		for _, e := range x {
			if !inDomain(e, domain) {
				return false
			}
		}
		return true
	}
	return false
}

// inSubdomain reports whether a coerced argument (a domain name or a JID)
// belongs to a subdomain of domain (e.g. its MUC Light domain).
func (h *Handler) inSubdomain(v any, domain string) bool {
	if h.deps.Subdomain == nil {
		return false
	}
	switch x := v.(type) {
	case string:
		return h.deps.Subdomain(x) == domain
	case jid.JID:
		return h.deps.Subdomain(x.Domain()) == domain
	}
	return false
}
