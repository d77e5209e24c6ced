package server_test

// End-to-end tests of MUC Light (spec/muclight.md §17): every checklist
// item, with the mellium client, on SQLite and PostgreSQL storage and, for
// the items that do not depend on SQL, on the in-memory backend too.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

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
	quiet    = 300 * time.Millisecond
)

// mlConfig parses mod_muc_light options the way a configuration file
// would, so defaults and validation apply.
func mlConfig(t *testing.T, opts string) *config.ModMucLight {
	t.Helper()
	cfg, err := config.Parse([]byte(config.DefaultTOML+"\n[modules.mod_muc_light]\n"+opts), "test.toml")
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
	t.Run("mnesia", func(t *testing.T) { fn(t, dbtest.Open(t, db.SQLite), "mnesia") })
}

func bare(s string) jid.JID { return jid.MustParse(s) }

// startML starts a server with the options; with fixture, room testroom
// is created (before anyone logs in, so nobody is notified) with alice as
// owner and bob and kate as members (§17.1).
func startML(t *testing.T, d *db.DB, backend, opts string, fixture bool) *mlEnv {
	t.Helper()
	ml := mlConfig(t, "backend = \""+backend+"\"\n"+opts)
	s := startServer(t, d, func(c *config.Config) { c.Modules.MucLight = ml })
	s.register(t, "alice", "bob", "kate", "mike")
	if fixture {
		_, err := s.MucLight().CreateRoom(context.Background(), muclight.CreateRequest{
			Creator: bare("alice@localhost"), Room: bare(mlRoom),
			Occupants: []muclight.Occupant{{User: bare("bob@localhost"), Aff: muclight.AffMember}, {User: bare("kate@localhost"), Aff: muclight.AffMember}},
		})
		require.NoError(t, err)
	}
	return &mlEnv{s: s, alice: online(t, s, "alice"), bob: online(t, s, "bob"), kate: online(t, s, "kate"), mike: online(t, s, "mike")}
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

// noML checks that none of the clients receives anything from MUC Light.
func noML(t *testing.T, cs ...*client) {
	t.Helper()
	for _, c := range cs {
		c.expectNone("stanza from MUC Light", quiet, fromML)
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

var idCounter int

func newID() string { idCounter++; return fmt.Sprintf("q%d", idCounter) }

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
	for _, c := range []struct{ name, opts string }{{"A9", "rooms_per_page = 1"}, {"A10", `rooms_per_page = "infinity"`}} {
		t.Run(c.name, func(t *testing.T) {
			forEachML(t, func(t *testing.T, d *db.DB, backend string) {
				e := startML(t, d, backend, c.opts, false)
				e.createRoom(t, e.alice, "one@"+mlSvc)
				require.Equal(t, []string{"one@" + mlSvc}, itemJIDs(e.alice.discoItems(mlSvc, "")))
			})
		})
	}
}

func TestMucLightA11A12NoRooms(t *testing.T) {
	for _, c := range []struct{ name, opts string }{{"A11", `rooms_per_page = "infinity"`}, {"A12", "rooms_per_page = 1"}} {
		t.Run(c.name, func(t *testing.T) {
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
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e := startML(t, d, backend, "rooms_in_rosters = true\n[[modules.mod_muc_light.config_schema]]\nfield = \"subject\"\nstring_value = \"\"\n", true)
		it := e.bob.discoItems(mlSvc, "").Child("", "query").Child("", "item")
		require.Equal(t, "testroom", it.Attr("name"))
		require.Equal(t, "testroom", rosterRoom(t, e.bob, mlRoom).Attr("name"))
	})
}
