package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gander-xmpp/gander/internal/api"
	"github.com/gander-xmpp/gander/internal/config"
)

const ctlUsage = `Usage: gander ctl [options] CATEGORY COMMAND [--ARG VALUE ...]

A command-line client of the admin GraphQL API, in the style of
mongooseimctl. Categories and commands come from the admin schema; the
result is the API's JSON response.

  gander ctl --help                   this text and the categories
  gander ctl CATEGORY --help          the commands of a category
  gander ctl CATEGORY COMMAND --help  the arguments of a command

Options (before CATEGORY):
`

// ctl runs `gander ctl`.
func ctl(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	fs.StringVar(&c.config, "config", "", "configuration `file` whose admin GraphQL endpoint (schema_endpoint = \"admin\") to use (default: the built-in configuration)")
	url := fs.String("url", os.Getenv("GANDER_CTL_URL"), "admin endpoint `URL`, e.g. http://127.0.0.1:5551/api/graphql (default: from the configuration; env GANDER_CTL_URL)")
	user := fs.String("user", "", "HTTP Basic `username` (default: from the configuration)")
	pass := fs.String("password", "", "HTTP Basic `password` (default: from the configuration)")
	timeout := fs.Duration("timeout", 30*time.Second, "request `timeout`")
	schema, err := gqlparser.LoadSchema(api.SchemaSources()...)
	if err != nil {
		fmt.Fprintf(stderr, "gander ctl: schema: %v\n", err)
		return 1
	}
	fs.Usage = func() {
		fmt.Fprint(stderr, ctlUsage)
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "\nCategories:")
		for _, cat := range categories(schema) {
			fmt.Fprintf(stderr, "  %-12s %s\n", cat.Name, oneLine(cat.Description))
		}
	}
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return 2
	}
	cat := findCategory(schema, rest[0])
	if cat == nil {
		fmt.Fprintf(stderr, "gander ctl: unknown category %q\n", rest[0])
		fs.Usage()
		return 2
	}
	if len(rest) == 1 || isHelp(rest[1]) {
		fmt.Fprintf(stdout, "Usage: gander ctl %s COMMAND [--ARG VALUE ...]\n\n%s\n\nCommands:\n", cat.Name, oneLine(cat.Description))
		for _, cmd := range cat.commands {
			fmt.Fprintf(stdout, "  %-24s %s\n", cmd.field.Name, oneLine(cmd.field.Description))
		}
		if len(rest) == 1 {
			return 2
		}
		return 0
	}
	cmd := cat.command(rest[1])
	if cmd == nil {
		fmt.Fprintf(stderr, "gander ctl: unknown command %q in category %s (see gander ctl %s --help)\n", rest[1], cat.Name, cat.Name)
		return 2
	}
	args, watch, err := cutWatch(cat.Name, cmd.field.Name, rest[2:])
	vars, help := map[string]any(nil), false
	if err == nil {
		vars, help, err = cmd.parseArgs(schema, args)
	}
	if help {
		cmd.usage(stdout, cat.Name)
		watchUsage(stdout, cat.Name, cmd.field.Name)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "gander ctl %s %s: %v\n", cat.Name, cmd.field.Name, err)
		cmd.usage(stderr, cat.Name)
		return 2
	}
	ep, err := endpoint(c, *url, *user, *pass)
	if err != nil {
		fmt.Fprintf(stderr, "gander ctl: %v\n", err)
		return 1
	}
	if watch.on {
		return watchBroadcast(ep, cmd.document(schema, cat.Name), vars, watch, *timeout, stdout, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	body, status, err := ep.do(ctx, cmd.document(schema, cat.Name), vars)
	if err != nil {
		fmt.Fprintf(stderr, "gander ctl: %v\n", err)
		return 1
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, body, "", "  ") != nil {
		pretty.Reset()
		pretty.Write(body)
	}
	fmt.Fprintln(stdout, strings.TrimSpace(pretty.String()))
	var resp struct {
		Errors []json.RawMessage `json:"errors"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &resp) != nil || len(resp.Errors) > 0 {
		return 1
	}
	return 0
}

func isHelp(s string) bool { return s == "--help" || s == "-help" || s == "-h" || s == "help" }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// category is a field of the root types: its commands are the fields of
// the category objects of the query and the mutation types.
type category struct {
	Name        string
	Description string
	commands    []*command
}

type command struct {
	op     string // "query" or "mutation"
	field  *ast.FieldDefinition
	schema *ast.Schema
}

func (c *category) command(name string) *command {
	for _, cmd := range c.commands {
		if cmd.field.Name == name {
			return cmd
		}
	}
	return nil
}

func categories(s *ast.Schema) []*category {
	byName := map[string]*category{}
	add := func(root *ast.Definition, op string) {
		if root == nil {
			return
		}
		for _, f := range root.Fields {
			t := s.Types[f.Type.Name()]
			if t == nil || t.Kind != ast.Object || len(f.Arguments) > 0 || f.Name == "checkAuth" || strings.HasPrefix(f.Name, "__") {
				continue
			}
			c := byName[f.Name]
			if c == nil {
				c = &category{Name: f.Name, Description: f.Description}
				byName[f.Name] = c
			}
			for _, cf := range t.Fields {
				if !strings.HasPrefix(cf.Name, "__") && c.command(cf.Name) == nil {
					c.commands = append(c.commands, &command{op: op, field: cf, schema: s})
				}
			}
		}
	}
	add(s.Query, "query")
	add(s.Mutation, "mutation")
	out := make([]*category, 0, len(byName))
	for _, c := range byName {
		sort.Slice(c.commands, func(i, j int) bool { return c.commands[i].field.Name < c.commands[j].field.Name })
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func findCategory(s *ast.Schema, name string) *category {
	for _, c := range categories(s) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (c *command) usage(w io.Writer, cat string) {
	fmt.Fprintf(w, "Usage: gander ctl %s %s", cat, c.field.Name)
	for _, a := range c.field.Arguments {
		if a.Type.NonNull && a.DefaultValue == nil {
			fmt.Fprintf(w, " --%s VALUE", a.Name)
		}
	}
	fmt.Fprintf(w, "\n\n%s\n", oneLine(c.field.Description))
	if len(c.field.Arguments) > 0 {
		fmt.Fprintln(w, "\nArguments:")
	}
	for _, a := range c.field.Arguments {
		req := "optional"
		if a.Type.NonNull && a.DefaultValue == nil {
			req = "required"
		}
		fmt.Fprintf(w, "  --%-20s %s (%s)", a.Name, a.Type.String(), req)
		if vals := enumValues(c.schema, a.Type); vals != nil {
			fmt.Fprintf(w, ": one of %s", strings.Join(vals, ", "))
		}
		fmt.Fprintln(w)
	}
}

// enumValues returns the values of an enum type (or of the elements of a
// list of one), or nil.
func enumValues(s *ast.Schema, t *ast.Type) []string {
	for t.Elem != nil {
		t = t.Elem
	}
	def := s.Types[t.NamedType]
	if def == nil || def.Kind != ast.Enum {
		return nil
	}
	vals := make([]string, 0, len(def.EnumValues))
	for _, v := range def.EnumValues {
		vals = append(vals, v.Name)
	}
	return vals
}

// parseArgs turns --name value pairs into GraphQL variables typed after
// the arguments; lists and input objects are given as JSON.
func (c *command) parseArgs(s *ast.Schema, args []string) (map[string]any, bool, error) {
	vars := map[string]any{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if isHelp(a) {
			return nil, true, nil
		}
		if !strings.HasPrefix(a, "-") {
			return nil, false, fmt.Errorf("unexpected argument %q", a)
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		def := c.field.Arguments.ForName(name)
		if def == nil {
			return nil, false, fmt.Errorf("unknown argument --%s", name)
		}
		if !hasVal {
			if i+1 >= len(args) {
				return nil, false, fmt.Errorf("--%s needs a value", name)
			}
			i++
			val = args[i]
		}
		v, err := convert(s, def.Type, val)
		if err != nil {
			return nil, false, fmt.Errorf("--%s: %v", name, err)
		}
		vars[name] = v
	}
	var missing []string
	for _, a := range c.field.Arguments {
		if _, ok := vars[a.Name]; !ok && a.Type.NonNull && a.DefaultValue == nil {
			missing = append(missing, "--"+a.Name)
		}
	}
	if len(missing) > 0 {
		return nil, false, fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	return vars, false, nil
}

func convert(s *ast.Schema, t *ast.Type, val string) (any, error) {
	if t.Elem != nil || s.Types[t.NamedType] != nil && s.Types[t.NamedType].Kind == ast.InputObject {
		var v any
		if err := json.Unmarshal([]byte(val), &v); err != nil {
			if t.Elem != nil {
				// A single value stands for a one-element list.
				e, err := convert(s, t.Elem, val)
				return []any{e}, err
			}
			return nil, fmt.Errorf("expected JSON for %s", t.String())
		}
		return v, nil
	}
	if vals := enumValues(s, t); vals != nil {
		if !slices.Contains(vals, val) {
			return nil, fmt.Errorf("expected one of %s, got %q", strings.Join(vals, ", "), val)
		}
		return val, nil
	}
	switch t.NamedType {
	case "Int", "PosInt", "NonNegInt":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("expected an integer, got %q", val)
		}
		return n, nil
	case "Float":
		f, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return nil, fmt.Errorf("expected a number, got %q", val)
		}
		return f, nil
	case "Boolean":
		b, err := strconv.ParseBool(val)
		if err != nil {
			return nil, fmt.Errorf("expected true or false, got %q", val)
		}
		return b, nil
	}
	return val, nil
}

// document builds the operation: every argument is a variable, and every
// field of the result without required arguments is selected.
func (c *command) document(s *ast.Schema, cat string) string {
	var b strings.Builder
	b.WriteString(c.op)
	if len(c.field.Arguments) > 0 {
		b.WriteString("(")
		for i, a := range c.field.Arguments {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%s: %s", a.Name, a.Type.String())
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, " { %s { %s", cat, c.field.Name)
	if len(c.field.Arguments) > 0 {
		b.WriteString("(")
		for i, a := range c.field.Arguments {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s: $%s", a.Name, a.Name)
		}
		b.WriteString(")")
	}
	b.WriteString(selection(s, c.field.Type.Name(), 0))
	b.WriteString(" } }")
	return b.String()
}

func selection(s *ast.Schema, typ string, depth int) string {
	t := s.Types[typ]
	if t == nil || (t.Kind != ast.Object && t.Kind != ast.Interface) {
		return ""
	}
	var fields []string
	for _, f := range t.Fields {
		if strings.HasPrefix(f.Name, "__") || hasRequiredArgs(f) {
			continue
		}
		ft := s.Types[f.Type.Name()]
		if ft != nil && (ft.Kind == ast.Object || ft.Kind == ast.Interface) {
			if depth >= 3 {
				continue
			}
			fields = append(fields, f.Name+selection(s, f.Type.Name(), depth+1))
			continue
		}
		fields = append(fields, f.Name)
	}
	if len(fields) == 0 {
		return " { __typename }"
	}
	return " { " + strings.Join(fields, " ") + " }"
}

func hasRequiredArgs(f *ast.FieldDefinition) bool {
	for _, a := range f.Arguments {
		if a.Type.NonNull && a.DefaultValue == nil {
			return true
		}
	}
	return false
}

// ctlEndpoint is where and as whom ctl talks.
type ctlEndpoint struct {
	url, user, pass string
}

// endpoint picks the URL and credentials: flags first, then the first
// admin mongoose_graphql_handler of the configuration.
func endpoint(c common, url, user, pass string) (ctlEndpoint, error) {
	ep := ctlEndpoint{url: url, user: user, pass: pass}
	if ep.url != "" && (ep.user != "" || c.config == "") {
		return ep, nil
	}
	cfg, err := c.load()
	if err != nil {
		return ep, err
	}
	for _, h := range cfg.Listen.HTTP {
		for _, g := range h.Handlers.GraphQL {
			if g.SchemaEndpoint != "admin" {
				continue
			}
			if ep.url == "" {
				ep.url = adminURL(h, g)
			}
			if ep.user == "" {
				ep.user, ep.pass = g.Username, g.Password
			}
			return ep, nil
		}
	}
	if ep.url == "" {
		return ep, errors.New("no admin GraphQL endpoint (schema_endpoint = \"admin\") in the configuration; use --url")
	}
	return ep, nil
}

func adminURL(h config.HTTP, g config.GraphQLHandler) string {
	ip := h.IPAddress
	switch ip {
	case "", "0.0.0.0":
		ip = "127.0.0.1"
	case "::":
		ip = "::1"
	}
	scheme := "http"
	if h.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(ip, strconv.Itoa(h.Port)) + g.Path
}

func (ep ctlEndpoint) do(ctx context.Context, query string, vars map[string]any) ([]byte, int, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.url, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if ep.user != "" {
		req.SetBasicAuth(ep.user, ep.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return b, resp.StatusCode, err
}
