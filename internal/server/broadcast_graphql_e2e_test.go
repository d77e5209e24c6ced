package server_test

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/wait"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// The GraphQL broadcast category (spec/broadcast.md §4) over real HTTP.

const (
	qStartBcast = `mutation($name: String!, $domain: DomainName!, $subject: String!, $body: String!, $sender: BareJID!, $rate: PosInt!, $group: BroadcastRecipientGroup!) {
		broadcast { startBroadcast(name: $name, domain: $domain, messageSubject: $subject, messageBody: $body, senderJid: $sender, messageRate: $rate, recipientGroup: $group) { message ids } } }`
	qGetBcasts = `query($domain: DomainName!, $limit: PosInt, $index: NonNegInt) { broadcast { getBroadcasts(domain: $domain, limit: $limit, index: $index) { id name } } }`
	qGetBcast  = `query($domain: DomainName!, $id: Int!) { broadcast { getBroadcast(domain: $domain, id: $id) {
		id name domain messageSubject messageBody senderJid messageRate ownerNode createTimestamp startTimestamp stopTimestamp
		executionState abortionReason recipientGroup recipientCount recipientsProcessed } } }`
	qAbortBcast     = `mutation($domain: DomainName!, $id: Int!) { broadcast { abortBroadcast(domain: $domain, id: $id) { message ids } } }`
	qDelBcastIds    = `mutation($domain: DomainName!, $ids: [Int!]!) { broadcast { deleteInactiveBroadcastsByIds(domain: $domain, ids: $ids) { message ids } } }`
	qDelBcastDomain = `mutation($domain: DomainName!) { broadcast { deleteInactiveBroadcastsByDomain(domain: $domain) { message ids } } }`
)

// secondsTS is the DateTime format of broadcast timestamps (spec §4.4).
var secondsTS = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)

// bcastVars are valid startBroadcast variables for localhost, with kv
// overriding some.
func bcastVars(kv ...any) map[string]any {
	v := vars("name", "maint", "domain", "localhost", "subject", "Maintenance tonight",
		"body", "The server restarts at 22:00 UTC.", "sender", "alice@localhost", "rate", 1000, "group", "ALL_USERS_IN_DOMAIN")
	for k, x := range vars(kv...) {
		v[k] = x
	}
	return v
}

// startBcastAPI starts a server with mod_broadcast on node gander@api,
// hosts localhost and localhost.bis, and an admin endpoint.
func startBcastAPI(t *testing.T, d *db.DB, edit func(*config.Config)) (*testServer, *apiClient) {
	t.Helper()
	return startAPI(t, d, func(c *config.Config) {
		c.General.Hosts = []string{"localhost", "localhost.bis"}
		withBroadcast("gander@api", 600)(c)
		if edit != nil {
			edit(c)
		}
	})
}

// startOK starts a broadcast that must succeed and returns its id.
func startOK(t *testing.T, c *apiClient, v map[string]any) float64 {
	t.Helper()
	res := c.ok(qStartBcast, v, "broadcast", "startBroadcast").(map[string]any)
	require.Equal(t, "Broadcast job started", res["message"])
	ids := res["ids"].([]any)
	require.Len(t, ids, 1)
	return ids[0].(float64)
}

// waitState polls getBroadcast until the job is in state and returns it.
func waitState(t *testing.T, c *apiClient, domain string, id float64, state string) map[string]any {
	t.Helper()
	var job map[string]any
	wait.Until(t, 30*time.Second, func() error {
		job = c.ok(qGetBcast, vars("domain", domain, "id", id), "broadcast", "getBroadcast").(map[string]any)
		if job["executionState"] != state {
			return fmt.Errorf("job %v is %v, want %s", id, job["executionState"], state)
		}
		return nil
	})
	return job
}

