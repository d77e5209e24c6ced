package server_test

// End-to-end tests of MUC Light (spec/muclight.md §17): every checklist
// item, with the mellium client, on SQLite and PostgreSQL storage and, for
// the items that do not depend on SQL, on the in-memory backend too.

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/mod/muclight"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

const (
	mlSvc    = "muclight.localhost"
	mlRoom   = "testroom@muclight.localhost"
	nsML     = "urn:xmpp:muclight:0"
	nsMLAff  = nsML + "#affiliations"
	nsMLCfg  = nsML + "#configuration"
	nsMLInfo = nsML + "#info"
	nsMLBlk  = nsML + "#blocking"
	nsMLCrt  = nsML + "#create"
	nsMLDst  = nsML + "#destroy"
	nsRSM    = "http://jabber.org/protocol/rsm"
)

// mlConfig parses mod_muc_light options the way a configuration file
// would, so defaults and validation apply.
func mlConfig(t *testing.T, opts string) *config.ModMucLight {
	t.Helper()
	cfg, err := config.Parse([]byte(config.WithoutModules(config.DefaultTOML, "mod_muc_light")+"\n[modules.mod_muc_light]\n"+opts), "test.toml")
	require.NoError(t, err)
	return cfg.Modules.MucLight
}

// mlEnv is a server with mod_muc_light and four online users.
type mlEnv struct {
	s                      *testServer
	alice, bob, kate, mike *client
}

// forEachML runs fn with SQL storage on SQLite and PostgreSQL, and with
// the in-memory store.
func forEachML(t *testing.T, fn func(t *testing.T, d *db.DB, backend string)) {
	forEachDB(t, func(t *testing.T, d *db.DB) { fn(t, d, "rdbms") })
	t.Run("mnesia", func(t *testing.T) {
		t.Parallel()
		fn(t, dbtest.Open(t, db.SQLite), "mnesia")
	})
}

func bare(s string) jid.JID { return jid.MustParse(s) }

// startML starts a server with the options; with fixture, room testroom
// is created directly in storage (§17.1: version ver-1, default config,
// alice owner, bob and kate members), so nobody is notified.
func startML(t *testing.T, d *db.DB, backend, opts string, fixture bool) *mlEnv {
	t.Helper()
	return startMLWith(t, d, backend, opts, fixture, nil, "alice", "bob", "kate", "mike")
}

// startMLWith is startML with a configuration edit and only the named
// users online.
func startMLWith(t *testing.T, d *db.DB, backend, opts string, fixture bool, edit func(*config.Config), on ...string) *mlEnv {
	t.Helper()
	// §17.1: every case runs with cache_affs configured.
	ml := mlConfig(t, "backend = \""+backend+"\"\n"+opts+"\n[modules.mod_muc_light.cache_affs]\n")
	s := startServer(t, d, func(c *config.Config) {
		c.Modules.MucLight = ml
		if edit != nil {
			edit(c)
		}
	})
	s.register(t, "alice", "bob", "kate", "mike")
	if fixture {
		err := s.MucLight().Store().Create(context.Background(), &muclight.Room{JID: bare(mlRoom), Version: "ver-1", Config: map[string]string{},
			Occupants: []muclight.Occupant{{User: bare("alice@localhost"), Aff: muclight.AffOwner},
				{User: bare("bob@localhost"), Aff: muclight.AffMember}, {User: bare("kate@localhost"), Aff: muclight.AffMember}}})
		require.NoError(t, err)
	}
	e := &mlEnv{s: s}
	for _, u := range on {
		c := online(t, s, u)
		switch u {
		case "alice":
			e.alice = c
		case "bob":
			e.bob = c
		case "kate":
			e.kate = c
		case "mike":
			e.mike = c
		}
	}
	return e
}

func online(t *testing.T, s *testServer, user string) *client {
	c := s.login(t, user, "res")
	c.send(`<presence/>`)
	c.expect("own presence", func(el *xmlstream.Element) bool { return el.Local == "presence" })
	return c
}

func (e *mlEnv) all() []*client { return []*client{e.alice, e.bob, e.kate, e.mike} }

// fromML matches any stanza from the MUC Light service or its rooms.
func fromML(el *xmlstream.Element) bool {
	f := el.Attr("from")
	return f == mlSvc || strings.Contains(f, "@"+mlSvc)
}

// noML checks that none of the clients has received anything from MUC
// Light (expectNone: each one's barrier). MUC Light sends its notifications
// while it handles the request, before it answers, so the answer the
// caller waited for ends what would have been sent.
func noML(t *testing.T, cs ...*client) {
	t.Helper()
	for _, c := range cs {
		c.expectNone("stanza from MUC Light", fromML)
	}
}

func isNote(from, ns string) func(*xmlstream.Element) bool {
	return func(el *xmlstream.Element) bool {
		return el.Local == "message" && el.Attr("type") == "groupchat" && el.Attr("from") == from && el.Child(ns, "x") != nil
	}
}

// affs returns the <user/> items of an #affiliations or #info element.
func affs(t *testing.T, x *xmlstream.Element) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, u := range x.Elements() {
		if u.Local == "user" {
			_, dup := out[u.Text()]
			require.False(t, dup, "user listed twice: %s", x)
			out[u.Text()] = u.Attr("affiliation")
		}
	}
	return out
}

func errCond(el *xmlstream.Element) (typ, cond string) {
	e := el.Child("", "error")
	if e == nil {
		return "", ""
	}
	for _, c := range e.Elements() {
		if c.Space == "urn:ietf:params:xml:ns:xmpp-stanzas" && c.Local != "text" {
			return e.Attr("type"), c.Local
		}
	}
	return e.Attr("type"), ""
}

func requireResult(t *testing.T, res *xmlstream.Element) {
	t.Helper()
	require.Equal(t, "result", res.Attr("type"), "%s", res)
}

func requireError(t *testing.T, res *xmlstream.Element, typ, cond string) {
	t.Helper()
	require.Equal(t, "error", res.Attr("type"), "%s", res)
	gt, gc := errCond(res)
	require.Equal(t, typ+" "+cond, gt+" "+gc, "%s", res)
}

func (c *client) mlIQ(typ, to, ns, inner string) *xmlstream.Element {
	c.t.Helper()
	return c.sendIQ(fmt.Sprintf(`<iq type='%s' to='%s' id='%s'><query xmlns='%s'>%s</query></iq>`, typ, to, newID(), ns, inner))
}

// idCounter numbers IQs; tests run in parallel.
var idCounter atomic.Int64

func newID() string { return fmt.Sprintf("q%d", idCounter.Add(1)) }

func users(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, "<user affiliation='%s'>%s</user>", kv[i+1], kv[i])
	}
	return b.String()
}

func (c *client) setAffs(room string, kv ...string) *xmlstream.Element {
	c.t.Helper()
	return c.mlIQ("set", room, nsMLAff, users(kv...))
}

// expectAffNote waits for an affiliation notification from room and
// returns its <x/> (checking the version elements the class implies:
// "stay" has prev-version and version, "new" only version, "gone" none).
func (c *client) expectAffNote(room, class string, want map[string]string) *xmlstream.Element {
	c.t.Helper()
	m := c.expect("affiliation notification from "+room, isNote(room, nsMLAff))
	require.NotNil(c.t, m.Child("", "body"), "empty body")
	x := m.Child(nsMLAff, "x")
	hasPrev, hasVer := x.Child(nsMLAff, "prev-version") != nil, x.Child(nsMLAff, "version") != nil
	switch class {
	case "stay":
		require.True(c.t, hasPrev && hasVer, "%s", m)
		require.NotEqual(c.t, x.ChildText(nsMLAff, "prev-version"), x.ChildText(nsMLAff, "version"))
	case "new":
		require.True(c.t, !hasPrev && hasVer, "%s", m)
	case "gone":
		require.True(c.t, !hasPrev && !hasVer, "%s", m)
	}
	require.Equal(c.t, want, affs(c.t, x), "%s", m)
	return x
}

func (c *client) discoItems(to, inner string) *xmlstream.Element {
	c.t.Helper()
	return c.sendIQ(fmt.Sprintf(`<iq type='get' to='%s' id='%s'><query xmlns='http://jabber.org/protocol/disco#items'>%s</query></iq>`, to, newID(), inner))
}

