package server_test

// End-to-end tests of mod_inbox (spec/inbox.md §14) with the mellium
// client on SQLite and PostgreSQL. Each test names the checklist items it
// covers (their numbers in §14 and the reference case names).

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

const (
	nsInbox = "erlang-solutions.com:xmpp:inbox:0"
	nsConv  = nsInbox + "#conversation"
	nsXData = "jabber:x:data"
)

// inboxEnv is a server with mod_inbox (custom box "other", as in the
// reference suites) and online users.
type inboxEnv struct {
	s                      *testServer
	alice, bob, kate, mike *client
}

func inboxConfig(t *testing.T, opts string) *config.ModInbox {
	t.Helper()
	cfg, err := config.Parse([]byte(config.WithoutModules(config.DefaultTOML, "mod_inbox")+"\n[modules.mod_inbox]\nboxes = [\"other\"]\n"+opts), "test.toml")
	require.NoError(t, err)
	return cfg.Modules.Inbox
}

func startInbox(t *testing.T, d *db.DB, opts string) *inboxEnv {
	t.Helper()
	ib := inboxConfig(t, opts)
	s := startServer(t, d, func(c *config.Config) { c.Modules.Inbox = ib })
	s.register(t, "alice", "bob", "kate", "mike")
	e := &inboxEnv{s: s, alice: online(t, s, "alice"), bob: online(t, s, "bob"), kate: online(t, s, "kate"), mike: online(t, s, "mike")}
	if ib.Backend == "rdbms_async" {
		for _, c := range []*client{e.alice, e.bob, e.kate, e.mike} {
			settleBeforeQuery.Store(c, s)
			t.Cleanup(func() { settleBeforeQuery.Delete(c) })
		}
	}
	return e
}

// settleBeforeQuery maps the clients of a server running rdbms_async to
// it: query first waits until every write queued so far reached storage
// (the tests have already waited for the stanzas that queue them), so the
// same checks run against both backends.
var settleBeforeQuery sync.Map

// forEachInbox runs fn on SQLite and PostgreSQL with the rdbms backend
// and with rdbms_async (pool_size 1, as in the reference's async_pools
// group); opts is prepended to the module options.
func forEachInbox(t *testing.T, fn func(t *testing.T, d *db.DB, opts string)) {
	for _, b := range []struct{ name, opts string }{{"rdbms", ""}, {"rdbms_async", asyncOpts}} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, d *db.DB) { fn(t, d, b.opts) })
		})
	}
}

// chat sends a chat message from c to user and waits until to receives it
// (the synchronous backend has then written both entries).
func chat(t *testing.T, from *client, to *client, toUser, id, body string) {
	t.Helper()
	from.send(fmt.Sprintf(`<message to='%s@localhost' type='chat' id='%s'><body>%s</body></message>`, toUser, id, body))
	to.expect("message "+body, isMessage(body))
}

// inboxResult is one result message of an inbox query.
type inboxResult struct {
	msg, res, inner *xmlstream.Element
}

func (r inboxResult) unread() int {
	n, _ := strconv.Atoi(r.res.Attr("unread"))
	return n
}

func (r inboxResult) prop(name string) string { return r.res.ChildText(nsInbox, name) }

func (r inboxResult) body() string {
	if r.inner == nil {
		return ""
	}
	return r.inner.ChildText("", "body")
}

// fin is the final result of an inbox query.
type fin struct {
	iq, fin *xmlstream.Element
}

func (f fin) counter(name string) int {
	n, err := strconv.Atoi(f.fin.ChildText(nsInbox, name))
	if err != nil {
		return -1
	}
	return n
}

// formXML builds a submitted inbox form from var=value pairs.
func formXML(kv ...string) string {
	if len(kv) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(`<x xmlns='jabber:x:data' type='submit'><field type='hidden' var='FORM_TYPE'><value>` + nsInbox + `</value></field>`)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, `<field var='%s'><value>%s</value></field>`, kv[i], kv[i+1])
	}
	b.WriteString(`</x>`)
	return b.String()
}

// iqSeq numbers IQs; tests run in parallel.
var iqSeq atomic.Int64