func TestBroadcastAPIStartAndGet(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		srv, c := startBcastAPI(t, d, nil)
		srv.register(t, "alice", "bob", "carol")

		before := time.Now().UTC().Truncate(time.Second)
		id := startOK(t, c, bcastVars())
		job := waitState(t, c, "localhost", id, "FINISHED")
		for _, k := range []string{"createTimestamp", "startTimestamp", "stopTimestamp"} {
			s, _ := job[k].(string)
			require.Regexp(t, secondsTS, s, k)
			ts, err := time.Parse(time.RFC3339, s)
			require.NoError(t, err)
			require.False(t, ts.Before(before), "%s %v before %v", k, ts, before)
			require.WithinDuration(t, time.Now(), ts, 10*time.Second)
			delete(job, k)
		}
		require.Equal(t, map[string]any{
			"id": id, "name": "maint", "domain": "localhost", "messageSubject": "Maintenance tonight",
			"messageBody": "The server restarts at 22:00 UTC.", "senderJid": "alice@localhost", "messageRate": float64(1000),
			"ownerNode": "gander@api", "executionState": "FINISHED", "abortionReason": nil,
			"recipientGroup": "ALL_USERS_IN_DOMAIN", "recipientCount": float64(3), "recipientsProcessed": float64(3),
		}, job)

		// The domain is nameprepped; another domain's job is not found.
		require.Equal(t, id, c.ok(qGetBcast, vars("domain", "LOCALHOST", "id", id), "broadcast", "getBroadcast", "id"))
		ext := c.fails(qGetBcast, vars("domain", "localhost.bis", "id", id), "broadcast_not_found", "Broadcast job not found", "broadcast", "getBroadcast")
		require.Equal(t, map[string]any{"code": "broadcast_not_found", "domain": "localhost.bis", "id": id}, ext)
		c.fails(qGetBcast, vars("domain", "localhost", "id", 999999), "broadcast_not_found", "Broadcast job not found", "broadcast", "getBroadcast")

		// Unknown domains, for every operation.
		const nf, nfMsg = "domain_not_found", "Domain not found"
		dom := "example.org"
		ext = c.fails(qStartBcast, bcastVars("domain", dom), nf, nfMsg, "broadcast", "startBroadcast")
		require.Equal(t, map[string]any{"code": nf, "domain": dom, "name": "maint"}, ext)
		ext = c.fails(qGetBcasts, vars("domain", dom), nf, nfMsg, "broadcast", "getBroadcasts")
		require.Equal(t, map[string]any{"code": nf, "domain": dom}, ext)
		ext = c.fails(qGetBcast, vars("domain", dom, "id", id), nf, nfMsg, "broadcast", "getBroadcast")
		require.Equal(t, map[string]any{"code": nf, "domain": dom, "id": id}, ext)
		ext = c.fails(qAbortBcast, vars("domain", dom, "id", id), nf, nfMsg, "broadcast", "abortBroadcast")
		require.Equal(t, map[string]any{"code": nf, "domain": dom, "id": id}, ext)
		ext = c.fails(qDelBcastIds, vars("domain", dom, "ids", []any{id}), nf, nfMsg, "broadcast", "deleteInactiveBroadcastsByIds")
		require.Equal(t, map[string]any{"code": nf, "domain": dom, "ids": []any{id}}, ext)
		ext = c.fails(qDelBcastDomain, vars("domain", dom), nf, nfMsg, "broadcast", "deleteInactiveBroadcastsByDomain")
		require.Equal(t, map[string]any{"code": nf, "domain": dom}, ext)
	})
}

