package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/gander-xmpp/gander/internal/graphiql"
	"github.com/gander-xmpp/gander/internal/jid"
)

// Endpoint kinds (schema_endpoint, spec/server.md §2.1).
const (
	EndpointAdmin       = "admin"
	EndpointDomainAdmin = "domain_admin"
	EndpointUser        = "user"
)

// Options configure one mongoose_graphql_handler.
type Options struct {
	// Endpoint is EndpointAdmin, EndpointDomainAdmin or EndpointUser.
	Endpoint string
	// Path is where the handler is mounted (for the GraphiQL page).
	Path string
	// Username and Password are the admin endpoint's Basic credentials;
	// empty means every request is the global admin.
	Username, Password string
	// AllowedCategories lists the enabled categories; nil means all.
	AllowedCategories []string
	// Limits bound every document before it runs; zero fields take
	// DefaultLimits.
	Limits Limits
	// AllowedHosts, when set, are the only Host header names (without
	// port) the endpoint answers; by default an admin endpoint without
	// credentials answers loopback names only (hostAllowed).
	AllowedHosts []string
}

// Handler serves the admin schema over HTTP. It is safe for concurrent
// use.
type Handler struct {
	opts  Options
	deps  Deps
	log   *slog.Logger
	exec  *executor.Executor
	es    graphql.ExecutableSchema
	ide   http.HandlerFunc
	maxIn int64

	limits Limits
	shapes *lru.LRU[docShape]
}

// NewHandler returns the handler of an admin or domain_admin endpoint.
func NewHandler(opts Options, deps Deps) *Handler {
	return NewSchemaHandler(opts, deps, NewExecutableSchema(Config{Resolvers: &Resolver{deps: deps, allowed: opts.AllowedCategories}}))
}

// NewSchemaHandler serves es with this package's transport, authentication,
// protection rules and error format; the user endpoint's schema
// (internal/api/userapi) comes through here.
func NewSchemaHandler(opts Options, deps Deps, es graphql.ExecutableSchema) *Handler {
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{opts: opts, deps: deps, log: deps.Log, limits: opts.Limits.withDefaults()}
	h.maxIn = int64(h.limits.MaxRequestSize)
	h.es = es
	h.exec = executor.New(h.es)
	h.exec.Use(extension.Introspection{})
	h.exec.Use(extension.FixedComplexityLimit(h.limits.MaxComplexity))
	h.exec.SetParserTokenLimit(h.limits.MaxTokens)
	h.shapes = lru.New[docShape](256)
	// Scripts and ctl send the same few documents again and again: keep
	// their parsed and validated form (variables are not part of the key).
	h.exec.SetQueryCache(lru.New[*ast.QueryDocument](256))
	h.exec.SetErrorPresenter(h.presentError)
	h.exec.SetRecoverFunc(h.recoverPanic)
	h.ide = graphiql.Page("Gander GraphQL ("+opts.Endpoint+")", opts.Path).ServeHTTP
	return h
}

// caller is who sent a request.
type caller struct {
	kind   string  // "", EndpointAdmin, EndpointDomainAdmin or EndpointUser
	domain string  // for a domain admin
	user   jid.JID // for a user (bare)
}

type callerKey struct{}