func itemJIDs(res *xmlstream.Element) []string {
	var out []string
	for _, it := range res.Child("", "query").Elements() {
		if it.Local == "item" {
			out = append(out, it.Attr("jid"))
		}
	}
	return out
}

func (e *mlEnv) createRoom(t *testing.T, owner *client, room string, kv ...string) {
	t.Helper()
	requireResult(t, owner.mlIQ("set", room, nsMLCrt, "<occupants>"+users(kv...)+"</occupants>"))
}

func occupantsOf(t *testing.T, s *testServer, room string) map[string]string {
	t.Helper()
	r, err := s.MucLight().GetRoom(context.Background(), bare(room), jid.JID{})
	require.NoError(t, err)
	out := map[string]string{}
	for _, o := range r.Occupants {
		out[o.User.String()] = o.Aff.String()
	}
	return out
}

func roomExists(t *testing.T, s *testServer, room string) bool {
	_, err := s.MucLight().GetRoom(context.Background(), bare(room), jid.JID{})
	return err == nil
}

// ---- Service ----

func TestMucLightA1AccountRemovalDeletesRoom(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", false)
		e.createRoom(t, e.mike, "solo@"+mlSvc)
		e.mike.expectAffNote("solo@"+mlSvc, "new", map[string]string{"mike@localhost": "owner"})
		require.True(t, roomExists(t, e.s, "solo@"+mlSvc))
		require.NoError(t, e.s.Accounts().Remove(context.Background(), bare("mike@localhost")))
		require.False(t, roomExists(t, e.s, "solo@"+mlSvc))
	})
}

// ---- Entity ----

func TestMucLightA2A3A5Disco(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		res := e.alice.discoItems("localhost", "")
		require.Equal(t, "localhost", res.Attr("from"))
		var found bool
		for _, it := range res.Child("", "query").Elements() {
			if it.Attr("jid") == mlSvc {
				require.Equal(t, nsML, it.Attr("node"))
				found = true
			}
		}
		require.True(t, found, "%s", res)

		for _, to := range []string{mlSvc, mlRoom, "nosuchroom@" + mlSvc} {
			res = e.mike.sendIQ(`<iq type='get' to='` + to + `' id='di'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
			requireResult(t, res)
			require.Equal(t, to, res.Attr("from"))
			q := res.Child("", "query")
			require.Equal(t, "conference", q.Child("", "identity").Attr("category"))
			var feats []string
			for _, f := range q.Elements() {
				if f.Local == "feature" {
					feats = append(feats, f.Attr("var"))
				}
			}
			require.Equal(t, []string{nsML}, feats)
		}
	})
}

func TestMucLightA7DiscoItemsListsOwnRooms(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		r, err := e.s.MucLight().GetRoom(context.Background(), bare(mlRoom), jid.JID{})
		require.NoError(t, err)
		res := e.bob.discoItems(mlSvc, "")
		require.Equal(t, []string{mlRoom}, itemJIDs(res))
		it := res.Child("", "query").Child("", "item")
		require.Equal(t, r.Version, it.Attr("version"))
		require.Equal(t, "Untitled", it.Attr("name"))
		require.Empty(t, itemJIDs(e.mike.discoItems(mlSvc, "")))
	})
}

func TestMucLightA8DiscoPaging(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "rooms_per_page = 1", true)
		e.createRoom(t, e.alice, "zroom@"+mlSvc)
		res := e.alice.discoItems(mlSvc, "")
		require.Equal(t, []string{mlRoom}, itemJIDs(res))
		set := res.Child("", "query").Child(nsRSM, "set")
		require.Equal(t, "2", set.ChildText(nsRSM, "count"))
		require.Equal(t, "0", set.Child(nsRSM, "first").Attr("index"))
		res = e.alice.discoItems(mlSvc, "<set xmlns='"+nsRSM+"'><max>10</max><before/></set>")
		require.Equal(t, []string{"zroom@" + mlSvc}, itemJIDs(res))
		res = e.alice.discoItems(mlSvc, "<set xmlns='"+nsRSM+"'><after>nope@"+mlSvc+"</after></set>")
		requireError(t, res, "cancel", "item-not-found")
	})
}

func TestMucLightA9A10OneRoom(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, opts string }{{"A9", "rooms_per_page = 1"}, {"A10", `rooms_per_page = "infinity"`}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			forEachML(t, func(t *testing.T, d *db.DB, backend string) {
				e := startML(t, d, backend, c.opts, false)
				e.createRoom(t, e.alice, "one@"+mlSvc)
				require.Equal(t, []string{"one@" + mlSvc}, itemJIDs(e.alice.discoItems(mlSvc, "")))
			})
		})
	}
}

func TestMucLightA11A12NoRooms(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, opts string }{{"A11", `rooms_per_page = "infinity"`}, {"A12", "rooms_per_page = 1"}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			forEachML(t, func(t *testing.T, d *db.DB, backend string) {
				e := startML(t, d, backend, c.opts, false)
				res := e.alice.discoItems(mlSvc, "")
				requireResult(t, res)
				require.Empty(t, res.Child("", "query").Elements())
			})
		})
	}
}

func TestMucLightA13NonOccupantMessage(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		e.mike.send(`<message to='` + mlRoom + `' type='groupchat' id='x1'><body>intruder</body></message>`)
		m := e.mike.expect("error", func(el *xmlstream.Element) bool { return el.Local == "message" && el.Attr("type") == "error" })
		requireError(t, m, "cancel", "item-not-found")
		require.Equal(t, "x1", m.Attr("id"))
		require.Nil(t, m.Child("", "body"), "children removed")
		noML(t, e.alice, e.bob, e.kate)
	})
}

func rosterRoom(t *testing.T, c *client, room string) *xmlstream.Element {
	t.Helper()
	res := c.sendIQ(`<iq type='get' id='` + newID() + `'><query xmlns='jabber:iq:roster'/></iq>`)
	requireResult(t, res)
	for _, it := range res.Child("", "query").Elements() {
		if it.Attr("jid") == room {
			return it
		}
	}
	return nil
}

func TestMucLightA14A15RoomsInRosters(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "rooms_in_rosters = true", true)
		r, err := e.s.MucLight().GetRoom(context.Background(), bare(mlRoom), jid.JID{})
		require.NoError(t, err)
		it := rosterRoom(t, e.bob, mlRoom)
		require.NotNil(t, it)
		require.Equal(t, "Untitled", it.Attr("name"))
		require.Equal(t, "to", it.Attr("subscription"))
		require.Equal(t, nsML, it.ChildText("", "group"))
		require.Equal(t, r.Version, it.ChildText("", "version"))
		require.Nil(t, rosterRoom(t, e.mike, mlRoom))
		res := e.bob.sendIQ(`<iq type='get' to='bob@localhost' id='o1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
		requireResult(t, res)
	})
}

func TestMucLightA16SchemaWithoutRoomname(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "rooms_in_rosters = true\n[[modules.mod_muc_light.config_schema]]\nfield = \"subject\"\nstring_value = \"\"\n", true)
		it := e.bob.discoItems(mlSvc, "").Child("", "query").Child("", "item")
		require.Equal(t, "testroom", it.Attr("name"))
		require.Equal(t, "testroom", rosterRoom(t, e.bob, mlRoom).Attr("name"))
	})
}

// ---- Occupant ----