// query runs an inbox query with the raw form and RSM XML and returns the
// result messages (in arrival order) and the final IQ. On an IQ error
// the results are nil.
func query(t *testing.T, c *client, queryID, inner string) ([]inboxResult, fin) {
	t.Helper()
	if s, ok := settleBeforeQuery.Load(c); ok {
		require.NoError(t, s.(*testServer).Inbox().Sync(context.Background()))
	}
	id := fmt.Sprintf("q%d", iqSeq.Add(1))
	qid := ""
	if queryID != "" {
		qid = " queryid='" + queryID + "'"
	}
	resp := c.sendIQ(fmt.Sprintf(`<iq type='set' id='%s'><inbox xmlns='%s'%s>%s</inbox></iq>`, id, nsInbox, qid, inner))
	if resp.Attr("type") != "result" {
		return nil, fin{iq: resp}
	}
	f := resp.Child(nsInbox, "fin")
	require.NotNil(t, f, resp.String())
	out := fin{iq: resp, fin: f}
	want := queryID
	if want == "" {
		want = id
	}
	var rs []inboxResult
	for i := 0; i < out.counter("count"); i++ {
		m := c.expect("inbox result", func(el *xmlstream.Element) bool {
			r := el.Child(nsInbox, "result")
			return el.Local == "message" && r != nil && r.Attr("queryid") == want
		})
		r := m.Child(nsInbox, "result")
		var inner *xmlstream.Element
		if fw := r.Child("urn:xmpp:forward:0", "forwarded"); fw != nil {
			inner = fw.Child("jabber:client", "message")
		}
		rs = append(rs, inboxResult{msg: m, res: r, inner: inner})
	}
	return rs, out
}

// entries queries with a form only and checks there is no IQ error.
func entries(t *testing.T, c *client, kv ...string) []inboxResult {
	t.Helper()
	rs, f := query(t, c, "", formXML(kv...))
	require.Equal(t, "result", f.iq.Attr("type"), f.iq.String())
	return rs
}

// requireEntry checks a single-entry inbox: remote JID (from the inner
// message), unread count and body.
func requireEntry(t *testing.T, rs []inboxResult, unread int, body string) inboxResult {
	t.Helper()
	require.Len(t, rs, 1)
	require.Equal(t, unread, rs[0].unread(), rs[0].msg.String())
	require.Equal(t, body, rs[0].body())
	return rs[0]
}

// errorText returns the <text> of an IQ error ("" if it is no error).
func errorText(iq *xmlstream.Element) string {
	e := iq.Child("jabber:client", "error")
	if iq.Attr("type") != "error" || e == nil {
		return ""
	}
	return e.ChildText("urn:ietf:params:xml:ns:xmpp-stanzas", "text")
}

func errorCondition(iq *xmlstream.Element) string {
	e := iq.Child("jabber:client", "error")
	if e == nil {
		return ""
	}
	for _, c := range e.Elements() {
		if c.Space == "urn:ietf:params:xml:ns:xmpp-stanzas" && c.Local != "text" {
			return c.Local
		}
	}
	return ""
}

// requireOwnBare checks a from attribute that must be the user's own bare
// JID: the client library reports it as absent (RFC 6120 §8.1.2.1 makes
// both equivalent).
func requireOwnBare(t *testing.T, bare, from string) {
	t.Helper()
	if from != "" {
		require.Equal(t, bare, from)
	}
}

