package server_test

// End-to-end tests of mod_mam (docs/modules/mod_mam.md) with the mellium
// client, on SQLite and PostgreSQL, with the synchronous writer and with
// the asynchronous one (flush_interval 2 s, so that a query that did not
// flush the archive's rows first would miss them: the tests never wait
// for the writer themselves). Each test names the checklist items of the
// module's acceptance list it covers (A1-A25, X1-X2 in
// docs/modules/mod_mam.md, "Acceptance").

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/mod/mam"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

const (
	nsMam2  = "urn:xmpp:mam:2"
	nsMam1  = "urn:xmpp:mam:1"
	nsSID   = "urn:xmpp:sid:0"
	nsFwd   = "urn:xmpp:forward:0"
	nsDelay = "urn:xmpp:delay"
)

// mamWriters are the two writers every test runs with.
var mamWriters = []struct{ name, opts string }{
	{"sync", "async_writer.enabled = false\n"},
	{"async", "async_writer.flush_interval = 2000\nasync_writer.pool_size = 2\n"},
}

// forEachMam runs fn on SQLite and PostgreSQL with each writer; opts are
// the root options of [modules.mod_mam] for that writer.
func forEachMam(t *testing.T, fn func(t *testing.T, d *db.DB, opts string)) {
	for _, w := range mamWriters {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, d *db.DB) { fn(t, d, w.opts) })
		})
	}
}

// mamConfig parses the built-in configuration with a [modules.mod_mam]
// table of opts followed by the part tables in parts (TOML text).
func mamConfig(t *testing.T, opts, parts string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(config.DefaultTOML+"\n[modules.mod_mam]\n"+opts+parts), "test.toml")
	require.NoError(t, err)
	return cfg
}

// mamParts is the usual part configuration: the one-to-one archive with
// preferences stored, MUC Light rooms archived.
const mamParts = "user_prefs_store = \"rdbms\"\n[modules.mod_mam.pm]\n[modules.mod_mam.muc]\nhost = \"muclight.@HOST@\"\n"

// mamEnv is a server with mod_mam and online users.
type mamEnv struct {
	s                *testServer
	alice, bob, kate *client
}

// startMam starts a server with mod_mam configured by opts and parts,
// with alice, bob and kate registered and online.
func startMam(t *testing.T, d *db.DB, opts, parts string, edit func(*config.Config)) *mamEnv {
	t.Helper()
	mc := mamConfig(t, opts, parts)
	s := startServer(t, d, func(c *config.Config) {
		c.Modules.Mam = mc.Modules.Mam
		if edit != nil {
			edit(c)
		}
	})
	s.register(t, "alice", "bob", "kate")
	return &mamEnv{s: s, alice: online(t, s, "alice"), bob: online(t, s, "bob"), kate: online(t, s, "kate")}
}

// drain moves everything received so far into the backlog.
func (c *client) drain() {
	for {
		select {
		case raw := <-c.in:
			c.backlog = append(c.backlog, raw)
		default:
			return
		}
	}
}

// mamResult is one result message of a query.
type mamResult struct {
	msg, res, delay, inner *xmlstream.Element
}

func (r mamResult) id() string   { return r.res.Attr("id") }
func (r mamResult) body() string { return r.inner.ChildText("", "body") }

// mamAnswer is the answer to a query: the results in arrival order, the
// IQ and its <fin/> (nil for an error).
type mamAnswer struct {
	rs  []mamResult
	iq  *xmlstream.Element
	fin *xmlstream.Element
}

func (a mamAnswer) bodies() []string {
	out := make([]string, len(a.rs))
	for i, r := range a.rs {
		out[i] = r.body()
	}
	return out
}

func (a mamAnswer) ids() []string {
	out := make([]string, len(a.rs))
	for i, r := range a.rs {
		out[i] = r.id()
	}
	return out
}

func (a mamAnswer) set() *xmlstream.Element { return a.fin.Child(nsRSM, "set") }

// count is <count/>, -1 when absent.
func (a mamAnswer) count() int {
	c := a.set().Child(nsRSM, "count")
	if c == nil {
		return -1
	}
	n, err := strconv.Atoi(c.Text())
	if err != nil {
		return -2
	}
	return n
}

// index is <first index=”/>, -1 when absent.
func (a mamAnswer) index() int {
	f := a.set().Child(nsRSM, "first")
	if f == nil || !f.HasAttr("index") {
		return -1
	}
	n, _ := strconv.Atoi(f.Attr("index"))
	return n
}

func (a mamAnswer) complete() bool { return a.fin.Attr("complete") == "true" }

// errCondition is the condition of an IQ error, "" for a result.
func (a mamAnswer) errCondition() string { return iqErrorCondition(a.iq) }

func iqErrorCondition(iq *xmlstream.Element) string {
	if iq.Attr("type") != "error" {
		return ""
	}
	e := iq.Child("jabber:client", "error")
	for _, c := range e.Elements() {
		if c.Space == "urn:ietf:params:xml:ns:xmpp-stanzas" && c.Local != "text" {
			return c.Local
		}
	}
	return "?"
}

var mamQuerySeq atomic.Int64

// mamForm builds a submitted query form from var=value pairs (a var may
// repeat: list-multi values).
func mamForm(ns string, kv ...string) string {
	if len(kv) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(`<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>` + ns + `</value></field>`)
	vals := map[string][]string{}
	var order []string
	for i := 0; i+1 < len(kv); i += 2 {
		if _, ok := vals[kv[i]]; !ok {
			order = append(order, kv[i])
		}
		vals[kv[i]] = append(vals[kv[i]], kv[i+1])
	}
	for _, k := range order {
		fmt.Fprintf(&b, `<field var='%s'>`, k)
		for _, v := range vals[k] {
			fmt.Fprintf(&b, `<value>%s</value>`, v)
		}
		b.WriteString(`</field>`)
	}
	b.WriteString(`</x>`)
	return b.String()
}

// rsm builds an RSM <set/> from its children's XML.
func rsm(inner string) string { return `<set xmlns='` + nsRSM + `'>` + inner + `</set>` }

// mamQuery sends a query (mam:2) to archive ("" for the own archive) with
// the given inner XML and a fresh queryid, and collects the answer.
func mamQuery(t *testing.T, c *client, archive, inner string) mamAnswer {
	t.Helper()
	return mamQueryNS(t, c, nsMam2, archive, fmt.Sprintf("q%d", mamQuerySeq.Add(1)), inner)
}

func mamQueryNS(t *testing.T, c *client, ns, archive, queryID, inner string) mamAnswer {
	t.Helper()
	to := ""
	if archive != "" {
		to = " to='" + archive + "'"
	}
	qid := ""
	if queryID != "" {
		qid = " queryid='" + queryID + "'"
	}
	iq := c.sendIQ(fmt.Sprintf(`<iq type='set' id='mq%d'%s><query xmlns='%s'%s>%s</query></iq>`, mamQuerySeq.Add(1), to, ns, qid, inner))
	// The results come before the IQ result, in order: they have been
	// handed over already.
	c.drain()
	a := mamAnswer{iq: iq}
	keep := c.backlog[:0:0]
	for _, raw := range c.backlog {
		el := parse(t, raw)
		r := el.Child(ns, "result")
		if el.Local != "message" || r == nil || r.Attr("queryid") != queryID {
			keep = append(keep, raw)
			continue
		}
		fw := r.Child(nsFwd, "forwarded")
		require.NotNil(t, fw, raw)
		a.rs = append(a.rs, mamResult{msg: el, res: r, delay: fw.Child(nsDelay, "delay"), inner: fw.Child("jabber:client", "message")})
	}
	c.backlog = keep
	if iq.Attr("type") == "result" {
		a.fin = iq.Child(ns, "fin")
		require.NotNil(t, a.fin, iq.String())
	} else {
		require.Empty(t, a.rs, "results before an error")
	}
	return a
}

// chatTo sends a chat message with a body from c to user@localhost and
// waits until rc receives it; it returns the delivered message.
func chatTo(t *testing.T, from, rc *client, user, body string) *xmlstream.Element {
	t.Helper()
	from.send(fmt.Sprintf(`<message to='%s@localhost' type='chat' id='%s'><body>%s</body></message>`, user, body, body))
	return rc.expect("message "+body, isMessage(body))
}