func TestMucLightA17MessageFanOut(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		e.bob.send(`<message to='` + mlRoom + `' type='groupchat' id='m1'><body>hello room</body><stanza-id xmlns='urn:xmpp:sid:0' by='` + mlRoom + `' id='forged'/></message>`)
		var sid string
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			m := c.expect("room message", isMessage("hello room"))
			require.Equal(t, mlRoom+"/bob@localhost", m.Attr("from"))
			require.Equal(t, "m1", m.Attr("id"))
			require.Equal(t, "groupchat", m.Attr("type"))
			require.Equal(t, strings.SplitN(c.jid, "/", 2)[0], m.Attr("to"))
			var ids []string
			for _, s := range m.Elements() {
				if s.Local == "stanza-id" {
					require.Equal(t, mlRoom, s.Attr("by"))
					ids = append(ids, s.Attr("id"))
				}
			}
			require.Len(t, ids, 1, "one stanza-id, the forged one removed")
			require.NotEqual(t, "forged", ids[0])
			if sid == "" {
				sid = ids[0]
			}
			require.Equal(t, sid, ids[0], "every copy has the same stanza id")
		}
		noML(t, e.mike)
		// The fixture was stored directly: one cache miss, then hits.
		require.Equal(t, 1.0, metricValue(t, e.s, "mod_muc_light_cache_miss_count"))
		e.kate.send(`<message to='` + mlRoom + `' type='groupchat' id='m2'><body>again</body></message>`)
		e.kate.expect("echo", isMessage("again"))
		require.Equal(t, 1.0, metricValue(t, e.s, "mod_muc_light_cache_miss_count"))
		require.Equal(t, 1.0, metricValue(t, e.s, "mod_muc_light_cache_hit_count"))
	})
}

// metricValue reads a counter or gauge without labels from the server.
func metricValue(t *testing.T, s *testServer, name string) float64 {
	t.Helper()
	mfs, err := s.Metrics().Prometheus().Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func cfgNote(t *testing.T, c *client, want map[string]string) *xmlstream.Element {
	t.Helper()
	m := c.expect("config notification", isNote(mlRoom, nsMLCfg))
	require.NotNil(t, m.Child("", "body"))
	x := m.Child(nsMLCfg, "x")
	prev, ver := x.ChildText(nsMLCfg, "prev-version"), x.ChildText(nsMLCfg, "version")
	require.NotEmpty(t, prev)
	require.NotEmpty(t, ver)
	require.NotEqual(t, prev, ver)
	got := map[string]string{}
	for _, f := range x.Elements() {
		if f.Local != "prev-version" && f.Local != "version" {
			_, dup := got[f.Local]
			require.False(t, dup, "field twice: %s", m)
			got[f.Local] = f.Text()
		}
	}
	require.Equal(t, want, got)
	return m
}

func getConfig(t *testing.T, c *client, room string) map[string]string {
	t.Helper()
	res := c.mlIQ("get", room, nsMLCfg, "")
	requireResult(t, res)
	out := map[string]string{}
	for _, f := range res.Child(nsMLCfg, "query").Elements() {
		out[f.Local] = f.Text()
	}
	return out
}

func TestMucLightA18MemberChangesSubject(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		requireResult(t, e.bob.mlIQ("set", mlRoom, nsMLCfg, "<subject>new subject</subject>"))
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			cfgNote(t, c, map[string]string{"subject": "new subject"})
		}
	})
}

func TestMucLightA19A38OwnerRenames(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		res := e.alice.sendIQ(`<iq type='set' to='` + mlRoom + `' id='cf1'><query xmlns='` + nsMLCfg + `'><roomname>The Den</roomname></query></iq>`)
		requireResult(t, res)
		require.Equal(t, mlRoom, res.Attr("from"))
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			m := cfgNote(t, c, map[string]string{"roomname": "The Den"})
			require.Equal(t, "cf1", m.Attr("id"))
		}
		require.Equal(t, "The Den", getConfig(t, e.kate, mlRoom)["roomname"])
	})
}

func TestMucLightA20AllCanConfigure(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "all_can_configure = true", true)
		requireResult(t, e.bob.mlIQ("set", mlRoom, nsMLCfg, "<roomname>Bob's</roomname>"))
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			cfgNote(t, c, map[string]string{"roomname": "Bob's"})
		}
	})
}

const schemaWithPerms = `
[[modules.mod_muc_light.config_schema]]
field = "roomname"
string_value = "Untitled"
[[modules.mod_muc_light.config_schema]]
field = "subject"
string_value = ""
[[modules.mod_muc_light.config_schema]]
field = "all_can_configure"
boolean_value = false
[[modules.mod_muc_light.config_schema]]
field = "all_can_invite"
boolean_value = false
`

func TestMucLightA21SchemaAllCanConfigure(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, schemaWithPerms, true)
		requireError(t, e.bob.mlIQ("set", mlRoom, nsMLCfg, "<roomname>x</roomname>"), "cancel", "not-allowed")
		noML(t, e.alice, e.bob, e.kate)
		requireResult(t, e.alice.mlIQ("set", mlRoom, nsMLCfg, "<all_can_configure>true</all_can_configure>"))
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			cfgNote(t, c, map[string]string{"all_can_configure": "true"})
		}
		requireResult(t, e.bob.mlIQ("set", mlRoom, nsMLCfg, "<roomname>x</roomname>"))
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			cfgNote(t, c, map[string]string{"roomname": "x"})
		}
	})
}

func TestMucLightA22MemberCannotRename(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		requireError(t, e.bob.mlIQ("set", mlRoom, nsMLCfg, "<roomname>mine</roomname>"), "cancel", "not-allowed")
		noML(t, e.all()...)
	})
}

func TestMucLightA23A24ConfigGet(t *testing.T) {
	t.Parallel()
	t.Run("A23", func(t *testing.T) {
		t.Parallel()
		forEachML(t, func(t *testing.T, d *db.DB, backend string) {
			e := startML(t, d, backend, "", true)
			res := e.bob.mlIQ("get", mlRoom, nsMLCfg, "<version>stale</version>")
			requireResult(t, res)
			q := res.Child(nsMLCfg, "query")
			ver := q.ChildText(nsMLCfg, "version")
			require.NotEmpty(t, ver)
			require.Equal(t, "Untitled", q.ChildText(nsMLCfg, "roomname"))
			require.NotNil(t, q.Child(nsMLCfg, "subject"))
			res = e.bob.mlIQ("get", mlRoom, nsMLCfg, "<version>"+ver+"</version>")
			requireResult(t, res)
			require.Empty(t, res.Elements())
		})
	})
	t.Run("A24", func(t *testing.T) {
		t.Parallel()
		forEachML(t, func(t *testing.T, d *db.DB, backend string) {
			e := startML(t, d, backend, customSchema, true)
			cfg := getConfig(t, e.bob, mlRoom)
			delete(cfg, "version")
			require.Equal(t, map[string]string{"roomname": "Untitled", "subject": "", "display-lines": "30", "ratio": "1.50000000000000000000e+00", "loud": "false"}, cfg)
		})
	})
}

const customSchema = `
[[modules.mod_muc_light.config_schema]]
field = "roomname"
string_value = "Untitled"
[[modules.mod_muc_light.config_schema]]
field = "subject"
string_value = ""
[[modules.mod_muc_light.config_schema]]
field = "display-lines"
integer_value = 30
internal_key = "display_lines"
[[modules.mod_muc_light.config_schema]]
field = "ratio"
float_value = 1.5
[[modules.mod_muc_light.config_schema]]
field = "loud"
boolean_value = false
`

var fixtureAffs = map[string]string{"alice@localhost": "owner", "bob@localhost": "member", "kate@localhost": "member"}

func TestMucLightA25A26AffiliationsAndInfoGet(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		res := e.kate.mlIQ("get", mlRoom, nsMLAff, "")
		requireResult(t, res)
		q := res.Child(nsMLAff, "query")
		require.Equal(t, "version", q.Elements()[0].Local)
		ver := q.ChildText(nsMLAff, "version")
		require.Equal(t, fixtureAffs, affs(t, q))
		res = e.kate.mlIQ("get", mlRoom, nsMLAff, "<version>"+ver+"</version>")
		requireResult(t, res)
		require.Empty(t, res.Elements())

		res = e.bob.mlIQ("get", mlRoom, nsMLInfo, "")
		requireResult(t, res)
		q = res.Child(nsMLInfo, "query")
		require.Equal(t, ver, q.ChildText(nsMLInfo, "version"))
		require.Equal(t, "Untitled", q.Child(nsMLInfo, "configuration").ChildText(nsMLInfo, "roomname"))
		require.Equal(t, fixtureAffs, affs(t, q.Child(nsMLInfo, "occupants")))
		res = e.bob.mlIQ("get", mlRoom, nsMLInfo, "<version>"+ver+"</version>")
		requireResult(t, res)
		require.Empty(t, res.Elements())

		// Non-occupants and missing rooms: item-not-found.
		requireError(t, e.mike.mlIQ("get", mlRoom, nsMLInfo, ""), "cancel", "item-not-found")
		requireError(t, e.bob.mlIQ("get", "nope@"+mlSvc, nsMLAff, ""), "cancel", "item-not-found")
	})
}