// TestBroadcastAPIValidation checks every validation error of startBroadcast
// with its code and message, and the order of the checks (spec §5.1). The
// length boundaries that are accepted are shown by the next check,
// running_job_limit_exceeded, while a job runs on the domain.
func TestBroadcastAPIValidation(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		srv, c := startBcastAPI(t, d, nil)
		srv.register(t, "alice")
		registerAt(t, srv, "localhost.bis", "alicebis")
		var others []string
		for i := range 40 {
			others = append(others, fmt.Sprintf("u%02d", i))
		}
		srv.addAccounts(t, others)

		bad := func(v map[string]any, code, msg string) {
			t.Helper()
			ext := c.fails(qStartBcast, v, code, msg, "broadcast", "startBroadcast")
			require.Equal(t, map[string]any{"code": code, "domain": v["domain"], "name": v["name"]}, ext)
		}
		param := func(v map[string]any, p string) { t.Helper(); bad(v, "bad_parameter", "Invalid parameter: "+p) }
		a := strings.Repeat

		// Rate first, then the sender, then the lengths.
		param(bcastVars("rate", 1001), "message_rate")
		param(bcastVars("rate", 2000, "sender", "zed@localhost", "name", ""), "message_rate")
		const noSender = "Sender account does not exist"
		bad(bcastVars("sender", "zed@localhost"), "sender_not_found", noSender)
		bad(bcastVars("sender", "alicebis@localhost.bis"), "sender_not_found", noSender)
		bad(bcastVars("sender", "zed@localhost", "name", "", "body", ""), "sender_not_found", noSender)
		param(bcastVars("name", ""), "name")
		param(bcastVars("name", a("a", 251)), "name")
		param(bcastVars("name", "", "subject", a("a", 1025), "body", ""), "name")
		param(bcastVars("subject", a("a", 1025)), "subject")
		param(bcastVars("subject", a("a", 1025), "body", ""), "subject")
		param(bcastVars("body", ""), "body")
		param(bcastVars("body", a("a", 16001)), "body")
		// Lengths are grapheme clusters: 250 family emoji are 250
		// characters, far more bytes.
		param(bcastVars("name", a("👨‍👩‍👧", 251)), "name")

		// Coercion errors are request errors (HTTP 400).
		for _, rate := range []any{0, -1, "fast"} {
			st, m := c.do(qStartBcast, bcastVars("rate", rate))
			require.Equal(t, 400, st, "%v", m)
			require.Equal(t, "input_coercion", at(t, m["errors"].([]any)[0], "extensions", "code"), "%v", m)
		}
		c.rejected(qStartBcast, bcastVars("sender", "alice@localhost/res"), 400, "input_coercion",
			`Input coercion failed for type BareJID with value <<"alice@localhost/res">>. The reason it failed is: jid_with_resource`)
		c.rejected(qStartBcast, bcastVars("sender", "localhost"), 400, "input_coercion",
			`Input coercion failed for type BareJID with value <<"localhost">>. The reason it failed is: jid_without_local_part`)

		// A slow job (rate 1, 41 recipients) keeps the domain busy.
		running := startOK(t, c, bcastVars("name", "slow", "rate", 1))
		const limit = "Cannot start new broadcast job: running job limit exceeded"
		bad(bcastVars(), "running_job_limit_exceeded", limit)
		// Accepted boundaries reach the running-job check.
		for _, v := range []map[string]any{
			bcastVars("name", "a"), bcastVars("name", a("a", 250)), bcastVars("name", a("👨‍👩‍👧", 250)),
			bcastVars("subject", ""), bcastVars("subject", a("a", 1024)),
			bcastVars("body", "a"), bcastVars("body", a("a", 16000)), bcastVars("rate", 1),
		} {
			bad(v, "running_job_limit_exceeded", limit)
		}
		// Rejected ones still fail validation first.
		param(bcastVars("body", a("a", 16001)), "body")
		// Another domain is independent.
		other := startOK(t, c, bcastVars("domain", "localhost.bis", "sender", "alicebis@localhost.bis"))
		waitState(t, c, "localhost.bis", other, "FINISHED")

		job := waitState(t, c, "localhost", running, "RUNNING")
		require.Equal(t, float64(41), job["recipientCount"])
		require.Equal(t, "gander@api", job["ownerNode"])
		c.ok(qAbortBcast, vars("domain", "localhost", "id", running), "broadcast", "abortBroadcast")
		waitState(t, c, "localhost", running, "ABORT_ADMIN")
		// The domain is free again.
		id := startOK(t, c, bcastVars("name", a("a", 250), "subject", "", "body", a("a", 16000)))
		job = waitState(t, c, "localhost", id, "FINISHED")
		require.Equal(t, a("a", 250), job["name"])
		require.Equal(t, "", job["messageSubject"])
	})
}