// stanzaIDs returns the <stanza-id/> children of el.
func stanzaIDs(el *xmlstream.Element) []*xmlstream.Element {
	var out []*xmlstream.Element
	for _, c := range el.Elements() {
		if c.Space == nsSID && c.Local == "stanza-id" {
			out = append(out, c)
		}
	}
	return out
}

// decodeID decodes an archive id and fails the test when it does not.
func decodeID(t *testing.T, s string) int64 {
	t.Helper()
	id, ok := mam.DecodeID(s)
	require.True(t, ok, "archive id %q", s)
	return id
}

// A1: disco#info of the domain and of the own bare JID list mam:1, mam:2
// and mam:2#extended; the form has FORM_TYPE, with, start, end,
// before-id, after-id and ids.
func TestMamDiscoAndForm(t *testing.T) {
	t.Parallel()
	forEachMam(t, func(t *testing.T, d *db.DB, opts string) {
		e := startMam(t, d, opts, mamParts, nil)
		for _, to := range []string{"localhost", "alice@localhost"} {
			info := e.alice.sendIQ(`<iq type='get' to='` + to + `' id='d1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
			var feats []string
			for _, f := range info.Child("http://jabber.org/protocol/disco#info", "query").Elements() {
				if f.Local == "feature" {
					feats = append(feats, f.Attr("var"))
				}
			}
			for _, f := range []string{nsMam1, nsMam2, nsMam2 + "#extended", nsMam2 + "#groupchat-field", "urn:xmpp:message-retract:0"} {
				require.Contains(t, feats, f, "disco#info of %s", to)
			}
			require.NotContains(t, feats, nsMam2+"#groupchat-available", "pm.archive_groupchats is off")
		}
		form := e.alice.sendIQ(`<iq type='get' id='f1'><query xmlns='urn:xmpp:mam:2'/></iq>`)
		require.Equal(t, "result", form.Attr("type"), form.String())
		x := form.Child(nsMam2, "query").Child("jabber:x:data", "x")
		require.Equal(t, "form", x.Attr("type"))
		fields := map[string]*xmlstream.Element{}
		for _, f := range x.Elements() {
			fields[f.Attr("var")] = f
		}
		for _, f := range []string{"FORM_TYPE", "with", "start", "end", "before-id", "after-id", "ids", "include-groupchat", "{urn:xmpp:fulltext:0}fulltext"} {
			require.Contains(t, fields, f)
		}
		require.Equal(t, nsMam2, fields["FORM_TYPE"].ChildText("jabber:x:data", "value"))
		require.Equal(t, "hidden", fields["FORM_TYPE"].Attr("type"))
		require.Equal(t, "list-multi", fields["ids"].Attr("type"))
		require.NotNil(t, fields["ids"].Child("http://jabber.org/protocol/xdata-validate", "validate").Child("http://jabber.org/protocol/xdata-validate", "open"))
		// mam:1 gets only with, start, end and the text field.
		form1 := e.alice.sendIQ(`<iq type='get' id='f2'><query xmlns='urn:xmpp:mam:1'/></iq>`)
		var vars []string
		for _, f := range form1.Child(nsMam1, "query").Child("jabber:x:data", "x").Elements() {
			vars = append(vars, f.Attr("var"))
		}
		require.Equal(t, []string{"FORM_TYPE", "with", "start", "end", "{urn:xmpp:fulltext:0}fulltext"}, vars)
	})
}

// A2, A3, A4, X1: a chat message is delivered with one stanza-id of the
// recipient's archive (the sender's forged one removed); ids are 12
// base-32 characters, grow with time and decode to the delay stamp; a
// form-less query returns both sides oldest first with the wrapper from
// the owner's bare JID, the queryid, the delay and the sender's full JID,
// and a complete fin with first index 0 and count. With the asynchronous
// writer the query comes right after delivery.
func TestMamStanzaIDAndQuery(t *testing.T) {
	t.Parallel()
	forEachMam(t, func(t *testing.T, d *db.DB, opts string) {
		e := startMam(t, d, opts, mamParts, nil)
		e.alice.send(`<message to='bob@localhost' type='chat' id='m1'><body>hello bob</body>` +
			`<stanza-id xmlns='urn:xmpp:sid:0' by='bob@localhost' id='FORGED'/>` +
			`<stanza-id xmlns='urn:xmpp:sid:0' by='other@localhost' id='KEEP'/></message>`)
		got := e.bob.expect("hello bob", isMessage("hello bob"))
		sids := stanzaIDs(got)
		var mine []*xmlstream.Element
		for _, s := range sids {
			if s.Attr("by") == "bob@localhost" {
				mine = append(mine, s)
			}
		}
		require.Len(t, mine, 1, got.String())
		require.NotEqual(t, "FORGED", mine[0].Attr("id"))
		require.Equal(t, mine[0], sids[len(sids)-1], "the stanza-id is the last child")
		require.Len(t, sids, 2, "another entity's stanza-id is kept")
		bobID := mine[0].Attr("id")

		reply := chatTo(t, e.bob, e.alice, "alice", "hi alice")
		require.Len(t, stanzaIDs(reply), 1)

		a := mamQueryNS(t, e.bob, nsMam2, "", "f27", "")
		require.Equal(t, []string{"hello bob", "hi alice"}, a.bodies())
		require.Equal(t, bobID, a.rs[0].id(), "the delivered stanza-id is the archive id")
		// The wrapper comes from the owner's bare JID, which the mellium
		// client reports as an empty from (its own account).
		require.Equal(t, "", a.rs[0].msg.Attr("from"))
		require.Equal(t, e.bob.jid, a.rs[0].msg.Attr("to"))
		require.NotEmpty(t, a.rs[0].msg.Attr("id"))
		require.NotEqual(t, a.rs[0].msg.Attr("id"), a.rs[1].msg.Attr("id"))
		require.Equal(t, "", a.rs[0].msg.Attr("type"))
		require.Equal(t, "f27", a.rs[0].res.Attr("queryid"))
		require.Equal(t, e.alice.jid, a.rs[0].inner.Attr("from"), "incoming: the sender's full JID")
		require.Equal(t, e.alice.jid, a.rs[0].delay.Attr("from"))
		require.Equal(t, e.bob.jid, a.rs[1].inner.Attr("from"), "outgoing: the owner's full JID")
		require.True(t, a.complete())
		require.Equal(t, 0, a.index())
		require.Equal(t, 2, a.count())
		require.Equal(t, a.rs[0].id(), a.set().ChildText(nsRSM, "first"))
		require.Equal(t, a.rs[1].id(), a.set().ChildText(nsRSM, "last"))
		prev := int64(0)
		for _, r := range a.rs {
			require.Len(t, r.id(), 12)
			require.Equal(t, strings.ToUpper(r.id()), r.id())
			id := decodeID(t, r.id())
			require.Greater(t, id, prev, "ids grow")
			prev = id
			st, err := time.Parse(time.RFC3339Nano, r.delay.Attr("stamp"))
			require.NoError(t, err)
			require.Equal(t, id>>8, st.UnixMicro(), "the delay stamp is the id's time")
			require.Len(t, strings.TrimSuffix(strings.SplitN(r.delay.Attr("stamp"), ".", 2)[1], "Z"), 6, "six fraction digits")
			require.WithinDuration(t, time.Now(), st, time.Minute)
		}
		// Alice's archive has both sides too; its ids are its own.
		aa := mamQuery(t, e.alice, "", "")
		require.Equal(t, []string{"hello bob", "hi alice"}, aa.bodies())
		require.NotEqual(t, bobID, aa.rs[0].id())
		require.Equal(t, stanzaIDs(reply)[0].Attr("id"), aa.rs[1].id())
		// No queryid in the request: none in the results.
		n := mamQueryNS(t, e.alice, nsMam2, "", "", "")
		require.Len(t, n.rs, 2)
		require.False(t, n.rs[0].res.HasAttr("queryid"))
		// mam:1 is answered in mam:1.
		o := mamQueryNS(t, e.alice, nsMam1, "", "old", "")
		require.Len(t, o.rs, 2)
		require.Equal(t, nsMam1, o.fin.Space)
	})
}

// sendN sends n chat messages "m0".."m<n-1>" from alice to bob and waits
// for the last one; it returns the delivered copies.
func (e *mamEnv) sendN(t *testing.T, n int) []*xmlstream.Element {
	t.Helper()
	for i := range n {
		e.alice.send(fmt.Sprintf(`<message to='bob@localhost' type='chat' id='n%d'><body>m%d</body></message>`, i, i))
	}
	out := make([]*xmlstream.Element, n)
	for i := range n {
		out[i] = e.bob.expect(fmt.Sprintf("m%d", i), isMessage(fmt.Sprintf("m%d", i)))
	}
	return out
}

func bodies(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("m%d", i))
	}
	return out
}

// A5: with, start and end (inclusive) filter, alone and combined.
func TestMamFilters(t *testing.T) {
	t.Parallel()
	forEachMam(t, func(t *testing.T, d *db.DB, opts string) {
		e := startMam(t, d, opts, mamParts, nil)
		chatTo(t, e.alice, e.bob, "bob", "a1")
		chatTo(t, e.alice, e.kate, "kate", "k1")
		chatTo(t, e.bob, e.alice, "alice", "a2")
		chatTo(t, e.alice, e.kate, "kate", "k2")
		chatTo(t, e.alice, e.bob, "bob", "a3")
		all := mamQuery(t, e.alice, "", "")
		require.Equal(t, []string{"a1", "k1", "a2", "k2", "a3"}, all.bodies())
		stamp := func(i int) string { return all.rs[i].delay.Attr("stamp") }

		w := mamQuery(t, e.alice, "", mamForm(nsMam2, "with", "bob@localhost"))
		require.Equal(t, []string{"a1", "a2", "a3"}, w.bodies())
		require.Equal(t, 3, w.count())
		wf := mamQuery(t, e.alice, "", mamForm(nsMam2, "with", e.bob.jid))
		require.Equal(t, []string{"a2"}, wf.bodies(), "a full JID also matches the resource")
		wk := mamQuery(t, e.alice, "", mamForm(nsMam2, "with", "KATE@localhost"))
		require.Equal(t, []string{"k1", "k2"}, wk.bodies(), "JIDs are compared normalised")

		s := mamQuery(t, e.alice, "", mamForm(nsMam2, "start", stamp(1)))
		require.Equal(t, []string{"k1", "a2", "k2", "a3"}, s.bodies(), "start is inclusive")
		en := mamQuery(t, e.alice, "", mamForm(nsMam2, "end", stamp(3)))
		require.Equal(t, []string{"a1", "k1", "a2", "k2"}, en.bodies(), "end is inclusive")
		se := mamQuery(t, e.alice, "", mamForm(nsMam2, "start", stamp(1), "end", stamp(3)))
		require.Equal(t, []string{"k1", "a2", "k2"}, se.bodies())
		require.Equal(t, 3, se.count())
		wse := mamQuery(t, e.alice, "", mamForm(nsMam2, "with", "bob@localhost", "start", stamp(1), "end", stamp(4)))
		require.Equal(t, []string{"a2", "a3"}, wse.bodies())
		// A start in another zone means the same instant.
		st, err := time.Parse(time.RFC3339Nano, stamp(2))
		require.NoError(t, err)
		zoned := mamQuery(t, e.alice, "", mamForm(nsMam2, "start", st.In(time.FixedZone("x", 5*3600)).Format(time.RFC3339Nano)))
		require.Equal(t, []string{"a2", "k2", "a3"}, zoned.bodies())
		none := mamQuery(t, e.alice, "", mamForm(nsMam2, "start", "2000-01-01T00:00:00Z", "end", "2000-01-02T00:00:00Z"))
		require.Empty(t, none.rs)
		require.Equal(t, 0, none.count())
		require.True(t, none.complete())
	})
}

// A6, A7, A9: forward paging with <max/> and <after/> (index, count,
// complete only on the last page), backward paging with <before/>
// (oldest first in each page, complete on the first page), and the
// limits: <max>100</max> returns 50 rows with the count of all, not
// complete; a query without <set/> returns 50.
func TestMamPaging(t *testing.T) {
	t.Parallel()
	forEachMam(t, func(t *testing.T, d *db.DB, opts string) {
		e := startMam(t, d, opts, mamParts, nil)
		e.sendN(t, 55)

		// Each page: its rows, index, count and completeness.
		page := func(a mamAnswer, from, to, index int, complete bool, msg string) mamAnswer {
			t.Helper()
			require.Equal(t, bodies(from, to), a.bodies(), msg)
			require.Equal(t, index, a.index(), msg)
			require.Equal(t, 55, a.count(), msg)
			require.Equal(t, complete, a.complete(), msg)
			return a
		}
		cursor := func(a mamAnswer, which string) string { return a.set().ChildText(nsRSM, which) }
		p1 := page(mamQuery(t, e.bob, "", rsm("<max>20</max>")), 0, 20, 0, false, "first page")
		p2 := page(mamQuery(t, e.bob, "", rsm("<max>20</max><after>"+cursor(p1, "last")+"</after>")), 20, 40, 20, false, "second page")
		p3 := page(mamQuery(t, e.bob, "", rsm("<max>20</max><after>"+cursor(p2, "last")+"</after>")), 40, 55, 40, true, "last page")
		end := mamQuery(t, e.bob, "", rsm("<max>20</max><after>"+cursor(p3, "last")+"</after>"))
		require.Empty(t, end.rs)
		require.True(t, end.complete(), "an empty page after the end is complete")
		page(mamQuery(t, e.bob, "", rsm("<max>10</max><index>50</index>")), 50, 55, 50, true, "index")

		b1 := page(mamQuery(t, e.bob, "", rsm("<max>20</max><before/>")), 35, 55, 35, false, "the last page, oldest first")
		b2 := page(mamQuery(t, e.bob, "", rsm("<max>20</max><before>"+cursor(b1, "first")+"</before>")), 15, 35, 15, false, "backwards")
		page(mamQuery(t, e.bob, "", rsm("<max>20</max><before>"+cursor(b2, "first")+"</before>")), 0, 15, 0, true, "the first page, paging backwards")

		big := mamQuery(t, e.bob, "", rsm("<max>100</max>"))
		require.Len(t, big.rs, 50, "max_result_limit caps the page")
		require.Equal(t, 55, big.count())
		require.False(t, big.complete())
		plain := mamQuery(t, e.bob, "", "")
		require.Equal(t, bodies(0, 50), plain.bodies(), "default_result_limit")
		require.False(t, plain.complete())
		zero := mamQuery(t, e.bob, "", rsm("<max>0</max>"))
		require.Empty(t, zero.rs)
		require.Equal(t, 55, zero.count())
		simple := mamQuery(t, e.bob, "", mamForm(nsMam2, "simple", "true")+rsm("<max>5</max><before/>"))
		require.Equal(t, bodies(50, 55), simple.bodies())
		require.Equal(t, -1, simple.count(), "simple: no count")
		require.Equal(t, -1, simple.index(), "simple: no index")
	})
}

// A8: after-id and before-id are exclusive and narrow the count and the
// index; ids returns exactly those rows in archive order; flip-page sends
// a page newest first without changing which rows form it.
func TestMamIDFiltersAndFlip(t *testing.T) {
	t.Parallel()
	forEachMam(t, func(t *testing.T, d *db.DB, opts string) {
		e := startMam(t, d, opts, mamParts, nil)
		e.sendN(t, 10)
		all := mamQuery(t, e.bob, "", "")
		ids := all.ids()
		a := mamQuery(t, e.bob, "", mamForm(nsMam2, "after-id", ids[2], "before-id", ids[8]))
		require.Equal(t, bodies(3, 8), a.bodies())
		require.Equal(t, 5, a.count(), "the id bounds narrow the count")
		require.Equal(t, 0, a.index())
		pg := mamQuery(t, e.bob, "", mamForm(nsMam2, "after-id", ids[2])+rsm("<max>3</max><before/>"))
		require.Equal(t, bodies(7, 10), pg.bodies())
		require.Equal(t, 7, pg.count())
		require.Equal(t, 4, pg.index(), "the index counts the narrowed set")
		// An id bound naming no row is just a bound.
		gone := mam.EncodeID(decodeID(t, ids[4]) + 1)
		b := mamQuery(t, e.bob, "", mamForm(nsMam2, "before-id", gone))
		require.Equal(t, bodies(0, 5), b.bodies())

		sel := mamQuery(t, e.bob, "", mamForm(nsMam2, "ids", ids[7], "ids", ids[1], "ids", strings.ToLower(ids[4])))
		require.Equal(t, []string{"m1", "m4", "m7"}, sel.bodies(), "archive order, ids in either case")
		require.Equal(t, 3, sel.count())

		fl := mamQuery(t, e.bob, "", rsm("<max>4</max><before/>")+"<flip-page/>")
		require.Equal(t, []string{"m9", "m8", "m7", "m6"}, fl.bodies())
		require.Equal(t, ids[9], fl.set().ChildText(nsRSM, "first"), "first is the first row sent")
		require.Equal(t, ids[6], fl.set().ChildText(nsRSM, "last"))
		require.Equal(t, 10, fl.count())
		ff := mamQuery(t, e.bob, "", rsm("<max>3</max>")+"<flip-page xmlns='"+nsMam2+"'/>")
		require.Equal(t, []string{"m2", "m1", "m0"}, ff.bodies())
	})
}

// A10, A15, X2: an unknown RSM cursor or ids value is item-not-found, a
// malformed id not-acceptable; bad start, with, max and index, and too
// many ids, are bad-request; another user's archive is not-allowed.
func TestMamQueryErrors(t *testing.T) {
	t.Parallel()
	forEachMam(t, func(t *testing.T, d *db.DB, opts string) {
		e := startMam(t, d, opts, mamParts, nil)
		e.sendN(t, 3)
		all := mamQuery(t, e.bob, "", "")
		unknown := mam.EncodeID(decodeID(t, all.ids()[0]) + 1)
		// The id of a row outside the result set is unknown to the cursor.
		outside := mamForm(nsMam2, "after-id", all.ids()[0])
		manyIDs := []string{}
		for range 51 {
			manyIDs = append(manyIDs, "ids", all.ids()[0])
		}
		for _, tc := range []struct {
			name, inner, cond, text string
		}{
			{"after unknown", rsm("<after>" + unknown + "</after>"), "item-not-found", "Message with specified ID is not found"},
			{"before unknown", rsm("<before>" + unknown + "</before>"), "item-not-found", "Message with specified ID is not found"},
			{"after outside the set", outside + rsm("<after>"+all.ids()[0]+"</after>"), "item-not-found", ""},
			{"simple unknown cursor", mamForm(nsMam2, "simple", "true") + rsm("<after>"+unknown+"</after>"), "item-not-found", ""},
			{"ids unknown", mamForm(nsMam2, "ids", all.ids()[1], "ids", unknown), "item-not-found", "Message with specified ID is not found"},
			{"malformed cursor", rsm("<after>not-an-id!</after>"), "not-acceptable", "Invalid stanza ID provided"},
			{"malformed before-id", mamForm(nsMam2, "before-id", "WWWW"), "not-acceptable", "Invalid stanza ID provided"},
			{"too big id", mamForm(nsMam2, "after-id", "VVVVVVVVVVVVVVV"), "not-acceptable", ""},
			{"malformed ids", mamForm(nsMam2, "ids", "zz"), "not-acceptable", ""},
			{"bad start", mamForm(nsMam2, "start", "yesterday"), "bad-request", ""},
			{"bad end", mamForm(nsMam2, "end", "2026-13-01T00:00:00Z"), "bad-request", ""},
			{"bad with", mamForm(nsMam2, "with", "@@bad"), "bad-request", ""},
			{"bad max", rsm("<max>lots</max>"), "bad-request", ""},
			{"negative max", rsm("<max>-1</max>"), "bad-request", ""},
			{"bad index", rsm("<index>x</index>"), "bad-request", ""},
			{"too many ids", mamForm(nsMam2, manyIDs...), "bad-request", ""},
		} {
			a := mamQuery(t, e.bob, "", tc.inner)
			require.Equal(t, tc.cond, a.errCondition(), "%s: %s", tc.name, a.iq.String())
			if tc.text != "" {
				require.Equal(t, tc.text, errorText(a.iq), tc.name)
			}
		}
		other := mamQuery(t, e.alice, "bob@localhost", "")
		require.Equal(t, "not-allowed", other.errCondition())
		require.Equal(t, "cancel", other.iq.Child("jabber:client", "error").Attr("type"))
		require.Equal(t, "The action is not allowed.", errorText(other.iq))
		// Bob's archive is intact after all that.
		require.Len(t, mamQuery(t, e.bob, "", "").rs, 3)
	})
}

// A11: headline, no-store, error, chat state only and <delay/> messages
// are not archived (and get no stanza-id); chat, normal and a store hint
// are.
func TestMamArchivable(t *testing.T) {
	t.Parallel()
	forEachMam(t, func(t *testing.T, d *db.DB, opts string) {
		e := startMam(t, d, opts, mamParts, nil)
		send := func(raw, body string) *xmlstream.Element {
			e.alice.send(raw)
			return e.bob.expect(body, func(el *xmlstream.Element) bool { return el.Attr("id") == body })
		}
		for _, tc := range []struct {
			raw  string
			kept bool
		}{
			{`<message to='bob@localhost' type='headline' id='h'><body>news</body></message>`, false},
			{`<message to='bob@localhost' type='chat' id='ns'><body>secret</body><no-store xmlns='urn:xmpp:hints'/></message>`, false},
			{`<message to='bob@localhost' type='chat' id='cs'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`, false},
			{`<message to='bob@localhost' type='chat' id='dl'><body>old</body><delay xmlns='urn:xmpp:delay' stamp='2020-01-01T00:00:00Z'/></message>`, false},
			{`<message to='bob@localhost' type='chat' id='rs'><body>r</body><result xmlns='urn:example:other'/></message>`, false},
			{`<message to='bob@localhost' type='chat' id='mk'><displayed xmlns='urn:xmpp:chat-markers:0' id='x'/></message>`, false},
			{`<message to='bob@localhost' type='chat' id='ch'><body>chat</body></message>`, true},
			{`<message to='bob@localhost' id='nm'><body>normal</body></message>`, true},
			{`<message to='bob@localhost' type='chat' id='eb'><body/></message>`, true},
			{`<message to='bob@localhost' type='chat' id='st'><store xmlns='urn:xmpp:hints'/></message>`, true},
		} {
			id := parse(t, tc.raw).Attr("id")
			got := send(tc.raw, id)
			if tc.kept {
				require.Len(t, stanzaIDs(got), 1, "%s is archived", id)
			} else {
				require.Empty(t, stanzaIDs(got), "%s is not archived", id)
			}
		}
		// An error message is delivered as is, never archived.
		e.alice.send(`<message to='bob@localhost' type='error' id='er'><body>bounce</body><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`)
		require.Empty(t, stanzaIDs(e.bob.expect("error", func(el *xmlstream.Element) bool { return el.Attr("id") == "er" })))
		var ids []string
		for _, r := range mamQuery(t, e.bob, "", "").rs {
			ids = append(ids, r.inner.Attr("id"))
		}
		require.Equal(t, []string{"ch", "nm", "eb", "st"}, ids)
		ids = nil
		for _, r := range mamQuery(t, e.alice, "", "").rs {
			ids = append(ids, r.inner.Attr("id"))
		}
		require.Equal(t, []string{"ch", "nm", "eb", "st"}, ids, "the sender's side follows the same rule")
	})
}

// A12: a message to an offline user is archived once per side; the
// offline copy carries the recipient's archive id, and its replay (with a
// delay) is not archived again.
func TestMamOffline(t *testing.T) {
	t.Parallel()
	forEachMam(t, func(t *testing.T, d *db.DB, opts string) {
		e := startMam(t, d, opts, mamParts, nil)
		e.s.register(t, "dave")
		e.alice.send(`<message to='dave@localhost' type='chat' id='off1'><body>while you were out</body></message>`)
		e.alice.barrier("localhost")
		dave := online(t, e.s, "dave")
		got := dave.expect("offline message", isMessage("while you were out"))
		require.NotNil(t, got.Child(nsDelay, "delay"), "an offline replay")
		sids := stanzaIDs(got)
		require.Len(t, sids, 1, got.String())
		require.Equal(t, "dave@localhost", sids[0].Attr("by"))
		a := mamQuery(t, dave, "", "")
		require.Equal(t, []string{"while you were out"}, a.bodies())
		require.Equal(t, sids[0].Attr("id"), a.rs[0].id())
		require.Len(t, mamQuery(t, e.alice, "", "").rs, 1)
	})
}

// prefsIQ sends a prefs set (inner = the <prefs/> content and default)
// or get and returns the answer.
func prefsIQ(c *client, typ, def, inner string) *xmlstream.Element {
	d := ""
	if def != "" {
		d = " default='" + def + "'"
	}
	return c.sendIQ(fmt.Sprintf(`<iq type='%s' id='%s'><prefs xmlns='urn:xmpp:mam:2'%s>%s</prefs></iq>`, typ, newID(), d, inner))
}

// prefsOf reads a <prefs/> answer: default, always and never lists.
func prefsOf(t *testing.T, iq *xmlstream.Element) (string, []string, []string) {
	t.Helper()
	require.Equal(t, "result", iq.Attr("type"), iq.String())
	p := iq.Child(nsMam2, "prefs")
	require.NotNil(t, p, iq.String())
	list := func(name string) []string {
		out := []string{}
		if l := p.Child(nsMam2, name); l != nil {
			for _, j := range l.Elements() {
				out = append(out, j.Text())
			}
		}
		return out
	}
	return p.Attr("default"), list("always"), list("never")
}

// A13: preferences: the default is always; a set is echoed and read back;
// never (per JID or as the default) stops archiving and the stanza-id;
// always for a JID beats a never default. Without user_prefs_store a set
// is feature-not-implemented.
func TestMamPrefs(t *testing.T) {
	t.Parallel()
	forEachMam(t, func(t *testing.T, d *db.DB, opts string) {
		e := startMam(t, d, opts, mamParts, nil)
		def, always, never := prefsOf(t, prefsIQ(e.alice, "get", "", ""))
		require.Equal(t, "always", def)
		require.Empty(t, always)
		require.Empty(t, never)

		set := prefsIQ(e.alice, "set", "always", "<always/><never>\n  <jid>KATE@localhost</jid>\n  <jid>@@bad</jid>\n</never>")
		def, always, never = prefsOf(t, set)
		require.Equal(t, "always", def)
		require.Empty(t, always)
		require.Equal(t, []string{"kate@localhost"}, never, "lower-cased, the unparsable JID dropped")
		def, _, never = prefsOf(t, prefsIQ(e.alice, "get", "", ""))
		require.Equal(t, "always", def)
		require.Equal(t, []string{"kate@localhost"}, never)

		fromKate := chatTo(t, e.kate, e.alice, "alice", "not kept")
		require.Empty(t, stanzaIDs(fromKate), "never: no stanza-id")
		fromBob := chatTo(t, e.bob, e.alice, "alice", "kept")
		require.Len(t, stanzaIDs(fromBob), 1)
		require.Equal(t, []string{"kept"}, mamQuery(t, e.alice, "", "").bodies())
		require.Equal(t, []string{"not kept"}, mamQuery(t, e.kate, "", "").bodies(), "the sender's own preferences decide its copy")

		def, always, never = prefsOf(t, prefsIQ(e.alice, "set", "never", "<always><jid>bob@localhost</jid></always><never/>"))
		require.Equal(t, "never", def)
		require.Equal(t, []string{"bob@localhost"}, always)
		require.Empty(t, never, "a set replaces the whole preference")
		require.Len(t, stanzaIDs(chatTo(t, e.bob, e.alice, "alice", "bob always")), 1)
		require.Empty(t, stanzaIDs(chatTo(t, e.kate, e.alice, "alice", "kate never")))
		chatTo(t, e.alice, e.kate, "kate", "outgoing never")
		require.Equal(t, []string{"kept", "bob always"}, mamQuery(t, e.alice, "", "").bodies())

		bad := prefsIQ(e.alice, "set", "sometimes", "")
		require.Equal(t, "bad-request", iqErrorCondition(bad))
	})
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e := startMam(t, d, "", "[modules.mod_mam.pm]\n", nil)
		res := prefsIQ(e.alice, "set", "never", "")
		require.Equal(t, "feature-not-implemented", iqErrorCondition(res), res.String())
		def, _, _ := prefsOf(t, prefsIQ(e.alice, "get", "", ""))
		require.Equal(t, "always", def)
		require.Len(t, stanzaIDs(chatTo(t, e.bob, e.alice, "alice", "kept")), 1)
	})
}

// roster subscribes a to b's presence and b to a's (both), through the
// roster IQs and presence.
func mutualSubscription(t *testing.T, a, b *client, aUser, bUser string) {
	t.Helper()
	a.send(`<presence to='` + bUser + `@localhost' type='subscribe'/>`)
	b.expect("subscribe", func(el *xmlstream.Element) bool { return el.Local == "presence" && el.Attr("type") == "subscribe" })
	b.send(`<presence to='` + aUser + `@localhost' type='subscribed'/>`)
	b.send(`<presence to='` + aUser + `@localhost' type='subscribe'/>`)
	a.expect("subscribe", func(el *xmlstream.Element) bool { return el.Local == "presence" && el.Attr("type") == "subscribe" })
	a.send(`<presence to='` + bUser + `@localhost' type='subscribed'/>`)
	a.barrier("localhost")
	b.barrier("localhost")
}

// A13 (roster): default roster archives the contacts with a subscription
// from or both only.
func TestMamPrefsRoster(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e := startMam(t, d, "", mamParts, nil)
		mutualSubscription(t, e.alice, e.bob, "alice", "bob")
		prefsOf(t, prefsIQ(e.alice, "set", "roster", ""))
		require.Len(t, stanzaIDs(chatTo(t, e.bob, e.alice, "alice", "contact")), 1)
		require.Empty(t, stanzaIDs(chatTo(t, e.kate, e.alice, "alice", "stranger")))
		require.Equal(t, []string{"contact"}, mamQuery(t, e.alice, "", "").bodies())
	})
}

// roomStanzaID returns the room's stanza-id of a message (by = room).
func roomStanzaID(t *testing.T, el *xmlstream.Element, room string) string {
	t.Helper()
	var ids []string
	for _, s := range stanzaIDs(el) {
		if s.Attr("by") == room {
			ids = append(ids, s.Attr("id"))
		}
	}
	require.Len(t, ids, 1, el.String())
	return ids[0]
}

// A14, A15, A17, X1: MUC Light: one room stanza-id shared by every copy
// (the archive's id), a member's room query returns the creation event,
// the messages and the configuration change with those ids, results from
// the room's JID; members' own archives stay empty; a non-member gets
// not-allowed; the inbox entries carry the archive's stanza-ids, for
// one-to-one chats too.
func TestMamMucLight(t *testing.T) {
	t.Parallel()
	forEachMam(t, func(t *testing.T, d *db.DB, opts string) {
		e := startMam(t, d, opts, mamParts, nil)
		room := "den@" + mlSvc
		requireResult(t, e.alice.mlIQ("set", room, nsMLCrt, "<occupants>"+users("bob@localhost", "member")+"</occupants>"))
		for _, c := range []*client{e.alice, e.bob} {
			note := c.expect("creation", isNote(room, nsMLAff))
			require.Empty(t, stanzaIDs(note), "creation notifications carry no stanza-id")
		}
		e.alice.send(`<message to='` + room + `' type='groupchat' id='g1'><body>hello room</body>` +
			`<stanza-id xmlns='urn:xmpp:sid:0' by='` + room + `' id='FORGED'/></message>`)
		a1 := e.alice.expect("echo", isMessage("hello room"))
		b1 := e.bob.expect("copy", isMessage("hello room"))
		sid := roomStanzaID(t, a1, room)
		require.Equal(t, sid, roomStanzaID(t, b1, room), "one stanza-id for every copy")
		require.NotEqual(t, "FORGED", sid)
		require.Len(t, sid, 12)
		e.bob.send(`<message to='` + room + `' type='groupchat' id='g2'><body>hi alice</body></message>`)
		b2 := e.alice.expect("copy", isMessage("hi alice"))
		e.bob.expect("echo", isMessage("hi alice"))
		// Chat states reach the members, unarchived.
		e.bob.send(`<message to='` + room + `' type='groupchat' id='g3'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`)
		cs := e.alice.expect("chat state", func(el *xmlstream.Element) bool { return el.Attr("id") == "g3" })
		require.Len(t, stanzaIDs(cs), 1, "a room id, not an archive id")
		requireResult(t, e.alice.mlIQ("set", room, nsMLCfg, "<roomname>Den</roomname>"))
		cfgNote := e.bob.expect("config change", isNote(room, nsMLCfg))
		cfgID := roomStanzaID(t, cfgNote, room)

		a := mamQuery(t, e.bob, room, "")
		require.Equal(t, "", a.errCondition(), a.iq.String())
		require.Len(t, a.rs, 4, "creation event, two messages, the configuration change")
		created := a.rs[0].inner.Child(nsMLAff, "x")
		require.NotNil(t, created, a.rs[0].inner.String())
		require.Nil(t, created.Child(nsMLAff, "version"), "the creation event has no version")
		require.Equal(t, map[string]string{"alice@localhost": "owner", "bob@localhost": "member"}, affs(t, created))
		require.Equal(t, room, a.rs[0].inner.Attr("from"))
		require.Equal(t, []string{sid, roomStanzaID(t, b2, room), cfgID}, a.ids()[1:])
		require.Equal(t, "hello room", a.rs[1].body())
		require.Equal(t, room+"/alice@localhost", a.rs[1].inner.Attr("from"))
		require.Equal(t, room+"/alice@localhost", a.rs[1].delay.Attr("from"))
		item := a.rs[1].inner.Child("http://jabber.org/protocol/muc#user", "x").Child("http://jabber.org/protocol/muc#user", "item")
		require.Equal(t, "alice@localhost", item.Attr("jid"), "the archived copy names the sender")
		require.Equal(t, "owner", item.Attr("affiliation"))
		require.Equal(t, "moderator", item.Attr("role"))
		require.Nil(t, a1.Child("http://jabber.org/protocol/muc#user", "x"), "the broadcast copy does not")
		require.Equal(t, room, a.rs[1].msg.Attr("from"), "results come from the room")
		require.Equal(t, "Den", a.rs[3].inner.Child(nsMLCfg, "x").ChildText(nsMLCfg, "roomname"))
		require.Equal(t, 4, a.count())
		require.True(t, a.complete())
		// Paging and filters work on rooms too.
		last := mamQuery(t, e.alice, room, rsm("<max>1</max><before/>"))
		require.Equal(t, []string{cfgID}, last.ids())
		byNick := mamQuery(t, e.alice, room, mamForm(nsMam2, "with", room+"/bob@localhost"))
		require.Equal(t, []string{"hi alice"}, byNick.bodies())

		require.Empty(t, mamQuery(t, e.alice, "", "").rs, "members' own archives get no room traffic")
		require.Empty(t, mamQuery(t, e.bob, "", "").rs)

		denied := mamQuery(t, e.kate, room, "")
		require.Equal(t, "not-allowed", denied.errCondition())
		require.Equal(t, "The action is not allowed. Not allowed to enter the room.", errorText(denied.iq))
		md := e.kate.sendIQ(`<iq type='get' to='` + room + `' id='md'><metadata xmlns='urn:xmpp:mam:2'/></iq>`)
		require.Equal(t, "not-allowed", iqErrorCondition(md))

		// A17: the inbox entries carry the archive's stanza-ids.
		rs := entries(t, e.alice)
		var roomEntry *inboxResult
		for i := range rs {
			if rs[i].inner != nil && strings.HasPrefix(rs[i].inner.Attr("from"), room) {
				roomEntry = &rs[i]
			}
		}
		require.NotNil(t, roomEntry)
		require.Equal(t, "hi alice", roomEntry.body(), "the last message (configuration changes do not count)")
		require.Equal(t, a.ids()[2], roomStanzaID(t, roomEntry.inner, room), "the room entry's stanza-id is the room archive's id")
		got := chatTo(t, e.kate, e.bob, "bob", "one to one")
		bobID := stanzaIDs(got)[0].Attr("id")
		var oneToOne *inboxResult
		for i, r := range entries(t, e.bob) {
			if r.body() == "one to one" {
				oneToOne = &entries(t, e.bob)[i]
			}
		}
		require.NotNil(t, oneToOne)
		require.Equal(t, bobID, stanzaIDs(oneToOne.inner)[0].Attr("id"), "the inbox entry carries the recipient's archive id")
		require.Equal(t, bobID, mamQuery(t, e.bob, "", "").ids()[0])
		// Room disco#info announces the archive.
		info := e.alice.sendIQ(`<iq type='get' to='` + room + `' id='di'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
		require.Contains(t, info.String(), nsMam2)
	})
}

// retracted returns the <retracted/> child of a result's inner message in
// namespace ns, nil when there is none.
func retracted(r mamResult, ns string) *xmlstream.Element { return r.inner.Child(ns, "retracted") }

// A21: a retraction by origin-id leaves tombstones on both sides of a
// one-to-one chat; one by stanza-id in a MUC Light room leaves one in the
// room's archive (an author may retract only its own message); the
// retraction messages are archived too. With message_retraction = false
// nothing is tombstoned.
func TestMamRetraction(t *testing.T) {
	t.Parallel()
	const nsRetract, nsByID = "urn:xmpp:message-retract:0", "urn:esl:message-retract-by-stanza-id:0"
	forEachMam(t, func(t *testing.T, d *db.DB, opts string) {
		e := startMam(t, d, opts, mamParts, nil)
		e.alice.send(`<message to='bob@localhost' type='chat' id='r1'><body>oops</body><origin-id xmlns='urn:xmpp:sid:0' id='orig-1'/></message>`)
		e.bob.expect("oops", isMessage("oops"))
		chatTo(t, e.alice, e.bob, "bob", "fine")
		e.alice.send(`<message to='bob@localhost' type='chat' id='r2'><apply-to xmlns='urn:xmpp:fasten:0' id='orig-1'>` +
			`<retract xmlns='` + nsRetract + `'/></apply-to><body>retracted a message</body></message>`)
		e.bob.expect("retraction", isMessage("retracted a message"))
		for _, c := range []*client{e.alice, e.bob} {
			a := mamQuery(t, c, "", "")
			require.Len(t, a.rs, 3)
			tomb := a.rs[0]
			require.Equal(t, "", tomb.body(), "the tombstone has no body")
			rt := retracted(tomb, nsRetract)
			require.NotNil(t, rt, tomb.inner.String())
			require.Equal(t, "orig-1", rt.Child(nsSID, "origin-id").Attr("id"))
			_, err := time.Parse(time.RFC3339Nano, rt.Attr("stamp"))
			require.NoError(t, err)
			require.Equal(t, "r1", tomb.inner.Attr("id"), "the tombstone keeps the attributes")
			require.Equal(t, "chat", tomb.inner.Attr("type"))
			require.Equal(t, "fine", a.rs[1].body())
			require.Equal(t, "retracted a message", a.rs[2].body(), "the retraction is archived")
		}
		search := mamQuery(t, e.bob, "", mamForm(nsMam2, "{urn:xmpp:fulltext:0}fulltext", "oops"))
		require.Empty(t, search.rs, "a tombstone is not found by its old text")

		room := "den@" + mlSvc
		requireResult(t, e.alice.mlIQ("set", room, nsMLCrt, "<occupants>"+users("bob@localhost", "member")+"</occupants>"))
		e.alice.send(`<message to='` + room + `' type='groupchat' id='g1'><body>regret</body></message>`)
		sid := roomStanzaID(t, e.bob.expect("room message", isMessage("regret")), room)
		e.alice.expect("echo", isMessage("regret"))
		e.bob.send(`<message to='` + room + `' type='groupchat' id='g2'><apply-to xmlns='urn:xmpp:fasten:0' id='` + sid + `'>` +
			`<retract xmlns='` + nsByID + `'/></apply-to><body/></message>`)
		e.alice.expect("bob's attempt", func(el *xmlstream.Element) bool { return el.Attr("id") == "g2" })
		a := mamQuery(t, e.alice, room, mamForm(nsMam2, "ids", sid))
		require.Equal(t, []string{"regret"}, a.bodies(), "only the author may retract")
		e.alice.send(`<message to='` + room + `' type='groupchat' id='g3'><apply-to xmlns='urn:xmpp:fasten:0' id='` + sid + `'>` +
			`<retract xmlns='` + nsByID + `'/></apply-to><body/></message>`)
		e.bob.expect("alice's retraction", func(el *xmlstream.Element) bool { return el.Attr("id") == "g3" })
		a = mamQuery(t, e.bob, room, mamForm(nsMam2, "ids", sid))
		require.Len(t, a.rs, 1)
		rt := retracted(a.rs[0], nsByID)
		require.NotNil(t, rt, a.rs[0].inner.String())
		require.Equal(t, sid, rt.Child(nsSID, "stanza-id").Attr("id"))
		require.Equal(t, "", a.rs[0].body())
	})
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e := startMam(t, d, "message_retraction = false\n", mamParts, nil)
		e.alice.send(`<message to='bob@localhost' type='chat' id='r1'><body>kept</body><origin-id xmlns='urn:xmpp:sid:0' id='o1'/></message>`)
		e.bob.expect("kept", isMessage("kept"))
		e.alice.send(`<message to='bob@localhost' type='chat' id='r2'><apply-to xmlns='urn:xmpp:fasten:0' id='o1'><retract xmlns='` + nsRetract + `'/></apply-to></message>`)
		e.bob.expect("retraction", func(el *xmlstream.Element) bool { return el.Attr("id") == "r2" })
		a := mamQuery(t, e.bob, "", "")
		require.Len(t, a.rs, 2, "the retraction is archived whatever message_retraction says")
		require.Equal(t, "kept", a.rs[0].body())
	})
}