func TestMucLightA27LeaveOneByOne(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		requireResult(t, e.bob.setAffs(mlRoom, "bob@localhost", "none"))
		e.bob.expectAffNote(mlRoom, "gone", map[string]string{"bob@localhost": "none"})
		for _, c := range []*client{e.alice, e.kate} {
			c.expectAffNote(mlRoom, "stay", map[string]string{"bob@localhost": "none"})
		}
		requireResult(t, e.kate.setAffs(mlRoom, "kate@localhost", "none"))
		e.kate.expectAffNote(mlRoom, "gone", map[string]string{"kate@localhost": "none"})
		e.alice.expectAffNote(mlRoom, "stay", map[string]string{"kate@localhost": "none"})
		noML(t, e.bob)
		requireResult(t, e.alice.setAffs(mlRoom, "alice@localhost", "none"))
		x := e.alice.expectAffNote(mlRoom, "gone", map[string]string{"alice@localhost": "none"})
		require.Nil(t, x.Child(nsMLDst, "x"))
		noML(t, e.bob, e.kate)
		require.False(t, roomExists(t, e.s, mlRoom))
	})
}

func TestMucLightA28MemberRestrictions(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		for _, kv := range [][]string{
			{"kate@localhost", "none"},
			{"bob@localhost", "owner"},
			{"alice@localhost", "member"},
			{"mike@localhost", "member"},
		} {
			requireError(t, e.bob.setAffs(mlRoom, kv...), "cancel", "not-allowed")
		}
		noML(t, e.all()...)
		require.Equal(t, fixtureAffs, occupantsOf(t, e.s, mlRoom))
	})
}

func TestMucLightA29AllCanInvite(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "all_can_invite = true", true)
		requireError(t, e.bob.setAffs(mlRoom, "kate@localhost", "none"), "cancel", "not-allowed")
		requireError(t, e.bob.setAffs(mlRoom, "bob@localhost", "owner"), "cancel", "not-allowed")
		noML(t, e.all()...)
		requireResult(t, e.bob.setAffs(mlRoom, "mike@localhost", "member"))
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			c.expectAffNote(mlRoom, "stay", map[string]string{"mike@localhost": "member"})
		}
		e.mike.expectAffNote(mlRoom, "new", map[string]string{"mike@localhost": "member"})
	})
}

func TestMucLightA30SchemaAllCanInvite(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, schemaWithPerms, true)
		requireError(t, e.bob.setAffs(mlRoom, "mike@localhost", "member"), "cancel", "not-allowed")
		requireResult(t, e.alice.mlIQ("set", mlRoom, nsMLCfg, "<all_can_invite>true</all_can_invite>"))
		cfgNote(t, e.bob, map[string]string{"all_can_invite": "true"})
		requireResult(t, e.bob.setAffs(mlRoom, "mike@localhost", "member"))
		e.mike.expectAffNote(mlRoom, "new", map[string]string{"mike@localhost": "member"})
	})
}

// ---- Owner ----

func TestMucLightA31CreateNamedRoom(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", false)
		room := "den@" + mlSvc
		res := e.alice.sendIQ(`<iq type='set' to='` + room + `' id='cr1'><query xmlns='` + nsMLCrt + `'>
			<configuration><roomname>The Den</roomname></configuration>
			<occupants><user affiliation='member'>bob@localhost</user>
			<user affiliation='member'>kate@localhost</user></occupants></query></iq>`)
		requireResult(t, res)
		require.Equal(t, room, res.Attr("from"))
		var ver string
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			user := strings.SplitN(c.jid, "/", 2)[0]
			aff := "member"
			if user == "alice@localhost" {
				aff = "owner"
			}
			m := c.expect("creation notification", isNote(room, nsMLAff))
			require.Equal(t, "cr1", m.Attr("id"))
			x := m.Child(nsMLAff, "x")
			require.Nil(t, x.Child(nsMLAff, "prev-version"))
			if ver == "" {
				ver = x.ChildText(nsMLAff, "version")
			}
			require.Equal(t, ver, x.ChildText(nsMLAff, "version"))
			require.Equal(t, map[string]string{user: aff}, affs(t, x))
		}
		noML(t, e.mike)
		require.Equal(t, "The Den", getConfig(t, e.bob, room)["roomname"])
	})
}

func TestMucLightA32A33ServerNamedRoom(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, opts, aff string }{{"A32", "", "owner"}, {"A33", "equal_occupants = true", "member"}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			forEachML(t, func(t *testing.T, d *db.DB, backend string) {
				e := startML(t, d, backend, c.opts, false)
				res := e.alice.mlIQ("set", mlSvc, nsMLCrt, "")
				requireResult(t, res)
				require.Equal(t, mlSvc, res.Attr("from"), "Q14: the result comes from the service")
				m := e.alice.expect("creation notification", func(el *xmlstream.Element) bool {
					return el.Local == "message" && strings.HasSuffix(el.Attr("from"), "@"+mlSvc) && el.Child(nsMLAff, "x") != nil
				})
				require.Equal(t, map[string]string{"alice@localhost": c.aff}, affs(t, m.Child(nsMLAff, "x")))
				require.True(t, roomExists(t, e.s, m.Attr("from")))
			})
		})
	}
}

func TestMucLightA34CreateExistingRoom(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		res := e.mike.mlIQ("set", mlRoom, nsMLCrt, "<configuration><roomname>mine</roomname></configuration>")
		requireError(t, res, "cancel", "conflict")
		noML(t, e.all()...)
		require.Equal(t, fixtureAffs, occupantsOf(t, e.s, mlRoom))
		require.Equal(t, "Untitled", getConfig(t, e.alice, mlRoom)["roomname"])
	})
}

func TestMucLightA35A36A37Destroy(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		other := "other@" + mlSvc
		e.createRoom(t, e.alice, other, "bob@localhost", "member", "kate@localhost", "member")
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			c.expect("creation", isNote(other, nsMLAff))
		}
		requireError(t, e.bob.mlIQ("set", mlRoom, nsMLDst, ""), "cancel", "not-allowed")
		requireResult(t, e.alice.sendIQ(`<iq type='set' to='`+mlRoom+`' id='ds1'><query xmlns='`+nsMLDst+`'/></iq>`))
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			user := strings.SplitN(c.jid, "/", 2)[0]
			m := c.expect("destruction", isNote(mlRoom, nsMLAff))
			require.Equal(t, "ds1", m.Attr("id"))
			require.NotNil(t, m.Child(nsMLDst, "x"))
			require.NotNil(t, m.Child("", "body"))
			x := m.Child(nsMLAff, "x")
			require.Nil(t, x.Child(nsMLAff, "version"))
			require.Equal(t, map[string]string{user: "none"}, affs(t, x))
			// A36, A37: only the other room is left.
			require.Equal(t, []string{other}, itemJIDs(c.discoItems(mlSvc, "")))
		}
		require.False(t, roomExists(t, e.s, mlRoom))
	})
}

func TestMucLightA39PartialConfigChange(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		requireResult(t, e.alice.mlIQ("set", mlRoom, nsMLCfg, "<roomname>Kept</roomname>"))
		requireResult(t, e.alice.mlIQ("set", mlRoom, nsMLCfg, "<subject>Only this</subject><roomname/>"))
		cfg := getConfig(t, e.alice, mlRoom)
		require.Equal(t, "Kept", cfg["roomname"])
		require.Equal(t, "Only this", cfg["subject"])
	})
}