func callerFrom(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

// UserFrom returns the authenticated account of a user-endpoint request.
func UserFrom(ctx context.Context) (jid.JID, bool) {
	c := callerFrom(ctx)
	return c.user, c.kind == EndpointUser
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.hostAllowed(r) {
		h.log.Warn("graphql request refused: Host not allowed", "endpoint", h.opts.Endpoint, "host", r.Host, "remote", r.RemoteAddr)
		writeHostRefused(w, r)
		return
	}
	if r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html") {
		h.ide(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeErrors(w, http.StatusMethodNotAllowed, &gqlerror.Error{Message: "Method not allowed",
			Extensions: map[string]any{"code": "method_not_allowed"}})
		return
	}
	if crossOriginForm(r) {
		writeErrors(w, http.StatusForbidden, &gqlerror.Error{Message: "Cross-origin requests must use Content-Type: application/json",
			Extensions: map[string]any{"code": "cross_origin_request"}})
		return
	}
	ctx := r.Context()
	who, herr := h.authenticate(ctx, r)
	if herr != nil {
		writeErrors(w, herr.Status, herr.gql())
		return
	}
	ctx = context.WithValue(ctx, callerKey{}, who)
	params, herr := h.params(r)
	if herr != nil {
		writeErrors(w, herr.Status, herr.gql())
		return
	}
	// The limits come before validation, which is where the cost of a
	// hostile document lies (docs/security.md).
	shape, _, herr := h.shape(ctx, params.Query)
	if herr != nil {
		writeErrors(w, herr.Status, herr.gql())
		return
	}
	if shape.introspection && who.kind == "" && h.opts.Endpoint != EndpointUser {
		// The admin schema is described to administrators only; the
		// credential-less admin endpoint makes everyone one.
		opName := params.OperationName
		if opName == "" {
			opName = "ROOT"
		}
		writeErrors(w, http.StatusUnauthorized, requestErr(http.StatusUnauthorized, "no_permissions",
			"Cannot execute query "+opName+" without permissions").gql())
		return
	}
	ctx = graphql.StartOperationTrace(ctx)
	op, errs := h.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		writeErrors(w, http.StatusBadRequest, h.mapErrors(op, errs)...)
		return
	}
	if r.Method == http.MethodGet && op.Operation.Operation != ast.Query {
		// A link or an image must never change state (CSRF).
		writeErrors(w, http.StatusBadRequest, requestErr(http.StatusBadRequest, "unsupported_operation",
			"The GET execution method does not support "+string(op.Operation.Operation)+" operations.").gql())
		return
	}
	if herr := h.check(op, who); herr != nil {
		writeErrors(w, herr.Status, herr.gql())
		return
	}
	responses, ctx := h.exec.DispatchOperation(ctx, op)
	resp := responses(ctx)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(resp)
}

// crossOriginForm reports a browser request from another origin that uses
// a content type a page may send without a CORS preflight. The admin
// endpoint often has no credentials on 127.0.0.1; a web page must not be
// able to drive it.
func crossOriginForm(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		return false
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return true
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return false
	}
	u, err := url.Parse(o)
	return err != nil || u.Host != r.Host
}

func writeErrors(w http.ResponseWriter, status int, errs ...*gqlerror.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(struct {
		Errors []*gqlerror.Error `json:"errors"`
	}{errs})
}

// authenticate applies spec/server.md §2.3; a nil error with a zero caller
// means "unauthorized" (only unprotected fields work).
func (h *Handler) authenticate(ctx context.Context, r *http.Request) (caller, *httpError) {
	hdr := r.Header.Get("Authorization")
	if h.opts.Endpoint == EndpointAdmin && h.opts.Username == "" {
		return caller{kind: EndpointAdmin}, nil
	}
	if hdr == "" {
		return caller{}, nil
	}
	user, pass, ok := basicAuth(hdr)
	if !ok {
		return caller{}, errMalformedAuth()
	}
	switch h.opts.Endpoint {
	case EndpointAdmin:
		if user == h.opts.Username && pass == h.opts.Password {
			return caller{kind: EndpointAdmin}, nil
		}
	case EndpointDomainAdmin:
		local, domain, found := strings.Cut(user, "@")
		if !found || local != "admin" || h.deps.DomainAdmins == nil {
			return caller{}, errWrongCredentials()
		}
		d, err := UnmarshalDomainName(domain)
		if err != nil {
			return caller{}, errWrongCredentials()
		}
		ok, err := h.deps.DomainAdmins.CheckPassword(ctx, d, pass)
		if err != nil {
			h.log.Error("domain admin password check failed", "domain", d, "err", err)
			return caller{}, requestErr(http.StatusInternalServerError, "internal_server_error", "GraphQL Internal Server Error")
		}
		if ok {
			return caller{kind: EndpointDomainAdmin, domain: d}, nil
		}
	case EndpointUser:
		// spec/server.md §2.3: the bare JID and the account's password.
		j, err := UnmarshalBareJID(user)
		if err != nil || !h.deps.Router.IsLocal(j.Domain()) {
			return caller{}, errWrongCredentials()
		}
		ok, err := h.deps.Accounts.CheckPassword(ctx, j, pass)
		if err == nil && ok {
			return caller{kind: EndpointUser, user: j}, nil
		}
	}
	return caller{}, errWrongCredentials()
}