// A22: metadata gives the first and the last ids of the archive; an empty
// archive gives an empty <metadata/>.
func TestMamMetadata(t *testing.T) {
	t.Parallel()
	forEachMam(t, func(t *testing.T, d *db.DB, opts string) {
		e := startMam(t, d, opts, mamParts, nil)
		md := e.alice.sendIQ(`<iq type='get' id='md1'><metadata xmlns='urn:xmpp:mam:2'/></iq>`)
		require.Equal(t, "result", md.Attr("type"), md.String())
		require.Empty(t, md.Child(nsMam2, "metadata").Elements())
		e.sendN(t, 3)
		all := mamQuery(t, e.alice, "", "")
		md = e.alice.sendIQ(`<iq type='get' id='md2'><metadata xmlns='urn:xmpp:mam:2'/></iq>`)
		m := md.Child(nsMam2, "metadata")
		require.Equal(t, all.ids()[0], m.Child(nsMam2, "start").Attr("id"))
		require.Equal(t, all.ids()[2], m.Child(nsMam2, "end").Attr("id"))
		require.Equal(t, all.rs[0].delay.Attr("stamp"), m.Child(nsMam2, "start").Attr("timestamp"))
		require.Equal(t, all.rs[2].delay.Attr("stamp"), m.Child(nsMam2, "end").Attr("timestamp"))
	})
}