func TestMucLightA40A41CustomFields(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, customSchema, true)
		requireResult(t, e.alice.mlIQ("set", mlRoom, nsMLCfg, "<display-lines>+42</display-lines><ratio>2.0</ratio><loud>true</loud>"))
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			cfgNote(t, c, map[string]string{"display-lines": "42", "ratio": "2.00000000000000000000e+00", "loud": "true"})
		}
		// A41 and bad values.
		for _, body := range []string{"<colour>red</colour>", "<display-lines>many</display-lines>", "<ratio>2</ratio>", "<loud>yes</loud>", "<version>x</version>"} {
			requireError(t, e.alice.mlIQ("set", mlRoom, nsMLCfg, body), "modify", "bad-request")
		}
		noML(t, e.all()...)
		res := e.alice.mlIQ("set", "new@"+mlSvc, nsMLCrt, "<configuration><display-lines>x</display-lines></configuration>")
		requireError(t, res, "modify", "bad-request")
		require.Contains(t, res.String(), "display-lines:type_error")
	})
}

func TestMucLightA42X11DuplicateKeys(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		requireResult(t, e.alice.mlIQ("set", mlRoom, nsMLCfg, "<roomname>a</roomname><roomname>b</roomname>"))
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			cfgNote(t, c, map[string]string{"roomname": "b"})
		}
		res := e.bob.mlIQ("get", mlRoom, nsMLCfg, "")
		n := 0
		for _, f := range res.Child(nsMLCfg, "query").Elements() {
			if f.Local == "roomname" {
				n++
				require.Equal(t, "b", f.Text())
			}
		}
		require.Equal(t, 1, n)
		// X11: a member may send the subject twice; it counts as subject only.
		requireResult(t, e.bob.mlIQ("set", mlRoom, nsMLCfg, "<subject>a</subject><subject>b</subject>"))
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			cfgNote(t, c, map[string]string{"subject": "b"})
		}
		require.Equal(t, "b", getConfig(t, e.kate, mlRoom)["subject"])
	})
}

func TestMucLightA43RemoveAndReAdd(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		requireResult(t, e.alice.setAffs(mlRoom, "bob@localhost", "none", "kate@localhost", "none"))
		e.alice.expectAffNote(mlRoom, "stay", map[string]string{"bob@localhost": "none", "kate@localhost": "none"})
		e.bob.expectAffNote(mlRoom, "gone", map[string]string{"bob@localhost": "none"})
		e.kate.expectAffNote(mlRoom, "gone", map[string]string{"kate@localhost": "none"})
		requireResult(t, e.alice.setAffs(mlRoom, "bob@localhost", "member", "kate@localhost", "member"))
		e.alice.expectAffNote(mlRoom, "stay", map[string]string{"bob@localhost": "member", "kate@localhost": "member"})
		e.bob.expectAffNote(mlRoom, "new", map[string]string{"bob@localhost": "member"})
		e.kate.expectAffNote(mlRoom, "new", map[string]string{"kate@localhost": "member"})
		require.Equal(t, fixtureAffs, occupantsOf(t, e.s, mlRoom))
	})
}

func TestMucLightA44OwnerTransferAndLeave(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		requireResult(t, e.alice.setAffs(mlRoom, "bob@localhost", "none", "alice@localhost", "none", "kate@localhost", "owner"))
		e.kate.expectAffNote(mlRoom, "stay", map[string]string{"alice@localhost": "none", "bob@localhost": "none", "kate@localhost": "owner"})
		e.alice.expectAffNote(mlRoom, "gone", map[string]string{"alice@localhost": "none"})
		e.bob.expectAffNote(mlRoom, "gone", map[string]string{"bob@localhost": "none"})
		require.Equal(t, map[string]string{"kate@localhost": "owner"}, occupantsOf(t, e.s, mlRoom))
	})
}

func TestMucLightA45A46OwnerPromotion(t *testing.T) {
	t.Parallel()
	t.Run("A45", func(t *testing.T) {
		t.Parallel()
		forEachML(t, func(t *testing.T, d *db.DB, backend string) {
			e := startML(t, d, backend, "", true)
			requireResult(t, e.alice.setAffs(mlRoom, "kate@localhost", "owner"))
			for _, c := range []*client{e.alice, e.bob, e.kate} {
				c.expectAffNote(mlRoom, "stay", map[string]string{"alice@localhost": "member", "kate@localhost": "owner"})
			}
		})
	})
	t.Run("A46", func(t *testing.T) {
		t.Parallel()
		forEachML(t, func(t *testing.T, d *db.DB, backend string) {
			e := startML(t, d, backend, "allow_multiple_owners = true", true)
			requireResult(t, e.alice.setAffs(mlRoom, "bob@localhost", "owner"))
			e.kate.expectAffNote(mlRoom, "stay", map[string]string{"bob@localhost": "owner"})
			require.Equal(t, map[string]string{"alice@localhost": "owner", "bob@localhost": "owner", "kate@localhost": "member"}, occupantsOf(t, e.s, mlRoom))
		})
	})
}

func TestMucLightA47A48A49LastOwner(t *testing.T) {
	t.Parallel()
	t.Run("A47", func(t *testing.T) {
		t.Parallel()
		forEachML(t, func(t *testing.T, d *db.DB, backend string) {
			e := startML(t, d, backend, "", true)
			requireResult(t, e.alice.setAffs(mlRoom, "alice@localhost", "member", "bob@localhost", "none"))
			want := map[string]string{"alice@localhost": "member", "bob@localhost": "none", "kate@localhost": "owner"}
			e.alice.expectAffNote(mlRoom, "stay", want)
			e.kate.expectAffNote(mlRoom, "stay", want)
			e.bob.expectAffNote(mlRoom, "gone", map[string]string{"bob@localhost": "none"})
		})
	})
	t.Run("A48", func(t *testing.T) {
		t.Parallel()
		forEachML(t, func(t *testing.T, d *db.DB, backend string) {
			e := startML(t, d, backend, "promote_on_last_owner_leave = false", true)
			requireError(t, e.alice.setAffs(mlRoom, "alice@localhost", "member", "bob@localhost", "none"), "modify", "bad-request")
			noML(t, e.all()...)
			require.Equal(t, fixtureAffs, occupantsOf(t, e.s, mlRoom))
		})
	})
	t.Run("A49", func(t *testing.T) {
		t.Parallel()
		forEachML(t, func(t *testing.T, d *db.DB, backend string) {
			e := startML(t, d, backend, "", true)
			requireResult(t, e.alice.setAffs(mlRoom, "alice@localhost", "member", "bob@localhost", "none", "kate@localhost", "none"))
			e.alice.expectAffNote(mlRoom, "stay", map[string]string{"bob@localhost": "none", "kate@localhost": "none"})
			require.Equal(t, map[string]string{"alice@localhost": "owner"}, occupantsOf(t, e.s, mlRoom))
		})
	})
}

func TestMucLightA50OccupantOnServiceDomain(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", false)
		room := "loop@" + mlSvc
		e.createRoom(t, e.alice, room, "other@"+mlSvc, "member")
		e.alice.expectAffNote(room, "new", map[string]string{"alice@localhost": "owner"})
		e.alice.expectNone("anything else", func(*xmlstream.Element) bool { return true })
		require.Equal(t, map[string]string{"alice@localhost": "owner", "other@" + mlSvc: "member"}, occupantsOf(t, e.s, room))
		// The room still answers: no loop is keeping the service busy.
		requireResult(t, e.alice.mlIQ("get", room, nsMLAff, ""))
	})
}

// ---- Limits ----

func TestMucLightA51RoomsPerUser(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "rooms_per_user = 1", true)
		requireError(t, e.bob.mlIQ("set", "bobs@"+mlSvc, nsMLCrt, ""), "modify", "bad-request")
		requireResult(t, e.mike.mlIQ("set", "mikes@"+mlSvc, nsMLCrt, ""))
		e.mike.expectAffNote("mikes@"+mlSvc, "new", map[string]string{"mike@localhost": "owner"})
		requireResult(t, e.mike.setAffs("mikes@"+mlSvc, "kate@localhost", "member"))
		noML(t, e.all()...)
		require.Equal(t, map[string]string{"mike@localhost": "owner"}, occupantsOf(t, e.s, "mikes@"+mlSvc))
	})
}