func TestInbox_01_DiscoService(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInbox(t, d, opts)
		resp := e.alice.sendIQ(`<iq type='get' id='d1' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
		require.Contains(t, resp.String(), `var="`+nsInbox+`"`)
		require.NotContains(t, resp.String(), nsConv)
	})
}

func TestInbox_02_ReturnsValidForm(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInbox(t, d, opts)
		for _, name := range []string{"inbox", "query"} {
			resp := e.alice.sendIQ(`<iq type='get' id='f1'><` + name + ` xmlns='` + nsInbox + `'/></iq>`)
			require.Equal(t, "result", resp.Attr("type"))
			requireOwnBare(t, "alice@localhost", resp.Attr("from"))
			x := resp.Child(nsInbox, name).Child(nsXData, "x")
			require.NotNil(t, x)
			fields := map[string]*xmlstream.Element{}
			for _, f := range x.Elements() {
				fields[f.Attr("var")] = f
			}
			require.Len(t, x.Elements(), 7)
			check := func(v, typ, val string, opts ...string) {
				f := fields[v]
				require.NotNil(t, f, v)
				require.Equal(t, typ, f.Attr("type"), v)
				if val != "" {
					require.Equal(t, val, f.ChildText(nsXData, "value"), v)
				}
				var got []string
				for _, o := range f.Elements() {
					if o.Local == "option" {
						got = append(got, o.ChildText(nsXData, "value"))
					}
				}
				require.ElementsMatch(t, opts, got, v)
			}
			check("FORM_TYPE", "hidden", nsInbox)
			check("start", "text-single", "")
			check("end", "text-single", "")
			check("hidden_read", "text-single", "false")
			check("archive", "boolean", "false")
			check("box", "list-single", "all", "all", "inbox", "archive", "bin", "other")
			check("order", "list-single", "desc", "asc", "desc")
		}
	})
}

// TestInbox_03_10_78_79_FormErrors covers 3
// (returns_error_when_first_bad_form_field_encountered), 4-7 (bad start,
// end, order, hidden_read), 8-9 (reset jid invalid / missing), 10
// (unknown field), 78 (archive=invalid), 79 (RSM max NaN) and the other
// errors of §5.7.
func TestInbox_03_10_78_79_FormErrors(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInbox(t, d, opts)
		a := e.alice
		qerr := func(inner string) *xmlstream.Element {
			_, f := query(t, a, "", inner)
			require.Equal(t, "error", f.iq.Attr("type"), f.iq.String())
			require.Nil(t, f.iq.Child(nsInbox, "inbox"), "handler errors do not echo the query")
			return f.iq
		}
		resp := qerr(formXML("start", "invalid", "end", "invalid"))
		require.Equal(t, "Invalid inbox form field value, field=end, value=invalid", errorText(resp))
		require.Equal(t, "bad-request", errorCondition(resp))
		for _, f := range []string{"start", "end", "order", "hidden_read", "archive", "box"} {
			require.Equal(t, "Invalid inbox form field value, field="+f+", value=invalid", errorText(qerr(formXML(f, "invalid"))))
		}
		require.Equal(t, "Unknown inbox form field=unknown_field, value=unknown_field_value",
			errorText(qerr(formXML("unknown_field", "unknown_field_value"))))
		// Zero or several values (Gander).
		require.Equal(t, "bad-request", errorText(qerr(`<x xmlns='jabber:x:data'><field var='order'/></x>`)))
		require.Equal(t, "bad-request", errorText(qerr(`<x xmlns='jabber:x:data'><field var='order'><value>asc</value><value>desc</value></field></x>`)))
		// RSM.
		require.Equal(t, "bad-request", errorText(qerr(`<set xmlns='http://jabber.org/protocol/rsm'><max>NaN</max></set>`)))
		require.Equal(t, "bad-request", errorText(qerr(`<set xmlns='http://jabber.org/protocol/rsm'><max>-1</max></set>`)))
		resp = qerr(`<set xmlns='http://jabber.org/protocol/rsm'><index>10</index></set>`)
		require.Equal(t, "feature-not-implemented", errorCondition(resp))
		require.Equal(t, "Inbox does not expose a total count and indexes", errorText(resp))
		require.Equal(t, "bad-request", errorText(qerr(`<set xmlns='http://jabber.org/protocol/rsm'><index>x</index></set>`)))
		for _, c := range []string{"nocursor", "-5/YQ==", "12/not*base64", "x/YQ=="} {
			require.Equal(t, "bad-request", errorText(qerr(`<set xmlns='http://jabber.org/protocol/rsm'><after>`+c+`</after></set>`)), c)
		}
		// A form error wins over an RSM error.
		require.Contains(t, errorText(qerr(formXML("order", "x")+`<set xmlns='http://jabber.org/protocol/rsm'><index>1</index></set>`)), "field=order")
		// Deprecated reset IQ errors (8, 9).
		resp = a.sendIQ(`<iq type='set' id='r1'><reset xmlns='` + nsConv + `' jid='$@/'/></iq>`)
		require.Equal(t, "invalid-jid", errorText(resp))
		resp = a.sendIQ(`<iq type='set' id='r2'><reset xmlns='` + nsConv + `'/></iq>`)
		require.Equal(t, "jid-required", errorText(resp))
	})
}

func TestInbox_11_12_LimitResult(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInbox(t, d, opts+"max_result_limit = 2")
		chat(t, e.alice, e.bob, "bob", "m1", "b")
		chat(t, e.alice, e.kate, "kate", "m2", "k")
		chat(t, e.alice, e.mike, "mike", "m3", "m")
		require.Len(t, entries(t, e.alice), 2)
		rs, _ := query(t, e.alice, "", `<set xmlns='http://jabber.org/protocol/rsm'><max>1</max></set>`)
		require.Len(t, rs, 1)
		rs, _ = query(t, e.alice, "", `<set xmlns='http://jabber.org/protocol/rsm'><max>5</max></set>`)
		require.Len(t, rs, 2)
		// With a server limit an invalid max is not an error (Compat).
		rs, f := query(t, e.alice, "", `<set xmlns='http://jabber.org/protocol/rsm'><max>NaN</max></set>`)
		require.Equal(t, "result", f.iq.Attr("type"))
		require.Len(t, rs, 2)
	})
}

// TestInbox_13_14_15_16_20_33_OneToOne covers 13 (user_has_empty_inbox),
// 33 (counters zero at no activity), 14 (msg_sent_stored_in_inbox), 15-16
// (queryid fallback and queryid) and 20 (user_has_two_conversations).
func TestInbox_13_14_15_16_20_33_OneToOne(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInbox(t, d, opts)
		rs, f := query(t, e.alice, "", "")
		require.Empty(t, rs)
		require.Equal(t, 0, f.counter("count"))
		require.Equal(t, 0, f.counter("unread-messages"))
		require.Equal(t, 0, f.counter("active-conversations"))
		set := f.fin.Child("http://jabber.org/protocol/rsm", "set")
		require.NotNil(t, set)
		require.Empty(t, set.Elements())

		chat(t, e.alice, e.bob, "bob", "m-1", "Hi Bob")
		rs, f = query(t, e.alice, "", "")
		r := requireEntry(t, rs, 0, "Hi Bob")
		require.Equal(t, f.iq.Attr("id"), r.res.Attr("queryid"), "queryid falls back to the IQ id")
		requireOwnBare(t, "alice@localhost", r.msg.Attr("from"))
		require.Equal(t, e.alice.jid, r.msg.Attr("to"))
		require.Empty(t, r.msg.Attr("type"))
		require.Equal(t, e.alice.jid, r.inner.Attr("from"))
		require.Equal(t, "bob@localhost", r.inner.Attr("to"))
		require.Contains(t, r.msg.String(), `<message xmlns="jabber:client"`, "inner stanza keeps its namespace")
		require.Equal(t, "true", r.prop("read"))
		require.Equal(t, "inbox", r.prop("box"))
		require.Equal(t, "false", r.prop("archive"))
		require.Equal(t, "0", r.prop("mute"))
		stampTime, err := time.Parse(time.RFC3339, r.res.Child("urn:xmpp:forward:0", "forwarded").Child("urn:xmpp:delay", "delay").Attr("stamp"))
		require.NoError(t, err)
		require.WithinDuration(t, time.Now(), stampTime, time.Minute)
		require.Regexp(t, `\.\d{6}Z$`, r.res.Child("urn:xmpp:forward:0", "forwarded").Child("urn:xmpp:delay", "delay").Attr("stamp"))

		rs, _ = query(t, e.bob, "my-query", "")
		r = requireEntry(t, rs, 1, "Hi Bob")
		require.Equal(t, "my-query", r.res.Attr("queryid"))
		require.Equal(t, "false", r.prop("read"))
		require.Equal(t, e.alice.jid, r.inner.Attr("from"))

		chat(t, e.alice, e.kate, "kate", "m-2", "Hi Kate")
		rs = entries(t, e.alice)
		require.Len(t, rs, 2)
		require.Equal(t, "Hi Kate", rs[0].body(), "newest first")
		require.Equal(t, "Hi Bob", rs[1].body())
		require.Equal(t, 0, rs[0].unread()+rs[1].unread())
		requireEntry(t, entries(t, e.kate), 1, "Hi Kate")
	})
}

// TestInbox_17_18_22_23_24_Filters covers 17 (no-store hint), 18 (store
// hint), 22 (msg_sent_to_not_existing_user), 23
// (user_has_two_unread_messages), 24 (other_resources_do_not_interfere)
// and the §8.2 filters for headline, error and chat states.
func TestInbox_17_18_22_23_24_Filters(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInbox(t, d, opts)
		e.alice.send(`<message to='bob@localhost' type='chat' id='ns'><body>secret</body><no-store xmlns='urn:xmpp:hints'/></message>`)
		e.bob.expect("no-store message", isMessage("secret"))
		e.alice.send(`<message to='bob@localhost' type='headline' id='hl'><body>news</body></message>`)
		e.bob.expect("headline", isMessage("news"))
		e.alice.send(`<message to='bob@localhost' type='chat' id='cs'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`)
		e.bob.expect("chat state", func(el *xmlstream.Element) bool { return el.Attr("id") == "cs" })
		require.Empty(t, entries(t, e.alice))
		require.Empty(t, entries(t, e.bob))

		e.alice.send(`<message to='bob@localhost' type='chat' id='st'><store xmlns='urn:xmpp:hints'/></message>`)
		e.bob.expect("store hint", func(el *xmlstream.Element) bool { return el.Attr("id") == "st" })
		requireEntry(t, entries(t, e.bob), 1, "")
		requireEntry(t, entries(t, e.alice), 0, "")

		e.alice.send(`<message to='ghost@localhost' type='chat' id='gh'><body>anyone?</body></message>`)
		bounce := e.alice.expect("bounce", func(el *xmlstream.Element) bool { return el.Attr("id") == "gh" && el.Attr("type") == "error" })
		require.Contains(t, bounce.String(), "service-unavailable")
		rs := entries(t, e.alice)
		require.Len(t, rs, 2)
		require.Equal(t, "ghost@localhost", rs[0].inner.Attr("to"))
		require.Equal(t, 0, rs[0].unread())

		// Kate sends Mike two messages from a second resource with a
		// higher priority.
		k2 := e.s.login(t, "kate", "second")
		k2.send(`<presence><priority>10</priority></presence>`)
		k2.expect("own presence", func(el *xmlstream.Element) bool { return el.Local == "presence" })
		chat(t, k2, e.mike, "mike", "k1", "one")
		chat(t, k2, e.mike, "mike", "k2", "two")
		requireEntry(t, entries(t, e.mike), 2, "two")
		requireEntry(t, entries(t, e.kate), 0, "two")
		k2.expectNone("inbox result for the other resource", func(el *xmlstream.Element) bool {
			return el.Child(nsInbox, "result") != nil
		})
	})
}

// TestInbox_25_26_27_28_Markers covers 25 (reset with a displayed marker),
// 26 (reset stanza; the interlocutor gets nothing), 27 (marker with a
// wrong id) and 28 (non-reset marker).
func TestInbox_25_26_27_28_Markers(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInbox(t, d, opts)
		chat(t, e.alice, e.bob, "bob", "m-1", "hello")
		requireEntry(t, entries(t, e.bob), 1, "hello")
		marker := func(kind, id string) {
			e.bob.send(`<message to='alice@localhost' type='chat' id='mk-` + kind + id + `'><` + kind + ` xmlns='urn:xmpp:chat-markers:0' id='` + id + `'/></message>`)
			e.alice.expect("marker", func(el *xmlstream.Element) bool { return el.Attr("id") == "mk-"+kind+id })
		}
		marker("displayed", "wrong")
		requireEntry(t, entries(t, e.bob), 1, "hello")
		marker("received", "m-1")
		requireEntry(t, entries(t, e.bob), 1, "hello")
		rs, _ := query(t, e.alice, "", formXML("hidden_read", "true"))
		require.Empty(t, rs, "a marker gives the peer no unread entry")
		requireEntry(t, entries(t, e.alice), 0, "hello")
		marker("displayed", "m-1")
		requireEntry(t, entries(t, e.bob), 0, "hello")

		chat(t, e.alice, e.bob, "bob", "m-2", "again")
		requireEntry(t, entries(t, e.bob), 1, "again")
		resp := e.bob.sendIQ(`<iq type='set' id='rs-1'><reset xmlns='` + nsConv + `' jid='alice@localhost'/></iq>`)
		require.Equal(t, "result", resp.Attr("type"))
		require.NotNil(t, resp.Child(nsConv, "reset"))
		requireEntry(t, entries(t, e.bob), 0, "again")
		e.alice.expectNone("anything from the reset", func(el *xmlstream.Element) bool { return el.Local == "message" })
		// A reset of a missing entry still succeeds.
		resp = e.bob.sendIQ(`<iq type='set' id='rs-2'><reset xmlns='` + nsConv + `' jid='nobody@localhost'/></iq>`)
		require.Equal(t, "result", resp.Attr("type"))
	})
}

// TestInbox_29_30_31_32_Counters covers 29 (hidden_read), 30
// (reset_unread_counter_and_show_only_unread), 31 and 32 (fin counters).
func TestInbox_29_30_31_32_Counters(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInbox(t, d, opts)
		chat(t, e.alice, e.bob, "bob", "a1", "x1")
		chat(t, e.kate, e.bob, "bob", "k1", "y1")
		chat(t, e.kate, e.bob, "bob", "k2", "y2")
		rs, f := query(t, e.bob, "", "")
		require.Len(t, rs, 2)
		require.Equal(t, 2, f.counter("count"))
		require.Equal(t, 3, f.counter("unread-messages"))
		require.Equal(t, 2, f.counter("active-conversations"))
		chat(t, e.alice, e.kate, "kate", "a2", "x2")
		require.Len(t, entries(t, e.alice, "hidden_read", "false"), 2)
		require.Empty(t, entries(t, e.alice, "hidden_read", "true"))
		require.Len(t, entries(t, e.kate, "hidden_read", "true"), 1)

		e.kate.send(`<message to='alice@localhost' type='chat' id='mk'><displayed xmlns='urn:xmpp:chat-markers:0' id='a2'/></message>`)
		e.alice.expect("marker", func(el *xmlstream.Element) bool { return el.Attr("id") == "mk" })
		require.Empty(t, entries(t, e.kate, "hidden_read", "true"))
		_, f = query(t, e.kate, "", formXML("hidden_read", "false"))
		require.Equal(t, 2, f.counter("count"))
		require.Equal(t, 0, f.counter("unread-messages"))
		require.Equal(t, 0, f.counter("active-conversations"))
		chat(t, e.alice, e.kate, "kate", "a3", "x3")
		require.Len(t, entries(t, e.kate, "hidden_read", "true"), 1)
		require.Len(t, entries(t, e.kate), 2)
	})
}

// TestInbox_58_62_Timestamps covers 58
// (timestamp_is_updated_on_new_message), 59 (order ascending) and 60-62
// (start/end ranges).
func TestInbox_58_62_Timestamps(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInbox(t, d, opts)
		delay := func(r inboxResult) string {
			return r.res.Child("urn:xmpp:forward:0", "forwarded").Child("urn:xmpp:delay", "delay").Attr("stamp")
		}
		chat(t, e.alice, e.bob, "bob", "t1", "first")
		s1 := delay(requireEntry(t, entries(t, e.bob), 1, "first"))
		chat(t, e.alice, e.bob, "bob", "t2", "second")
		s2 := delay(requireEntry(t, entries(t, e.bob), 2, "second"))
		require.Greater(t, s2, s1)

		chat(t, e.kate, e.bob, "bob", "t3", "kate")
		rs := entries(t, e.bob, "order", "asc")
		require.Len(t, rs, 2)
		require.Equal(t, "second", rs[0].body())
		require.Equal(t, "kate", rs[1].body())
		t1, t2 := delay(rs[0]), delay(rs[1])
		require.Greater(t, t2, t1)
		// Exact bounds are inclusive.
		got := entries(t, e.bob, "start", t1, "end", t1)
		require.Len(t, got, 1)
		require.Equal(t, "second", got[0].body())
		got = entries(t, e.bob, "start", t2)
		require.Len(t, got, 1)
		require.Equal(t, "kate", got[0].body())
		got = entries(t, e.bob, "end", t1)
		require.Len(t, got, 1)
		require.Equal(t, "second", got[0].body())
	})
}

// TestInbox_114_120_Pagination covers 114-120 (pagination over Bob, then
// Kate, then Mike; the newest is Mike).
func TestInbox_114_120_Pagination(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInbox(t, d, opts)
		chat(t, e.alice, e.bob, "bob", "p1", "bob")
		chat(t, e.alice, e.kate, "kate", "p2", "kate")
		chat(t, e.alice, e.mike, "mike", "p3", "mike")
		names := func(rs []inboxResult) []string {
			var out []string
			for _, r := range rs {
				out = append(out, strings.TrimSuffix(r.inner.Attr("to"), "@localhost"))
			}
			return out
		}
		rsm := func(s string) string { return `<set xmlns='http://jabber.org/protocol/rsm'>` + s + `</set>` }
		all := entries(t, e.alice)
		require.Equal(t, []string{"mike", "kate", "bob"}, names(all))
		delay := func(r inboxResult) string {
			return r.res.Child("urn:xmpp:forward:0", "forwarded").Child("urn:xmpp:delay", "delay").Attr("stamp")
		}
		kateTS := delay(all[1])
		form := formXML("start", kateTS, "end", kateTS)
		require.Equal(t, []string{"kate"}, names(entries(t, e.alice, "start", kateTS, "end", kateTS)))
		rs, _ := query(t, e.alice, "", form+rsm(`<before/>`))
		require.Equal(t, []string{"kate", "bob"}, names(rs), "115: before wipes start")
		rs, _ = query(t, e.alice, "", form+rsm(`<after/>`))
		require.Equal(t, []string{"mike", "kate"}, names(rs), "116: after wipes end")

		rs, f := query(t, e.alice, "", rsm(`<max>1</max>`))
		require.Equal(t, []string{"mike"}, names(rs))
		set := f.fin.Child("http://jabber.org/protocol/rsm", "set")
		last := set.ChildText("http://jabber.org/protocol/rsm", "last")
		require.Equal(t, last, set.ChildText("http://jabber.org/protocol/rsm", "first"))
		rs, _ = query(t, e.alice, "", rsm(`<max>2</max><after>`+last+`</after>`))
		require.Equal(t, []string{"kate", "bob"}, names(rs), "117")

		rs, f = query(t, e.alice, "", rsm(`<max>1</max><before/>`))
		require.Equal(t, []string{"bob"}, names(rs), "118: the oldest")
		first := f.fin.Child("http://jabber.org/protocol/rsm", "set").ChildText("http://jabber.org/protocol/rsm", "first")
		rs, _ = query(t, e.alice, "", rsm(`<before>`+first+`</before>`))
		require.Equal(t, []string{"mike", "kate"}, names(rs), "118: newer page")

		rs, f = query(t, e.alice, "", rsm(`<max>2</max>`))
		require.Equal(t, []string{"mike", "kate"}, names(rs), "119")
		set = f.fin.Child("http://jabber.org/protocol/rsm", "set")
		require.NotEmpty(t, set.ChildText("http://jabber.org/protocol/rsm", "first"))
		require.NotEmpty(t, set.ChildText("http://jabber.org/protocol/rsm", "last"))
		require.Nil(t, set.Child("http://jabber.org/protocol/rsm", "count"))

		rs, _ = query(t, e.alice, "", formXML("end", kateTS)+rsm(`<max>2</max>`))
		require.Equal(t, []string{"kate", "bob"}, names(rs), "120")

		rs, f = query(t, e.alice, "", rsm(`<max>0</max>`))
		require.Empty(t, rs)
		require.Empty(t, f.fin.Child("http://jabber.org/protocol/rsm", "set").Elements())
		// 114: error conditions.
		for _, c := range []string{"nocursor", "-1/Ym9iQGxvY2FsaG9zdA=="} {
			_, f = query(t, e.alice, "", rsm(`<after>`+c+`</after>`))
			require.Equal(t, "bad-request", errorCondition(f.iq), c)
		}
		_, f = query(t, e.alice, "", rsm(`<index>10</index>`))
		require.Equal(t, "feature-not-implemented", errorCondition(f.iq))
	})
}