func basicAuth(hdr string) (user, pass string, ok bool) {
	scheme, enc, found := strings.Cut(hdr, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(raw), ":")
}

// params reads the query, variables and operation name of a POST body or
// a GET query string (spec/server.md §2.2).
func (h *Handler) params(r *http.Request) (*graphql.RawParams, *httpError) {
	var (
		query, opName string
		vars          json.RawMessage
	)
	if r.Method == http.MethodGet {
		if int64(len(r.URL.RawQuery)) > h.maxIn {
			return nil, h.errTooLarge()
		}
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, requestErr(http.StatusBadRequest, "invalid_query_parameters", "The query string is invalid")
		}
		query, opName = q.Get("query"), q.Get("operationName")
		if v := q.Get("variables"); v != "" {
			vars = json.RawMessage(v)
		}
	} else {
		if r.ContentLength > h.maxIn {
			return nil, h.errTooLarge()
		}
		buf := bytes.NewBuffer(make([]byte, 0, min(max(r.ContentLength, 512), h.maxIn)+1))
		_, err := buf.ReadFrom(io.LimitReader(r.Body, h.maxIn+1))
		body := buf.Bytes()
		if err != nil {
			return nil, requestErr(http.StatusBadRequest, "invalid_json_body", "The request JSON body is invalid")
		}
		if int64(len(body)) > h.maxIn {
			return nil, h.errTooLarge()
		}
		var req struct {
			Query         *string         `json:"query"`
			Variables     json.RawMessage `json:"variables"`
			OperationName *string         `json:"operationName"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, requestErr(http.StatusBadRequest, "invalid_json_body", "The request JSON body is invalid")
		}
		if req.Query != nil {
			query = *req.Query
		}
		if req.OperationName != nil {
			opName = *req.OperationName
		}
		vars = req.Variables
	}
	if query == "" {
		return nil, requestErr(http.StatusBadRequest, "no_query_supplied", "The query was not supplied in the request body")
	}
	vm, err := variables(vars)
	if err != nil {
		return nil, requestErr(http.StatusBadRequest, "variables_invalid_json", "The variables' JSON is invalid")
	}
	return &graphql.RawParams{Query: query, OperationName: opName, Variables: vm, Headers: r.Header}, nil
}

// errTooLarge refuses a request over max_request_size (HTTP 413,
// limit_exceeded) without reading the rest of it.
func (h *Handler) errTooLarge() *httpError {
	e := errLimit("max_request_size", h.limits.MaxRequestSize, 0)
	e.Status = http.StatusRequestEntityTooLarge
	return e
}

// variables decodes the variables, given as an object, a JSON string
// holding one, or null. Null values are dropped so that argument defaults
// apply (spec/server.md §2.2).
func variables(raw json.RawMessage) (map[string]any, error) {
	raw = json.RawMessage(strings.TrimSpace(string(raw)))
	if len(raw) == 0 || string(raw) == "null" {
		return map[string]any{}, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		if strings.TrimSpace(s) == "" {
			return map[string]any{}, nil
		}
		raw = json.RawMessage(s)
	}
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("trailing data")
	}
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// CategoryAllowed reports whether category is in allowed_categories (nil
// means all are).
func CategoryAllowed(list []string, category string) bool { return allowed(list, category) }

// allowed reports whether a category is enabled on this endpoint.
func allowed(list []string, category string) bool {
	return list == nil || slices.Contains(list, category)
}