func TestMucLightA52MaxOccupants(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "max_occupants = 1", true)
		res := e.mike.mlIQ("set", "big@"+mlSvc, nsMLCrt, "<occupants>"+users("bob@localhost", "member", "kate@localhost", "member")+"</occupants>")
		requireError(t, res, "modify", "bad-request")
		require.Contains(t, res.String(), "max_occupants_reached")
		requireError(t, e.alice.setAffs(mlRoom, "mike@localhost", "member"), "modify", "bad-request")
		noML(t, e.all()...)
		require.False(t, roomExists(t, e.s, "big@"+mlSvc))
	})
}

func TestMucLightX1OwnerAtLimitCanRemoveAndLeave(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "rooms_per_user = 1", true)
		requireResult(t, e.alice.setAffs(mlRoom, "bob@localhost", "none"))
		e.bob.expectAffNote(mlRoom, "gone", map[string]string{"bob@localhost": "none"})
		e.kate.expectAffNote(mlRoom, "stay", map[string]string{"bob@localhost": "none"})
		requireResult(t, e.alice.setAffs(mlRoom, "alice@localhost", "none"))
		e.alice.expectAffNote(mlRoom, "stay", map[string]string{"bob@localhost": "none"})
		e.alice.expectAffNote(mlRoom, "gone", map[string]string{"alice@localhost": "none"})
		e.kate.expectAffNote(mlRoom, "stay", map[string]string{"alice@localhost": "none", "kate@localhost": "owner"})
		require.Equal(t, map[string]string{"kate@localhost": "owner"}, occupantsOf(t, e.s, mlRoom))
	})
}

func TestMucLightX2JoinersAtLimitDropped(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "rooms_per_user = 1", true)
		room := "m@" + mlSvc
		e.createRoom(t, e.mike, room, "bob@localhost", "member")
		e.mike.expectAffNote(room, "new", map[string]string{"mike@localhost": "owner"})
		noML(t, e.bob)
		require.Equal(t, map[string]string{"mike@localhost": "owner"}, occupantsOf(t, e.s, room))
		// Mike is at his limit too, but adding is limited by the joiner's count.
		requireResult(t, e.mike.setAffs(room, "kate@localhost", "member"))
		noML(t, e.all()...)
		require.Equal(t, map[string]string{"mike@localhost": "owner"}, occupantsOf(t, e.s, room))
	})
}

func TestMucLightX3ServiceAPICreateAtLimit(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "rooms_per_user = 1", true)
		_, err := e.s.MucLight().CreateRoom(context.Background(), muclight.CreateRequest{Creator: bare("bob@localhost"), Room: bare(mlSvc)})
		require.ErrorIs(t, err, muclight.ErrRoomLimit)
		rooms, err := e.s.MucLight().UserRooms(context.Background(), bare("bob@localhost"))
		require.NoError(t, err)
		require.Len(t, rooms, 1)
	})
}

// ---- Blocking ----

func blocklist(t *testing.T, c *client) []string {
	t.Helper()
	res := c.mlIQ("get", mlSvc, nsMLBlk, "")
	requireResult(t, res)
	require.Equal(t, mlSvc, res.Attr("from"))
	var out []string
	for _, it := range res.Child(nsMLBlk, "query").Elements() {
		out = append(out, it.Local+" "+it.Attr("action")+" "+it.Text())
	}
	return out
}

func TestMucLightA53X10Blocklist(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		require.Empty(t, blocklist(t, e.bob))
		requireResult(t, e.bob.mlIQ("set", mlSvc, nsMLBlk, "<user action='deny'>mike@localhost</user><room action='deny'>"+mlRoom+"</room>"))
		require.ElementsMatch(t, []string{"user deny mike@localhost", "room deny " + mlRoom}, blocklist(t, e.bob))
		requireResult(t, e.bob.mlIQ("set", mlSvc, nsMLBlk, "<user action='allow'>mike@localhost</user><room action='allow'>"+mlRoom+"</room>"))
		require.Empty(t, blocklist(t, e.bob))
		// X10: a repeated deny is stored once; one allow removes it.
		requireResult(t, e.bob.mlIQ("set", mlSvc, nsMLBlk, "<user action='deny'>mike@localhost</user>"))
		requireResult(t, e.bob.mlIQ("set", mlSvc, nsMLBlk, "<user action='deny'>mike@localhost</user><user action='deny'>mike@localhost</user>"))
		require.Equal(t, []string{"user deny mike@localhost"}, blocklist(t, e.bob))
		requireResult(t, e.bob.mlIQ("set", mlSvc, nsMLBlk, "<user action='allow'>mike@localhost</user>"))
		require.Empty(t, blocklist(t, e.bob))
		// Bad items.
		for _, body := range []string{"<user action='deny'>localhost</user>", "<user action='maybe'>a@localhost</user>", "<group action='deny'>a@localhost</group>"} {
			requireError(t, e.bob.mlIQ("set", mlSvc, nsMLBlk, body), "modify", "bad-request")
		}
	})
}

func TestMucLightA54BlockedRoom(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		requireResult(t, e.bob.mlIQ("set", mlSvc, nsMLBlk, "<room action='deny'>"+mlRoom+"</room>"))
		requireResult(t, e.bob.setAffs(mlRoom, "bob@localhost", "none"))
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			c.expect("leave", isNote(mlRoom, nsMLAff))
		}
		requireResult(t, e.alice.setAffs(mlRoom, "bob@localhost", "member"))
		noML(t, e.all()...)
		require.NotContains(t, occupantsOf(t, e.s, mlRoom), "bob@localhost")
		e.createRoom(t, e.alice, "fresh@"+mlSvc, "bob@localhost", "member")
		e.bob.expectAffNote("fresh@"+mlSvc, "new", map[string]string{"bob@localhost": "member"})
	})
}

func TestMucLightA55BlockedUser(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "all_can_invite = true", true)
		requireResult(t, e.bob.mlIQ("set", mlSvc, nsMLBlk, "<user action='deny'>alice@localhost</user>"))
		requireResult(t, e.bob.setAffs(mlRoom, "bob@localhost", "none"))
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			c.expect("leave", isNote(mlRoom, nsMLAff))
		}
		e.createRoom(t, e.alice, "new@"+mlSvc, "bob@localhost", "member")
		e.alice.expectAffNote("new@"+mlSvc, "new", map[string]string{"alice@localhost": "owner"})
		require.Equal(t, map[string]string{"alice@localhost": "owner"}, occupantsOf(t, e.s, "new@"+mlSvc))
		requireResult(t, e.kate.setAffs(mlRoom, "bob@localhost", "member"))
		e.bob.expectAffNote(mlRoom, "new", map[string]string{"bob@localhost": "member"})
		e.alice.expectAffNote(mlRoom, "stay", map[string]string{"bob@localhost": "member"})
	})
}

func TestMucLightA56BlockingDisabled(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "blocking = false", true)
		requireError(t, e.bob.mlIQ("get", mlSvc, nsMLBlk, ""), "modify", "bad-request")
		requireError(t, e.bob.mlIQ("set", mlSvc, nsMLBlk, "<user action='deny'>alice@localhost</user>"), "modify", "bad-request")
	})
}

func TestMucLightX4MemberCannotReAddBlocker(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "all_can_invite = true", true)
		requireResult(t, e.bob.mlIQ("set", mlSvc, nsMLBlk, "<room action='deny'>"+mlRoom+"</room>"))
		requireResult(t, e.bob.setAffs(mlRoom, "bob@localhost", "none"))
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			c.expect("leave", isNote(mlRoom, nsMLAff))
		}
		requireResult(t, e.kate.setAffs(mlRoom, "bob@localhost", "member"))
		noML(t, e.all()...)
		require.NotContains(t, occupantsOf(t, e.s, mlRoom), "bob@localhost")
	})
}

func TestMucLightX5BlockingDoesNotEvadeKick(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		requireResult(t, e.bob.mlIQ("set", mlSvc, nsMLBlk, "<user action='deny'>alice@localhost</user>"))
		requireResult(t, e.alice.setAffs(mlRoom, "bob@localhost", "none"))
		e.bob.expectAffNote(mlRoom, "gone", map[string]string{"bob@localhost": "none"})
		e.kate.expectAffNote(mlRoom, "stay", map[string]string{"bob@localhost": "none"})
		require.NotContains(t, occupantsOf(t, e.s, mlRoom), "bob@localhost")
	})
}