func TestBroadcastAPIAbortAndDelete(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		srv, c := startBcastAPI(t, d, nil)
		srv.register(t, "alice")
		registerAt(t, srv, "localhost.bis", "alicebis")
		var others []string
		for i := range 30 {
			others = append(others, fmt.Sprintf("u%02d", i))
		}
		srv.addAccounts(t, others)

		finished := startOK(t, c, bcastVars("name", "done"))
		waitState(t, c, "localhost", finished, "FINISHED")
		bis := startOK(t, c, bcastVars("domain", "localhost.bis", "sender", "alicebis@localhost.bis"))
		waitState(t, c, "localhost.bis", bis, "FINISHED")
		running := startOK(t, c, bcastVars("name", "slow", "rate", 1))

		// Abort: not found (unknown id, other domain), not running.
		ext := c.fails(qAbortBcast, vars("domain", "localhost", "id", 999999), "broadcast_not_found", "Broadcast job not found", "broadcast", "abortBroadcast")
		require.Equal(t, map[string]any{"code": "broadcast_not_found", "domain": "localhost", "id": float64(999999)}, ext)
		c.fails(qAbortBcast, vars("domain", "localhost.bis", "id", running), "broadcast_not_found", "Broadcast job not found", "broadcast", "abortBroadcast")
		ext = c.fails(qAbortBcast, vars("domain", "localhost", "id", finished), "not_running", "The broadcast job is not currently running", "broadcast", "abortBroadcast")
		require.Equal(t, map[string]any{"code": "not_running", "domain": "localhost", "id": finished}, ext)

		// Deleting by ids skips the running job, unknown ids and other
		// domains' jobs, and keeps the input order.
		res := c.ok(qDelBcastIds, vars("domain", "localhost", "ids", []any{running, finished, 999999, bis}), "broadcast", "deleteInactiveBroadcastsByIds")
		require.Equal(t, map[string]any{"message": "Inactive broadcasts deleted", "ids": []any{finished}}, res)
		c.fails(qGetBcast, vars("domain", "localhost", "id", finished), "broadcast_not_found", "Broadcast job not found", "broadcast", "getBroadcast")
		waitState(t, c, "localhost", running, "RUNNING")
		waitState(t, c, "localhost.bis", bis, "FINISHED")
		res = c.ok(qDelBcastIds, vars("domain", "localhost", "ids", []any{}), "broadcast", "deleteInactiveBroadcastsByIds")
		require.Equal(t, []any{}, res.(map[string]any)["ids"])

		// Deleting by domain keeps the running job.
		res = c.ok(qDelBcastDomain, vars("domain", "localhost"), "broadcast", "deleteInactiveBroadcastsByDomain")
		require.Equal(t, map[string]any{"message": "Inactive broadcasts deleted", "ids": []any{}}, res)

		// Abort the running job: ABORT_ADMIN with a stop time, and the
		// node that ran it still shown.
		res = c.ok(qAbortBcast, vars("domain", "localhost", "id", running), "broadcast", "abortBroadcast")
		require.Equal(t, map[string]any{"message": "Broadcast job aborted", "ids": []any{running}}, res)
		job := waitState(t, c, "localhost", running, "ABORT_ADMIN")
		require.Regexp(t, secondsTS, job["stopTimestamp"])
		require.Equal(t, "gander@api", job["ownerNode"])
		require.Nil(t, job["abortionReason"])
		require.Less(t, job["recipientsProcessed"].(float64), float64(31))
		c.fails(qAbortBcast, vars("domain", "localhost", "id", running), "not_running", "The broadcast job is not currently running", "broadcast", "abortBroadcast")

		// Now it goes with the domain's inactive jobs.
		res = c.ok(qDelBcastDomain, vars("domain", "localhost"), "broadcast", "deleteInactiveBroadcastsByDomain")
		require.Equal(t, []any{running}, res.(map[string]any)["ids"])
		require.Equal(t, []any{}, c.ok(qGetBcasts, vars("domain", "localhost"), "broadcast", "getBroadcasts"))
		require.Equal(t, []any{map[string]any{"id": bis, "name": "maint"}}, c.ok(qGetBcasts, vars("domain", "localhost.bis"), "broadcast", "getBroadcasts"))
	})
}

func TestBroadcastAPIPagination(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		srv, c := startBcastAPI(t, d, nil)
		srv.register(t, "alice")
		require.Equal(t, []any{}, c.ok(qGetBcasts, vars("domain", "localhost"), "broadcast", "getBroadcasts"))
		var ids []float64
		for i := range 5 {
			id := startOK(t, c, bcastVars("name", fmt.Sprintf("job%d", i)))
			waitState(t, c, "localhost", id, "FINISHED")
			ids = append(ids, id)
		}
		page := func(v map[string]any) []float64 {
			t.Helper()
			var out []float64
			for _, j := range c.ok(qGetBcasts, v, "broadcast", "getBroadcasts").([]any) {
				out = append(out, j.(map[string]any)["id"].(float64))
			}
			return out
		}
		desc := []float64{ids[4], ids[3], ids[2], ids[1], ids[0]}
		require.Equal(t, desc, page(vars("domain", "localhost")))
		// Null variables fall back to the defaults.
		require.Equal(t, desc, page(vars("domain", "localhost", "limit", nil, "index", nil)))
		require.Equal(t, desc[:2], page(vars("domain", "localhost", "limit", 2)))
		require.Equal(t, desc[1:3], page(vars("domain", "localhost", "limit", 2, "index", 1)))
		require.Equal(t, desc[4:], page(vars("domain", "localhost", "limit", 2, "index", 4)))
		require.Nil(t, page(vars("domain", "localhost", "index", 5)))
		require.Equal(t, []any{}, c.ok(qGetBcasts, vars("domain", "localhost.bis"), "broadcast", "getBroadcasts"))
		st, m := c.do(qGetBcasts, vars("domain", "localhost", "limit", 0))
		require.Equal(t, 400, st, "%v", m)
		st, m = c.do(qGetBcasts, vars("domain", "localhost", "index", -1))
		require.Equal(t, 400, st, "%v", m)
	})
}