// A23: with pm.archive_groupchats = true the members' own archives get the
// room's groupchat copies (MUC Light); include-groupchat = false leaves
// them out.
func TestMamArchiveGroupchats(t *testing.T) {
	t.Parallel()
	forEachMam(t, func(t *testing.T, d *db.DB, opts string) {
		e := startMam(t, d, opts, "[modules.mod_mam.pm]\narchive_groupchats = true\n", nil)
		info := e.alice.sendIQ(`<iq type='get' to='alice@localhost' id='d1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
		require.Contains(t, info.String(), nsMam2+"#groupchat-available")
		room := "den@" + mlSvc
		requireResult(t, e.alice.mlIQ("set", room, nsMLCrt, "<occupants>"+users("bob@localhost", "member")+"</occupants>"))
		e.bob.expect("creation", isNote(room, nsMLAff))
		e.alice.send(`<message to='` + room + `' type='groupchat' id='g1'><body>for the archive</body></message>`)
		e.bob.expect("copy", isMessage("for the archive"))
		e.alice.expect("echo", isMessage("for the archive"))
		chatTo(t, e.kate, e.bob, "bob", "direct")
		a := mamQuery(t, e.bob, "", "")
		require.Contains(t, a.bodies(), "for the archive")
		require.Contains(t, a.bodies(), "direct")
		var gc mamResult
		for _, r := range a.rs {
			if r.body() == "for the archive" {
				gc = r
			}
		}
		require.Equal(t, "groupchat", gc.inner.Attr("type"))
		require.Equal(t, room+"/alice@localhost", gc.inner.Attr("from"))
		w := mamQuery(t, e.bob, "", mamForm(nsMam2, "with", room))
		require.Contains(t, w.bodies(), "for the archive")
		n := mamQuery(t, e.bob, "", mamForm(nsMam2, "include-groupchat", "false"))
		require.Equal(t, []string{"direct"}, n.bodies())
		require.Equal(t, 1, n.count())
	})
}

// A24: full-text search matches the rows containing every word, in any
// order and case; with full_text_search = false it is
// feature-not-implemented.
func TestMamFullText(t *testing.T) {
	t.Parallel()
	const field = "{urn:xmpp:fulltext:0}fulltext"
	forEachMam(t, func(t *testing.T, d *db.DB, opts string) {
		e := startMam(t, d, opts, mamParts, nil)
		for _, b := range []string{"The quick brown fox", "a lazy dog jumps", "Quick, dog!"} {
			chatTo(t, e.alice, e.bob, "bob", b)
		}
		require.Equal(t, []string{"Quick, dog!"}, mamQuery(t, e.bob, "", mamForm(nsMam2, field, "dog QUICK")).bodies())
		require.Equal(t, []string{"a lazy dog jumps", "Quick, dog!"}, mamQuery(t, e.bob, "", mamForm(nsMam2, field, "DOG")).bodies())
		require.Equal(t, []string{"The quick brown fox"}, mamQuery(t, e.bob, "", mamForm(nsMam2, "full-text-search", "brown")).bodies())
		require.Empty(t, mamQuery(t, e.bob, "", mamForm(nsMam2, field, "cat")).rs)
	})
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e := startMam(t, d, "full_text_search = false\n", mamParts, nil)
		chatTo(t, e.alice, e.bob, "bob", "searchable?")
		a := mamQuery(t, e.bob, "", mamForm(nsMam2, field, "searchable"))
		require.Equal(t, "feature-not-implemented", a.errCondition())
		form := e.bob.sendIQ(`<iq type='get' id='f'><query xmlns='urn:xmpp:mam:2'/></iq>`)
		require.NotContains(t, form.String(), "fulltext")
	})
}

// mamMetric reads a counter (its value) or a histogram (its sample count)
// of the server, host_type localhost.
func mamMetric(t *testing.T, s *testServer, name string) float64 {
	t.Helper()
	mfs, err := s.Metrics().Prometheus().Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "host_type" && l.GetValue() == "localhost" {
					if h := m.GetHistogram(); h != nil {
						return float64(h.GetSampleCount())
					}
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no metric %s{host_type=localhost}", name)
	return 0
}

// A25: the metrics move: archiving, lookups, preferences, errors,
// removals and (asynchronous writer) flushes, for both parts.
func TestMamMetrics(t *testing.T) {
	t.Parallel()
	for _, w := range mamWriters {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			e := startMam(t, dbtestSQLite(t), w.opts, mamParts, nil)
			require.Zero(t, mamMetric(t, e.s, "mod_mam_pm_archive_message_count"), "exists at 0")
			chatTo(t, e.alice, e.bob, "bob", "one")
			require.Equal(t, 2.0, mamMetric(t, e.s, "mod_mam_pm_archive_message_count"), "both sides")
			require.Equal(t, 2.0, mamMetric(t, e.s, "mod_mam_pm_archive_message_time"))
			mamQuery(t, e.bob, "", "")
			mamQuery(t, e.bob, "", mamForm(nsMam2, "simple", "true"))
			require.Equal(t, 2.0, mamMetric(t, e.s, "mod_mam_pm_lookup_count"))
			require.Equal(t, 1.0, mamMetric(t, e.s, "mod_mam_pm_lookup_simple"))
			require.Equal(t, 2.0, mamMetric(t, e.s, "mod_mam_pm_lookup_size"))
			require.Equal(t, 2.0, mamMetric(t, e.s, "mod_mam_pm_lookup_time"))
			mamQuery(t, e.bob, "", rsm("<max>x</max>"))
			require.Equal(t, 1.0, mamMetric(t, e.s, "mod_mam_pm_dropped_iq_count"))
			prefsIQ(e.bob, "get", "", "")
			prefsIQ(e.bob, "set", "always", "")
			require.Equal(t, 1.0, mamMetric(t, e.s, "mod_mam_pm_get_prefs_count"))
			require.Equal(t, 1.0, mamMetric(t, e.s, "mod_mam_pm_set_prefs_count"))
			room := "den@" + mlSvc
			requireResult(t, e.alice.mlIQ("set", room, nsMLCrt, ""))
			e.alice.send(`<message to='` + room + `' type='groupchat' id='g1'><body>room</body></message>`)
			e.alice.expect("echo", isMessage("room"))
			require.Equal(t, 2.0, mamMetric(t, e.s, "mod_mam_muc_archive_message_count"), "creation event and message")
			mamQuery(t, e.alice, room, "")
			require.Equal(t, 1.0, mamMetric(t, e.s, "mod_mam_muc_lookup_count"))
			if w.name == "async" {
				require.Positive(t, mamMetric(t, e.s, "mod_mam_pm_flushed_count"))
				require.Positive(t, mamMetric(t, e.s, "mod_mam_pm_flushed_time"))
				require.Positive(t, mamMetric(t, e.s, "mod_mam_pm_flushed_time_per_message"))
				require.Positive(t, mamMetric(t, e.s, "mod_mam_muc_flushed_count"))
			} else {
				require.Zero(t, mamMetric(t, e.s, "mod_mam_pm_flushed_count"))
			}
			require.NoError(t, e.s.Accounts().Remove(t.Context(), bare("bob@localhost")))
			require.Equal(t, 1.0, mamMetric(t, e.s, "mod_mam_pm_remove_archive_count"))
			requireResult(t, e.alice.mlIQ("set", room, nsMLDst, ""))
			require.Equal(t, 1.0, mamMetric(t, e.s, "mod_mam_muc_remove_archive_count"))
		})
	}
}

func dbtestSQLite(t *testing.T) *db.DB { return dbtest.Open(t, db.SQLite) }

// Classic MUC rooms (muc.host = conference.@HOST@): a groupchat message is
// archived once in the room's archive, its stanza-id is the archive id in
// every copy, the room's history and the inbox; users allowed to enter
// may query, an outcast may not; private messages through the room are
// one-to-one messages.
func TestMamClassicMuc(t *testing.T) {
	t.Parallel()
	forEachMam(t, func(t *testing.T, d *db.DB, opts string) {
		e := startMam(t, d, opts, "[modules.mod_mam.pm]\n[modules.mod_mam.muc]\n", nil)
		room := "lounge@" + mucSvc
		createRoom(t, e.alice, room, "al")
		join(t, e.bob, room, "bobby", "")
		e.alice.expect("bob's presence", presFrom(room+"/bobby"))
		mucPost(e.alice, room, "c1", "hello lounge")
		a1 := e.alice.expect("echo", roomMsg(room, "al", "hello lounge"))
		b1 := e.bob.expect("copy", roomMsg(room, "al", "hello lounge"))
		sid := roomStanzaID(t, a1, room)
		require.Equal(t, sid, roomStanzaID(t, b1, room))
		e.bob.barrier(room)

		a := mamQuery(t, e.bob, room, "")
		require.Equal(t, "", a.errCondition(), a.iq.String())
		require.Equal(t, []string{"hello lounge"}, a.bodies())
		require.Equal(t, sid, a.rs[0].id())
		require.Equal(t, room+"/al", a.rs[0].inner.Attr("from"))
		require.Equal(t, room, a.rs[0].msg.Attr("from"))
		byNick := mamQuery(t, e.bob, room, mamForm(nsMam2, "with", room+"/al"))
		require.Len(t, byNick.rs, 1)
		require.Empty(t, mamQuery(t, e.bob, room, mamForm(nsMam2, "with", room+"/bobby")).rs)
		// Kate never entered but may: she may read.
		require.Len(t, mamQuery(t, e.kate, room, "").rs, 1)
		require.Equal(t, "result", setAff(e.alice, room, "kate@localhost", "outcast").Attr("type"))
		denied := mamQuery(t, e.kate, room, "")
		require.Equal(t, "not-allowed", denied.errCondition())
		// Members' own archives stay empty; a private message is one-to-one.
		require.Empty(t, mamQuery(t, e.alice, "", "").rs)
		e.bob.send(`<message to='` + room + `/al' type='chat' id='pm1'><body>psst</body><x xmlns='` + nsMUCU + `'/></message>`)
		pm := e.alice.expect("private message", isMessage("psst"))
		require.Len(t, stanzaIDs(pm), 1)
		require.Equal(t, "alice@localhost", stanzaIDs(pm)[0].Attr("by"))
		ap := mamQuery(t, e.alice, "", "")
		require.Equal(t, []string{"psst"}, ap.bodies())
		require.Equal(t, room+"/bobby", ap.rs[0].inner.Attr("from"))
		bp := mamQuery(t, e.bob, "", mamForm(nsMam2, "with", room))
		require.Equal(t, []string{"psst"}, bp.bodies())
	})
}

// Carbons (XEP-0280) and same_mam_id_for_peers: the sent carbon carries
// the sender's stanza-id, the received one the recipient's; carbon copies
// are not archived. With pm.same_mam_id_for_peers the recipient's row
// reuses the sender's id.
func TestMamCarbonsAndSameID(t *testing.T) {
	t.Parallel()
	forEachMam(t, func(t *testing.T, d *db.DB, opts string) {
		e := startMam(t, d, opts, mamParts, nil)
		alice2 := e.s.login(t, "alice", "second")
		alice2.send(`<presence/>`)
		bob2 := e.s.login(t, "bob", "second")
		bob2.send(`<presence><priority>-1</priority></presence>`)
		for _, c := range []*client{alice2, e.bob, bob2} {
			require.Equal(t, "result", c.sendIQ(`<iq type='set' id='cb'><enable xmlns='urn:xmpp:carbons:2'/></iq>`).Attr("type"))
		}
		got := chatTo(t, e.alice, e.bob, "bob", "carbon me")
		sent := alice2.expect("sent carbon", func(el *xmlstream.Element) bool { return el.Child("urn:xmpp:carbons:2", "sent") != nil })
		inner := sent.Child("urn:xmpp:carbons:2", "sent").Child(nsFwd, "forwarded").Child("jabber:client", "message")
		aliceSID := stanzaIDs(inner)
		require.Len(t, aliceSID, 1, inner.String())
		require.Equal(t, "alice@localhost", aliceSID[0].Attr("by"))
		recv := bob2.expect("received carbon", func(el *xmlstream.Element) bool { return el.Child("urn:xmpp:carbons:2", "received") != nil })
		rinner := recv.Child("urn:xmpp:carbons:2", "received").Child(nsFwd, "forwarded").Child("jabber:client", "message")
		require.Equal(t, stanzaIDs(got)[0].Attr("id"), stanzaIDs(rinner)[0].Attr("id"))
		require.Equal(t, []string{aliceSID[0].Attr("id")}, mamQuery(t, e.alice, "", "").ids())
		require.Len(t, mamQuery(t, e.bob, "", "").rs, 1, "carbons are not archived")
		require.NotEqual(t, aliceSID[0].Attr("id"), stanzaIDs(got)[0].Attr("id"), "different ids by default")
	})
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e := startMam(t, d, "", "[modules.mod_mam.pm]\nsame_mam_id_for_peers = true\n", nil)
		got := chatTo(t, e.alice, e.bob, "bob", "same")
		require.Equal(t, mamQuery(t, e.alice, "", "").ids(), mamQuery(t, e.bob, "", "").ids())
		require.Equal(t, stanzaIDs(got)[0].Attr("id"), mamQuery(t, e.bob, "", "").ids()[0])
	})
}

// The asynchronous writer writes in multi-row batches off the delivery
// path and drains on stop: with a flush interval of a minute, messages
// are delivered with their stanza-ids at once, nothing is written yet
// (no query flushed it), and stopping the server writes every row.
func TestMamAsyncDrainOnStop(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e := startMam(t, d, "async_writer.flush_interval = 60000\nasync_writer.batch_size = 1000\nasync_writer.pool_size = 1\n", mamParts, nil)
		for i := range 5 {
			got := chatTo(t, e.alice, e.bob, "bob", fmt.Sprintf("queued %d", i))
			require.Len(t, stanzaIDs(got), 1, "the stanza-id does not wait for the database")
		}
		count := func() int {
			var n int
			require.NoError(t, d.SQL.QueryRow("SELECT COUNT(*) FROM mam_message").Scan(&n))
			return n
		}
		require.Zero(t, count(), "nothing written before the interval")
		require.Equal(t, 10.0, mamMetric(t, e.s, "mod_mam_pm_archive_message_count"))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, e.s.Stop(ctx))
		require.Equal(t, 10, count(), "stop drains the queue")
		require.Equal(t, 1.0, mamMetric(t, e.s, "mod_mam_pm_flushed_count"), "one flush for both archives and their ten rows")
	})
}