// ---- Gander's deviations and protocol edges ----

func TestMucLightX6ServiceAPINotifies(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		ctx := context.Background()
		ml := e.s.MucLight()
		r, err := ml.CreateRoom(ctx, muclight.CreateRequest{Creator: bare("mike@localhost"), Room: bare("api@" + mlSvc), Config: []muclight.KV{{Key: "roomname", Value: "API"}}})
		require.NoError(t, err)
		m := e.mike.expect("creation", isNote("api@"+mlSvc, nsMLAff))
		require.NotEmpty(t, m.Attr("id"))
		x := m.Child(nsMLAff, "x")
		require.Equal(t, r.Version, x.ChildText(nsMLAff, "version"))
		require.Equal(t, map[string]string{"mike@localhost": "owner"}, affs(t, x))

		// Affiliations, as the owner.
		changed, err := ml.ChangeAffiliations(ctx, bare("api@"+mlSvc), bare("mike@localhost"), []muclight.Occupant{{User: bare("bob@localhost"), Aff: muclight.AffMember}}, "")
		require.NoError(t, err)
		require.True(t, changed)
		e.bob.expectAffNote("api@"+mlSvc, "new", map[string]string{"bob@localhost": "member"})
		e.mike.expectAffNote("api@"+mlSvc, "stay", map[string]string{"bob@localhost": "member"})
		_, err = ml.ChangeAffiliations(ctx, bare("api@"+mlSvc), bare("bob@localhost"), []muclight.Occupant{{User: bare("mike@localhost"), Aff: muclight.AffNone}}, "")
		require.ErrorIs(t, err, muclight.ErrNotAllowed)

		// Configuration.
		ver, fields, err := ml.ChangeConfig(ctx, bare(mlRoom), bare("alice@localhost"), []muclight.KV{{Key: "roomname", Value: "Renamed"}}, "")
		require.NoError(t, err)
		require.Equal(t, []muclight.KV{{Key: "roomname", Value: "Renamed"}}, fields)
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			m := cfgNote(t, c, map[string]string{"roomname": "Renamed"})
			require.Equal(t, ver, m.Child(nsMLCfg, "x").ChildText(nsMLCfg, "version"))
			require.NotEmpty(t, m.Attr("id"))
		}
		_, _, err = ml.ChangeConfig(ctx, bare(mlRoom), bare("bob@localhost"), []muclight.KV{{Key: "roomname", Value: "x"}}, "")
		require.ErrorIs(t, err, muclight.ErrNotAllowed)
		_, _, err = ml.ChangeConfig(ctx, bare(mlRoom), bare("mike@localhost"), []muclight.KV{{Key: "subject", Value: "x"}}, "")
		require.ErrorIs(t, err, muclight.ErrNotOccupant)
		_, _, err = ml.ChangeConfig(ctx, bare(mlRoom), bare("alice@localhost"), []muclight.KV{{Key: "colour", Value: "x"}}, "")
		var ve *muclight.ValidationError
		require.ErrorAs(t, err, &ve)
		require.Equal(t, "colour", ve.Key)

		// Reads.
		room, err := ml.GetRoom(ctx, bare(mlRoom), jid.JID{})
		require.NoError(t, err)
		require.Equal(t, "Renamed", room.Config["roomname"])
		require.Len(t, room.Occupants, 3)
		_, err = ml.GetRoom(ctx, bare(mlRoom), bare("mike@localhost"))
		require.ErrorIs(t, err, muclight.ErrNotOccupant)
		rooms, err := ml.UserRooms(ctx, bare("bob@localhost"))
		require.NoError(t, err)
		require.Len(t, rooms, 2)

		// Messages.
		id, err := ml.SendMessage(ctx, bare(mlRoom), bare("kate@localhost"), "", "from the API")
		require.NoError(t, err)
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			m := c.expect("API message", isMessage("from the API"))
			require.Equal(t, id, m.Attr("id"))
			require.Equal(t, mlRoom+"/kate@localhost", m.Attr("from"))
		}
		_, err = ml.SendMessage(ctx, bare(mlRoom), bare("mike@localhost"), "", "no")
		require.ErrorIs(t, err, muclight.ErrNotOccupant)

		// Blocking.
		require.NoError(t, ml.SetBlocklist(ctx, bare("bob@localhost"), []muclight.BlockItem{{Kind: muclight.BlockUser, Target: bare("mike@localhost"), Deny: true}}))
		items, err := ml.Blocklist(ctx, bare("bob@localhost"))
		require.NoError(t, err)
		require.Equal(t, []muclight.BlockItem{{Kind: muclight.BlockUser, Target: bare("mike@localhost"), Deny: true}}, items)

		// Destruction as an administrator.
		require.NoError(t, ml.Destroy(ctx, bare(mlRoom), jid.JID{}, ""))
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			m := c.expect("destruction", isNote(mlRoom, nsMLAff))
			require.NotNil(t, m.Child(nsMLDst, "x"))
			require.NotEmpty(t, m.Attr("id"))
		}
		require.ErrorIs(t, ml.Destroy(ctx, bare(mlRoom), jid.JID{}, ""), muclight.ErrRoomNotFound)
		_, err = ml.CreateRoom(ctx, muclight.CreateRequest{Creator: bare("mike@localhost"), Room: bare("api@" + mlSvc)})
		require.ErrorIs(t, err, muclight.ErrRoomExists)
		_, err = ml.CreateRoom(ctx, muclight.CreateRequest{Creator: bare("mike@localhost"), Room: bare("x@conference.localhost")})
		require.ErrorIs(t, err, muclight.ErrNoService)
	})
}

func TestMucLightX7ErrorsAndResultsNotAnswered(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		for _, to := range []string{mlSvc, mlRoom} {
			e.bob.send(`<iq type='result' id='r1' to='` + to + `'/>`)
			e.bob.send(`<iq type='error' id='r2' to='` + to + `'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`)
			e.bob.send(`<presence type='error' to='` + to + `'/>`)
			e.bob.send(`<message type='error' to='` + to + `'><body>x</body></message>`)
		}
		requireResult(t, e.bob.sendIQ(`<iq type='get' to='`+mlSvc+`' id='anchor'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`))
		noML(t, e.all()...)
	})
}

func TestMucLightProtocolErrors(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "", true)
		check := func(raw, typ, cond, text string) {
			t.Helper()
			e.bob.send(raw)
			el := e.bob.expect("error for "+raw, func(el *xmlstream.Element) bool { return fromML(el) && el.Attr("type") == "error" })
			requireError(t, el, typ, cond)
			if text != "" {
				require.Contains(t, el.String(), text)
			}
			require.Len(t, el.Elements(), 1, "children removed: %s", el)
		}
		check(`<presence to='`+mlRoom+`'/>`, "modify", "bad-request", "Failed to decode unknown format")
		check(`<message to='`+mlRoom+`/bob' type='groupchat' id='e1'><body>x</body></message>`, "modify", "bad-request", "Resource expected to be empty")
		check(`<message to='`+mlRoom+`' type='chat' id='e2'><body>x</body></message>`, "modify", "bad-request", "")
		check(`<message to='`+mlSvc+`' type='groupchat' id='e3'><body>x</body></message>`, "modify", "bad-request", "")
		check(`<iq to='`+mlRoom+`' type='get' id='e4'><query xmlns='urn:example:nothing'/></iq>`, "cancel", "feature-not-implemented", "mod_muc_iq returns error")
		check(`<iq to='`+mlSvc+`' type='get' id='e5'><query xmlns='`+nsMLCfg+`'/></iq>`, "modify", "bad-request", "")
		check(`<iq to='`+mlRoom+`' type='set' id='e6'><query xmlns='`+nsMLAff+`'><user affiliation='boss'>mike@localhost</user></query></iq>`, "modify", "bad-request", "")
		check(`<iq to='new@`+mlSvc+`' type='set' id='e7'><query xmlns='`+nsMLCrt+`'><occupants><user affiliation='member'>bob@localhost</user></occupants></query></iq>`, "modify", "bad-request", "")
		check(`<iq to='`+mlRoom+`' type='set' id='e8'><query xmlns='`+nsMLAff+`'><user affiliation='member'>bob@localhost</user></query></iq>`, "cancel", "not-allowed", "")
		check(`<iq to='`+mlRoom+`' type='set' id='e9'><query xmlns='`+nsMLDst+`'/></iq>`, "cancel", "not-allowed", "")
		e.alice.send(`<iq to='` + mlRoom + `' type='set' id='e10'><query xmlns='` + nsMLAff + `'><user affiliation='member'>bob@localhost</user></query></iq>`)
		el := e.alice.expect("meaningless", func(el *xmlstream.Element) bool { return el.Attr("id") == "e10" })
		requireError(t, el, "modify", "bad-request")
		require.Contains(t, el.String(), "Meaningless change")
		e.alice.send(`<iq to='` + mlRoom + `' type='set' id='e11'><query xmlns='` + nsMLAff + `'>` + users("mike@localhost", "member", "mike@localhost", "owner") + `</query></iq>`)
		el = e.alice.expect("duplicate", func(el *xmlstream.Element) bool { return el.Attr("id") == "e11" })
		requireError(t, el, "modify", "bad-request")
		noML(t, e.kate, e.mike)
	})
}