func TestBroadcastAPIDomainAdmin(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		srv, c := startBcastAPI(t, d, func(c *config.Config) {
			c.Services.DomainDB = &config.ServiceDomainDB{}
			c.Listen.HTTP = append(c.Listen.HTTP, gqlListener(config.GraphQLHandler{SchemaEndpoint: "domain_admin"}))
		})
		c.ok(qSetDomainPass, vars("d", "localhost", "p", "dpass"), "domain", "setDomainPassword")
		srv.register(t, "alice")
		registerAt(t, srv, "localhost.bis", "alicebis")
		da := srv.client(t, 1, "admin@localhost", "dpass")

		// Its own domain works.
		id := startOK(t, da, bcastVars())
		waitState(t, da, "localhost", id, "FINISHED")
		require.Len(t, da.ok(qGetBcasts, vars("domain", "localhost"), "broadcast", "getBroadcasts"), 1)
		// Even a domain admin's sender must be of the domain.
		da.fails(qStartBcast, bcastVars("sender", "alicebis@localhost.bis"), "sender_not_found", "Sender account does not exist", "broadcast", "startBroadcast")

		// Other domains, existing or not: 401 for all six operations.
		const noDomain = "Cannot execute query ROOT without permissions to the given domain. Args with invalid value: domain"
		for _, dom := range []string{"localhost.bis", "example.org"} {
			da.rejected(qStartBcast, bcastVars("domain", dom, "sender", "alicebis@localhost.bis"), 401, "no_permissions", noDomain)
			da.rejected(qGetBcasts, vars("domain", dom), 401, "no_permissions", noDomain)
			da.rejected(qGetBcast, vars("domain", dom, "id", id), 401, "no_permissions", noDomain)
			da.rejected(qAbortBcast, vars("domain", dom, "id", id), 401, "no_permissions", noDomain)
			da.rejected(qDelBcastIds, vars("domain", dom, "ids", []any{id}), 401, "no_permissions", noDomain)
			da.rejected(qDelBcastDomain, vars("domain", dom), 401, "no_permissions", noDomain)
		}
		// Nothing was started on localhost.bis.
		require.Equal(t, []any{}, c.ok(qGetBcasts, vars("domain", "localhost.bis"), "broadcast", "getBroadcasts"))
		// Without credentials: 401.
		srv.client(t, 0, "", "").rejected(qGetBcasts, vars("domain", "localhost"), 401, "no_permissions", "Cannot execute query ROOT without permissions")
		srv.client(t, 0, "admin", "wrong").rejected(qGetBcasts, vars("domain", "localhost"), 401, "wrong_credentials", "The provided credentials are wrong")
	})
}

func TestBroadcastAPIModuleNotLoaded(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		srv, c := startAPI(t, d, func(c *config.Config) {
			c.General.Hosts = []string{"localhost", "localhost.bis"}
			c.Modules.Broadcast = nil // on in the built-in configuration
		})
		srv.register(t, "alice")
		const msg = "Some of the required modules are not loaded"
		check := func(ext map[string]any) {
			t.Helper()
			require.Equal(t, map[string]any{"code": "deps_not_loaded", "not_loaded_modules": []any{"mod_broadcast"}}, ext)
		}
		for _, dom := range []string{"localhost", "LOCALHOST", "localhost.bis"} {
			check(c.fails(qStartBcast, bcastVars("domain", dom), "deps_not_loaded", msg, "broadcast", "startBroadcast"))
			check(c.fails(qGetBcasts, vars("domain", dom), "deps_not_loaded", msg, "broadcast", "getBroadcasts"))
			check(c.fails(qGetBcast, vars("domain", dom, "id", 1), "deps_not_loaded", msg, "broadcast", "getBroadcast"))
			check(c.fails(qAbortBcast, vars("domain", dom, "id", 1), "deps_not_loaded", msg, "broadcast", "abortBroadcast"))
			check(c.fails(qDelBcastIds, vars("domain", dom, "ids", []any{1}), "deps_not_loaded", msg, "broadcast", "deleteInactiveBroadcastsByIds"))
			check(c.fails(qDelBcastDomain, vars("domain", dom), "deps_not_loaded", msg, "broadcast", "deleteInactiveBroadcastsByDomain"))
		}
		// An unknown domain skips the gating.
		c.fails(qGetBcasts, vars("domain", "example.org"), "domain_not_found", "Domain not found", "broadcast", "getBroadcasts")
		c.fails(qStartBcast, bcastVars("domain", "example.org"), "domain_not_found", "Domain not found", "broadcast", "startBroadcast")
	})
}

