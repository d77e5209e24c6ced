package server_test

// End-to-end tests of mod_mam (docs/modules/mod_mam.md) with the mellium
// client, on SQLite and PostgreSQL, with the synchronous writer and with
// the asynchronous one (flush_interval 2 s, so that a query that did not
// flush the archive's rows first would miss them: the tests never wait
// for the writer themselves). Each test names the checklist items of the
// module's acceptance list it covers (A1-A25, X1-X2 in
// docs/modules/mod_mam.md, "Acceptance").

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
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

		p1 := mamQuery(t, e.bob, "", rsm("<max>20</max>"))
		require.Equal(t, bodies(0, 20), p1.bodies())
		require.Equal(t, 0, p1.index())
		require.Equal(t, 55, p1.count())
		require.False(t, p1.complete())
		p2 := mamQuery(t, e.bob, "", rsm("<max>20</max><after>"+p1.set().ChildText(nsRSM, "last")+"</after>"))
		require.Equal(t, bodies(20, 40), p2.bodies())
		require.Equal(t, 20, p2.index())
		require.False(t, p2.complete())
		p3 := mamQuery(t, e.bob, "", rsm("<max>20</max><after>"+p2.set().ChildText(nsRSM, "last")+"</after>"))
		require.Equal(t, bodies(40, 55), p3.bodies())
		require.Equal(t, 40, p3.index())
		require.Equal(t, 55, p3.count())
		require.True(t, p3.complete())
		end := mamQuery(t, e.bob, "", rsm("<max>20</max><after>"+p3.set().ChildText(nsRSM, "last")+"</after>"))
		require.Empty(t, end.rs)
		require.True(t, end.complete(), "an empty page after the end is complete")
		ix := mamQuery(t, e.bob, "", rsm("<max>10</max><index>50</index>"))
		require.Equal(t, bodies(50, 55), ix.bodies())
		require.Equal(t, 50, ix.index())
		require.True(t, ix.complete())

		b1 := mamQuery(t, e.bob, "", rsm("<max>20</max><before/>"))
		require.Equal(t, bodies(35, 55), b1.bodies(), "the last page, oldest first")
		require.Equal(t, 35, b1.index())
		require.False(t, b1.complete())
		b2 := mamQuery(t, e.bob, "", rsm("<max>20</max><before>"+b1.set().ChildText(nsRSM, "first")+"</before>"))
		require.Equal(t, bodies(15, 35), b2.bodies())
		require.Equal(t, 15, b2.index())
		require.False(t, b2.complete())
		b3 := mamQuery(t, e.bob, "", rsm("<max>20</max><before>"+b2.set().ChildText(nsRSM, "first")+"</before>"))
		require.Equal(t, bodies(0, 15), b3.bodies())
		require.Equal(t, 0, b3.index())
		require.True(t, b3.complete(), "the first page, paging backwards")

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