func TestMucLightX8DiscoPagingEdges(t *testing.T) {
	t.Parallel()
	t.Run("before-after", func(t *testing.T) {
		t.Parallel()
		forEachML(t, func(t *testing.T, d *db.DB, backend string) {
			e := startML(t, d, backend, "", true)
			e.createRoom(t, e.alice, "zroom1@"+mlSvc)
			e.createRoom(t, e.alice, "zroom2@"+mlSvc)
			all := []string{mlRoom, "zroom1@" + mlSvc, "zroom2@" + mlSvc}
			set := func(inner string) string { return "<set xmlns='" + nsRSM + "'>" + inner + "</set>" }
			res := e.alice.discoItems(mlSvc, set("<before/>"))
			require.Equal(t, all, itemJIDs(res))
			require.Equal(t, "0", res.Child("", "query").Child(nsRSM, "set").Child(nsRSM, "first").Attr("index"))
			res = e.alice.discoItems(mlSvc, set("<after>zroom2@"+mlSvc+"</after>"))
			require.Empty(t, itemJIDs(res))
			rs := res.Child("", "query").Child(nsRSM, "set")
			require.Len(t, rs.Elements(), 1)
			require.Equal(t, "3", rs.ChildText(nsRSM, "count"))
			res = e.alice.discoItems(mlSvc, set("<max>2</max><before>zroom1@"+mlSvc+"</before>"))
			require.Equal(t, []string{mlRoom}, itemJIDs(res))
			res = e.alice.discoItems(mlSvc, set("<max>1</max><index>1</index>"))
			require.Equal(t, []string{"zroom1@" + mlSvc}, itemJIDs(res))
			requireError(t, e.alice.discoItems(mlSvc, set("<index>3</index>")), "cancel", "item-not-found")
			requireError(t, e.alice.discoItems(mlSvc, set("<max>-1</max>")), "cancel", "item-not-found")
			res = e.alice.discoItems(mlSvc, set("<max>0</max>"))
			require.Empty(t, itemJIDs(res))
			require.Equal(t, "3", res.Child("", "query").Child(nsRSM, "set").ChildText(nsRSM, "count"))
			// Also answered at a room JID.
			require.Equal(t, all, itemJIDs(e.alice.discoItems(mlRoom, "")))
		})
	})
	t.Run("infinity", func(t *testing.T) {
		t.Parallel()
		forEachML(t, func(t *testing.T, d *db.DB, backend string) {
			e := startML(t, d, backend, `rooms_per_page = "infinity"`, true)
			e.createRoom(t, e.alice, "zroom1@"+mlSvc)
			res := e.alice.discoItems(mlSvc, "<set xmlns='"+nsRSM+"'/>")
			require.Equal(t, []string{mlRoom, "zroom1@" + mlSvc}, itemJIDs(res))
			require.NotNil(t, res.Child("", "query").Child(nsRSM, "set"))
			res = e.alice.discoItems(mlSvc, "")
			require.Len(t, itemJIDs(res), 2)
			require.Nil(t, res.Child("", "query").Child(nsRSM, "set"))
		})
	})
}

func TestMucLightX9FieldAddedToSchemaLater(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e := startML(t, d, "rdbms", "", true)
		require.NoError(t, e.s.Stop(context.Background()))
		ml := mlConfig(t, "backend = \"rdbms\"\n"+customSchema)
		s := startServer(t, d, func(c *config.Config) { c.Modules.MucLight = ml })
		alice := online(t, s, "alice")
		require.Equal(t, "30", getConfig(t, alice, mlRoom)["display-lines"])
		requireResult(t, alice.mlIQ("set", mlRoom, nsMLCfg, "<display-lines>12</display-lines>"))
		require.Equal(t, "12", getConfig(t, alice, mlRoom)["display-lines"])
	})
}

func TestMucLightX12AccountRemovalPromotes(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "promote_on_last_owner_leave = false", true)
		require.NoError(t, e.s.Accounts().Remove(context.Background(), bare("alice@localhost")))
		want := map[string]string{"alice@localhost": "none", "bob@localhost": "owner"}
		e.bob.expectAffNote(mlRoom, "stay", want)
		e.kate.expectAffNote(mlRoom, "stay", want)
		require.Equal(t, map[string]string{"bob@localhost": "owner", "kate@localhost": "member"}, occupantsOf(t, e.s, mlRoom))
	})
}

func TestMucLightOfflineMembers(t *testing.T) {
	t.Parallel()
	for _, store := range []bool{true, false} {
		t.Run(fmt.Sprintf("store_groupchat_messages=%v", store), func(t *testing.T) {
			t.Parallel()
			forEachML(t, func(t *testing.T, d *db.DB, backend string) {
				e := startMLWith(t, d, backend, "", true, func(c *config.Config) { c.Modules.Offline.StoreGroupchatMessages = store }, "alice", "bob")
				e.bob.send(`<message to='` + mlRoom + `' type='groupchat' id='off1'><body>while you were away</body></message>`)
				e.alice.expect("message", isMessage("while you were away"))
				e.bob.expect("echo", isMessage("while you were away"))
				noML(t, e.bob) // no service-unavailable bounce for offline kate
				kate := online(t, e.s, "kate")
				if store {
					m := kate.expect("offline message", isMessage("while you were away"))
					require.Equal(t, mlRoom+"/bob@localhost", m.Attr("from"))
					require.NotNil(t, m.Child("urn:xmpp:delay", "delay"))
				} else {
					noML(t, kate)
				}
			})
		})
	}
}

// TestMucLightHundredMembers checks that a room of 100 members delivers a
// message to every member's connection, all copies with one stanza id.
func TestMucLightHundredMembers(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startMLWith(t, d, backend, "", false, nil)
		var names []string
		var occs []muclight.Occupant
		for i := range 100 {
			u := fmt.Sprintf("m%03d", i)
			names = append(names, u)
			if i > 0 {
				occs = append(occs, muclight.Occupant{User: bare(u + "@localhost"), Aff: muclight.AffMember})
			}
		}
		e.s.register(t, names...)
		_, err := e.s.MucLight().CreateRoom(context.Background(), muclight.CreateRequest{Creator: bare("m000@localhost"), Room: bare("big@" + mlSvc), Occupants: occs})
		require.NoError(t, err)
		clients := make([]*client, len(names))
		for i, u := range names {
			clients[i] = online(t, e.s, u)
		}
		clients[42].send(`<message to='big@` + mlSvc + `' type='groupchat' id='big1'><body>to all hundred</body></message>`)
		sids := map[string]int{}
		for _, c := range clients {
			m := c.expect("room message", isMessage("to all hundred"))
			require.Equal(t, "big1", m.Attr("id"))
			require.Equal(t, "big@"+mlSvc+"/m042@localhost", m.Attr("from"))
			sids[m.Child("urn:xmpp:sid:0", "stanza-id").Attr("id")]++
		}
		require.Len(t, sids, 1, "one stanza id for every copy")
		for _, n := range sids {
			require.Equal(t, 100, n)
		}
	})
}