// TestBroadcastAPIReceived: a job started through the API reaches a user
// logged in with the mellium client, with the spec's from, subject, body
// and ids.
func TestBroadcastAPIReceived(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		srv, c := startBcastAPI(t, d, nil)
		srv.register(t, "alice", "bob")
		bob := srv.login(t, "bob", "")
		bob.send(`<presence/>`)
		bob.expect("own presence", func(el *xmlstream.Element) bool {
			return el.Local == "presence" && strings.HasPrefix(el.Attr("from"), "bob@localhost")
		})
		id := startOK(t, c, bcastVars())
		el := bob.expect("the broadcast", isBroadcast(int64(id), "bob@localhost"))
		checkBroadcastMessage(t, el, int64(id), "bob@localhost")
		waitState(t, c, "localhost", id, "FINISHED")
	})
}

// TestBroadcastAPITemporarilyUnavailable: while the node's database is out
// of reach (safety mode), startBroadcast answers temporarily_unavailable
// through the API, before any other check; afterwards it works again.
func TestBroadcastAPITemporarilyUnavailable(t *testing.T) {
	t.Parallel()
	direct := dbtest.Open(t, db.PostgreSQL)
	var name string
	require.NoError(t, direct.QueryRowContext(t.Context(), `SELECT current_database()`).Scan(&name))
	base := os.Getenv(dbtest.EnvPostgresDSN)
	if base == "" {
		base = dbtest.DefaultPostgresDSN
	}
	u, err := url.Parse(base)
	require.NoError(t, err)
	proxy := newPGProxy(t, u.Host)
	u.Host, u.Path = proxy.ln.Addr().String(), "/"+name
	viaProxy, err := db.Open(t.Context(), db.Config{Driver: db.PostgreSQL, DSN: u.String(), MaxConns: 4}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { viaProxy.Close() })

	srv, c := startBcastAPI(t, viaProxy, func(c *config.Config) { withBroadcast("gander@api", 10)(c) })
	srv.register(t, "alice")
	proxy.cut()
	// The next lease sync (at most 2/3 × 10 s away) fails: safety mode.
	waitSafetyMode(t, srv, true, 20*time.Second)
	const unavailable = "Broadcast manager is temporarily unavailable"
	for _, v := range []map[string]any{bcastVars(), bcastVars("rate", 2000, "sender", "zed@localhost")} {
		ext := c.fails(qStartBcast, v, "temporarily_unavailable", unavailable, "broadcast", "startBroadcast")
		require.Equal(t, map[string]any{"code": "temporarily_unavailable", "domain": "localhost", "name": "maint"}, ext)
	}
	proxy.restore()
	waitSafetyMode(t, srv, false, 10*time.Second)
	id := startOK(t, c, bcastVars())
	waitState(t, c, "localhost", id, "FINISHED")
}

// TestBroadcastCategoryDisabled: an admin endpoint whose allowed_categories
// leave broadcast out answers category_disabled for it.
func TestBroadcastCategoryDisabled(t *testing.T) {
	t.Parallel()
	srv, c := startBcastAPI(t, nil, func(c *config.Config) {
		c.Listen.HTTP = append(c.Listen.HTTP,
			gqlListener(config.GraphQLHandler{SchemaEndpoint: "admin", AllowedCategories: []string{"account"}}))
	})
	srv.register(t, "alice")
	limited := srv.client(t, 1, "", "")
	ext := limited.fails(qGetBcasts, vars("domain", "localhost"), "category_disabled", "Category disabled", "broadcast")
	require.Equal(t, "broadcast", ext["category"])
	limited.fails(qStartBcast, bcastVars(), "category_disabled", "Category disabled", "broadcast")
	// Nothing was started; the full endpoint still works.
	require.Equal(t, []any{}, c.ok(qGetBcasts, vars("domain", "localhost"), "broadcast", "getBroadcasts"))
}
