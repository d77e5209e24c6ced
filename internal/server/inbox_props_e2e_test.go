package server_test

// End-to-end tests of mod_inbox conversation properties (spec/inbox.md
// §7), the bin (§6) and MUC Light group chats (§8.4), on SQLite and
// PostgreSQL, named after the §14 checklist items they cover.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/mod/muclight"
	"github.com/gander-xmpp/gander/internal/wait"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// setProps sends a #conversation set and, on success, checks the
// notification (same id as the IQ, before the result) and returns its <x>.
func setProps(t *testing.T, c *client, jidAttr, extra, children string) (*xmlstream.Element, *xmlstream.Element) {
	t.Helper()
	if s, ok := settleBeforeQuery.Load(c); ok {
		require.NoError(t, s.(*testServer).Inbox().Sync(context.Background()))
	}
	id := fmt.Sprintf("p%d", iqSeq.Add(1))
	resp := c.sendIQ(fmt.Sprintf(`<iq type='set' id='%s'><query xmlns='%s' jid='%s'%s>%s</query></iq>`, id, nsConv, jidAttr, extra, children))
	if resp.Attr("type") != "result" {
		return resp, nil
	}
	require.Empty(t, resp.Elements(), "empty result")
	note := c.expect("property notification", func(el *xmlstream.Element) bool {
		return el.Local == "message" && el.Attr("id") == id && el.Child(nsConv, "x") != nil
	})
	require.Equal(t, c.jid, note.Attr("from"))
	require.Empty(t, note.Attr("type"))
	return resp, note.Child(nsConv, "x")
}

func propsErr(t *testing.T, c *client, jidAttr, children string) string {
	t.Helper()
	resp, _ := setProps(t, c, jidAttr, "", children)
	require.Equal(t, "error", resp.Attr("type"))
	require.Equal(t, "bad-request", errorCondition(resp))
	return errorText(resp)
}

// TestInbox_66_77_108_PropertyErrors covers 66-77 (property set errors)
// and 108 (returns_valid_properties_form), plus the get errors of §7.2.
func TestInbox_66_77_108_PropertyErrors(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInbox(t, d, opts)
		a := e.alice
		resp := a.sendIQ(`<iq type='set' id='e1'><query xmlns='` + nsConv + `'><read>true</read></query></iq>`)
		require.Equal(t, "jid-required", errorText(resp))
		require.Equal(t, "invalid-jid", propsErr(t, a, "$@/", "<read>true</read>"))
		require.Equal(t, "no-property", propsErr(t, a, "bob@localhost", ""))
		for _, c := range []string{"<read>invalid</read>", "<archive>invalid</archive>", "<mute>invalid</mute>", "<mute>-3600</mute>",
			"<unknown>x</unknown>", "<read/>", "<read>true<x/></read>"} {
			require.Equal(t, "bad-request", propsErr(t, a, "bob@localhost", c), c)
		}
		require.Equal(t, "invalid-box", propsErr(t, a, "bob@localhost", "<box>invalid</box>"))
		require.Equal(t, "invalid-box", propsErr(t, a, "bob@localhost", "<box>all</box>"))
		require.Equal(t, "invalid-box", propsErr(t, a, "bob@localhost", "<box> archive </box>"))
		for _, c := range []string{"<read>true</read>", "<box>archive</box>", "<archive>true</archive>", "<mute>3600</mute>"} {
			require.Equal(t, "item-not-found", propsErr(t, a, "bob@localhost", c), c)
		}
		resp = a.sendIQ(`<iq type='set' id='e2'><other xmlns='` + nsConv + `' jid='bob@localhost'/></iq>`)
		require.Equal(t, "bad-request", errorText(resp))

		resp = a.sendIQ(`<iq type='get' id='g1'><query xmlns='` + nsConv + `' jid='bob@localhost'/></iq>`)
		require.Equal(t, "item-not-found", errorCondition(resp))
		require.Equal(t, "Entry not found", errorText(resp))

		for _, attr := range []string{"", ` jid='$@/'`} {
			resp = a.sendIQ(`<iq type='get' id='f1'><query xmlns='` + nsConv + `'` + attr + `/></iq>`)
			require.Equal(t, "result", resp.Attr("type"))
			x := resp.Child(nsConv, "query").Child(nsXData, "x")
			require.Len(t, x.Elements(), 5)
			got := map[string]string{}
			for _, f := range x.Elements() {
				got[f.Attr("var")] = f.Attr("type") + "=" + f.ChildText(nsXData, "value")
			}
			require.Equal(t, map[string]string{"FORM_TYPE": "hidden=" + nsConv, "box": "list-single=all",
				"archive": "boolean=false", "read": "boolean=false", "mute": "text-single=0"}, got)
		}
	})
}

// TestInbox_80_84_109_110_113_Read covers 80-84 (read / unread, queryid
// fallback and queryid), 109-110 (get, complete get) and 113 (timestamp
// not reset by properties).
func TestInbox_80_84_109_110_113_Read(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInbox(t, d, opts)
		chat(t, e.alice, e.bob, "bob", "m1", "one")
		stamp := func() string {
			r := requireEntry(t, entries(t, e.bob), entries(t, e.bob)[0].unread(), "one")
			return r.res.Child("urn:xmpp:forward:0", "forwarded").Child("urn:xmpp:delay", "delay").Attr("stamp")
		}
		before := stamp()
		resp, x := setProps(t, e.bob, "Alice@LOCALHOST/res", "", "<read>true</read>")
		require.Equal(t, "result", resp.Attr("type"))
		require.Equal(t, "alice@localhost", x.Attr("jid"))
		require.Equal(t, resp.Attr("id"), x.Attr("queryid"), "81: queryid falls back to the IQ id")
		require.Equal(t, "true", x.ChildText(nsConv, "read"))
		require.Equal(t, "inbox", x.ChildText(nsConv, "box"))
		require.Equal(t, "false", x.ChildText(nsConv, "archive"))
		require.Equal(t, "0", x.ChildText(nsConv, "mute"))
		requireEntry(t, entries(t, e.bob), 0, "one")

		_, x = setProps(t, e.bob, "alice@localhost", " queryid='qq'", "<read>false</read>")
		require.Equal(t, "qq", x.Attr("queryid"), "82")
		require.Equal(t, "false", x.ChildText(nsConv, "read"))
		requireEntry(t, entries(t, e.bob), 1, "one")

		chat(t, e.alice, e.bob, "bob", "m2", "one")
		requireEntry(t, entries(t, e.bob), 2, "one")
		setProps(t, e.bob, "alice@localhost", "", "<read>false</read>")
		requireEntry(t, entries(t, e.bob), 2, "one")
		_, x = setProps(t, e.bob, "alice@localhost", "", "<read>true</read><mute>60</mute>")
		require.Equal(t, "true", x.ChildText(nsConv, "read"))
		require.Equal(t, before < stamp(), true)
		after := stamp()
		setProps(t, e.bob, "alice@localhost", "", "<read>false</read><mute>0</mute>")
		require.Equal(t, after, stamp(), "113: properties do not change the timestamp")

		resp = e.bob.sendIQ(`<iq type='get' id='g1'><query xmlns='` + nsConv + `' jid='alice@localhost'/></iq>`)
		q := resp.Child(nsConv, "query")
		require.Equal(t, "alice@localhost", q.Attr("jid"))
		require.Equal(t, []string{"read", "box", "archive", "mute"}, names(q))
		require.Equal(t, "false", q.ChildText(nsConv, "read"))
		resp = e.alice.sendIQ(`<iq type='get' id='g2'><query xmlns='` + nsConv + `' jid='bob@localhost' complete='true'/></iq>`)
		q = resp.Child(nsConv, "query")
		require.Equal(t, []string{"forwarded", "read", "box", "archive", "mute"}, names(q))
		require.Equal(t, "one", q.Child("urn:xmpp:forward:0", "forwarded").Child("jabber:client", "message").ChildText("", "body"))
		require.Equal(t, "true", q.ChildText(nsConv, "read"))
		require.Equal(t, "false", q.ChildText(nsConv, "archive"))
		require.Equal(t, "0", q.ChildText(nsConv, "mute"))
	})
}

func names(el *xmlstream.Element) []string {
	var out []string
	for _, c := range el.Elements() {
		out = append(out, c.Local)
	}
	return out
}

// TestInbox_85_103_Boxes covers 85-96 (box moves, auto-unarchive on both
// sides, custom box stays, box has preference over archive, box=all) and
// 97-103 (the legacy archive flag).
func TestInbox_85_103_Boxes(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInbox(t, d, opts)
		chat(t, e.alice, e.bob, "bob", "m1", "one")
		inBox := func(c *client, box string) int { return len(entries(t, c, "box", box)) }

		setProps(t, e.bob, "alice@localhost", "", "<box>other</box>")
		require.Equal(t, []int{1, 0, 0}, []int{inBox(e.bob, "other"), inBox(e.bob, "inbox"), inBox(e.bob, "archive")}, "85")
		chat(t, e.bob, e.alice, "alice", "m2", "reply")
		require.Equal(t, 1, inBox(e.bob, "other"), "87: a custom box stays on a new message")
		require.Len(t, entries(t, e.bob, "box", "all"), 1)

		_, x := setProps(t, e.bob, "alice@localhost", "", "<box>archive</box>")
		require.Equal(t, "true", x.ChildText(nsConv, "archive"))
		require.Equal(t, []int{1, 0}, []int{inBox(e.bob, "archive"), inBox(e.bob, "inbox")}, "86")
		rs := entries(t, e.bob, "archive", "true")
		require.Len(t, rs, 1, "97: the legacy archive form field")
		require.Empty(t, entries(t, e.bob, "archive", "false"))
		require.Len(t, entries(t, e.bob, "box", "inbox", "archive", "true"), 0, "94: box has preference")
		require.Len(t, entries(t, e.bob, "box", "archive", "archive", "false"), 1, "94")

		// 89: the sender writes again; the auto-unarchive notification
		// reaches Bob's resources.
		chat(t, e.bob, e.alice, "alice", "m3", "back")
		note := e.bob.expect("auto-unarchive notification", func(el *xmlstream.Element) bool {
			return el.Local == "message" && el.Child(nsConv, "x") != nil
		})
		x = note.Child(nsConv, "x")
		require.Equal(t, "alice@localhost", x.Attr("jid"))
		require.False(t, x.HasAttr("queryid"))
		require.Equal(t, []string{"true", "inbox", "false"}, []string{x.ChildText(nsConv, "read"), x.ChildText(nsConv, "box"), x.ChildText(nsConv, "archive")})
		require.Equal(t, 1, inBox(e.bob, "inbox"))

		// 90 and 100: the receiver archives (legacy flag), then a message
		// comes in.
		_, x = setProps(t, e.alice, "bob@localhost", "", "<archive>true</archive>")
		require.Equal(t, "archive", x.ChildText(nsConv, "box"))
		require.Equal(t, 1, inBox(e.alice, "archive"), "101: still unread")
		require.Equal(t, 2, entries(t, e.alice, "box", "archive")[0].unread())
		chat(t, e.bob, e.alice, "alice", "m4", "wake up")
		note = e.alice.expect("auto-unarchive notification", func(el *xmlstream.Element) bool {
			return el.Local == "message" && el.Child(nsConv, "x") != nil
		})
		x = note.Child(nsConv, "x")
		require.Equal(t, "bob@localhost", x.Attr("jid"))
		require.Equal(t, []string{"false", "inbox", "false"}, []string{x.ChildText(nsConv, "read"), x.ChildText(nsConv, "box"), x.ChildText(nsConv, "archive")})
		requireEntry(t, entries(t, e.alice, "box", "inbox"), 3, "wake up")

		// 88, 98: archive and back on request keeps the count.
		setProps(t, e.alice, "bob@localhost", "", "<box>archive</box>")
		setProps(t, e.alice, "bob@localhost", "", "<archive>false</archive>")
		requireEntry(t, entries(t, e.alice, "box", "inbox"), 3, "wake up")
		// A box child wins over archive wherever it is.
		_, x = setProps(t, e.alice, "bob@localhost", "", "<archive>true</archive><box>other</box>")
		require.Equal(t, "other", x.ChildText(nsConv, "box"))
		_, x = setProps(t, e.alice, "bob@localhost", "", "<box>inbox</box><archive>true</archive>")
		require.Equal(t, "inbox", x.ChildText(nsConv, "box"))

		// 92, 96: three conversations archived, fetched in order; box=all.
		chat(t, e.kate, e.alice, "alice", "k1", "k")
		chat(t, e.mike, e.alice, "alice", "i1", "m")
		order := entries(t, e.alice)
		require.Len(t, order, 3)
		for _, u := range []string{"bob", "kate", "mike"} {
			setProps(t, e.alice, u+"@localhost", "", "<box>archive</box>")
		}
		rs, _ = query(t, e.alice, "arch", formXML("box", "archive"))
		require.Len(t, rs, 3)
		for i := range rs {
			require.Equal(t, order[i].body(), rs[i].body())
			require.Equal(t, "arch", rs[i].res.Attr("queryid"), "93")
			require.Equal(t, "true", rs[i].prop("archive"))
		}
		require.Empty(t, entries(t, e.alice, "box", "inbox"))
		setProps(t, e.alice, "kate@localhost", "", "<box>other</box>")
		require.Len(t, entries(t, e.alice, "box", "all"), 3, "96")
		require.Len(t, entries(t, e.alice, "box", "other"), 1, "95")
	})
}

// TestInbox_104_107_111_112_Mute covers 104-107 (mute, unmute, expiry at
// read time, a new value replaces the old) and 111-112 (several
// properties at once).
func TestInbox_104_107_111_112_Mute(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInbox(t, d, opts)
		chat(t, e.alice, e.bob, "bob", "m1", "one")
		muteTime := func(v string) time.Time {
			tm, err := time.Parse(time.RFC3339Nano, v)
			require.NoError(t, err, v)
			return tm
		}
		_, x := setProps(t, e.bob, "alice@localhost", "", "<mute>86400</mute>")
		require.Greater(t, time.Until(muteTime(x.ChildText(nsConv, "mute"))), 23*time.Hour)
		require.Regexp(t, `\.\d{6}Z$`, x.ChildText(nsConv, "mute"))
		chat(t, e.alice, e.bob, "bob", "m2", "two")
		r := requireEntry(t, entries(t, e.bob), 2, "two")
		require.Greater(t, time.Until(muteTime(r.prop("mute"))), 23*time.Hour, "104")
		setProps(t, e.bob, "alice@localhost", "", "<mute>3600</mute>")
		_, x = setProps(t, e.bob, "alice@localhost", "", "<mute>86400</mute>")
		require.Greater(t, time.Until(muteTime(x.ChildText(nsConv, "mute"))), 23*time.Hour, "107")
		_, x = setProps(t, e.bob, "alice@localhost", "", "<mute>0</mute>")
		require.Equal(t, "0", x.ChildText(nsConv, "mute"), "105")
		require.Equal(t, "0", entries(t, e.bob)[0].prop("mute"))

		setProps(t, e.bob, "alice@localhost", "", "<mute>1</mute>")
		require.NotEqual(t, "0", entries(t, e.bob)[0].prop("mute"))
		wait.Until(t, 10*time.Second, func() error {
			if m := entries(t, e.bob)[0].prop("mute"); m != "0" {
				return fmt.Errorf("106: the mute never expired (mute %s)", m)
			}
			return nil
		})

		_, x = setProps(t, e.bob, "alice@localhost", " queryid='many'", "\n  <archive>true</archive>\n  <read>true</read>\n  <mute>86400</mute>\n")
		require.Equal(t, "many", x.Attr("queryid"), "112")
		require.Equal(t, "archive", x.ChildText(nsConv, "box"))
		require.Empty(t, entries(t, e.bob, "box", "inbox"))
		r = requireEntry(t, entries(t, e.bob, "box", "archive"), 0, "two")
		require.Greater(t, time.Until(muteTime(r.prop("mute"))), 23*time.Hour, "111")
	})
}

// TestInbox_65_EmptyBin covers 65 (xmpp_bin_flush), §6 and the periodic
// cleaner's purge (§11; 64 with the synchronous backend).
func TestInbox_65_EmptyBin(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInbox(t, d, opts+"bin_ttl = 0")
		chat(t, e.alice, e.bob, "bob", "m1", "one")
		chat(t, e.kate, e.bob, "bob", "m2", "two")
		chat(t, e.mike, e.bob, "bob", "m3", "three")
		setProps(t, e.bob, "alice@localhost", "", "<box>bin</box>")
		setProps(t, e.bob, "kate@localhost", "", "<box>bin</box>")
		require.Len(t, entries(t, e.bob), 1, "the bin is not in the default view (63)")
		require.Len(t, entries(t, e.bob, "box", "all"), 3)
		require.Len(t, entries(t, e.bob, "box", "bin"), 2)
		resp := e.bob.sendIQ(`<iq type='set' id='eb'><empty-bin xmlns='` + nsInbox + `'/></iq>`)
		require.Equal(t, "result", resp.Attr("type"))
		require.Equal(t, "2", resp.Child(nsInbox, "empty-bin").ChildText(nsInbox, "num"))
		require.Empty(t, entries(t, e.bob, "box", "bin"))
		require.Len(t, entries(t, e.bob, "box", "all"), 1)

		setProps(t, e.bob, "mike@localhost", "", "<box>bin</box>")
		require.Equal(t, 1, e.s.Inbox().CleanBin(context.Background()))
		require.Empty(t, entries(t, e.bob, "box", "all"))
	})
}

// TestInbox_UserRemovalCleansInbox covers §8.9: user removal deletes the
// user's entries; entries pointing at the user stay.
func TestInbox_UserRemovalCleansInbox(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInbox(t, d, opts)
		chat(t, e.alice, e.bob, "bob", "m1", "one")
		require.NoError(t, e.s.Accounts().Remove(context.Background(), jid.MustParse("bob@localhost")))
		e.s.register(t, "bob")
		bob := online(t, e.s, "bob")
		require.Empty(t, entries(t, bob))
		require.Len(t, entries(t, e.alice), 1)
	})
}

// ---- MUC Light ----

const ibRoom = "testroom@" + mlSvc

func startInboxML(t *testing.T, d *db.DB, opts string, fixture bool) *inboxEnv {
	t.Helper()
	ib := inboxConfig(t, opts)
	ml := mlConfig(t, `backend = "rdbms"`)
	s := startServer(t, d, func(c *config.Config) { c.Modules.Inbox, c.Modules.MucLight = ib, ml })
	s.register(t, "alice", "bob", "kate", "mike")
	if fixture {
		require.NoError(t, s.MucLight().Store().Create(context.Background(), &muclight.Room{JID: bare(ibRoom), Version: "ver-1", Config: map[string]string{},
			Occupants: []muclight.Occupant{{User: bare("alice@localhost"), Aff: muclight.AffOwner},
				{User: bare("bob@localhost"), Aff: muclight.AffMember}, {User: bare("kate@localhost"), Aff: muclight.AffMember}}}))
	}
	e := &inboxEnv{s: s, alice: online(t, s, "alice"), bob: online(t, s, "bob"), kate: online(t, s, "kate"), mike: online(t, s, "mike")}
	if ib.Backend == "rdbms_async" {
		for _, c := range []*client{e.alice, e.bob, e.kate, e.mike} {
			settleBeforeQuery.Store(c, s)
			t.Cleanup(func() { settleBeforeQuery.Delete(c) })
		}
	}
	return e
}

// post sends a room message from c and waits until every listed member
// got it.
func post(t *testing.T, c *client, id, body string, members ...*client) {
	t.Helper()
	c.send(`<message to='` + ibRoom + `' type='groupchat' id='` + id + `'><body>` + body + `</body></message>`)
	for _, m := range append(members, c) {
		m.expect("room message "+body, isMessage(body))
	}
}

func roomEntry(t *testing.T, c *client, unread int, body string) inboxResult {
	t.Helper()
	return requireEntry(t, entries(t, c), unread, body)
}

// TestInbox_34_38_39_40_43_44_MucLight covers 34
// (simple_groupchat_stored_in_all_inbox), 38 and 43-44 (groupchat
// markers), 39 (non-reset markers), 40 (reset stanza for the room) and
// 121 (set unread on a room entry).
func TestInbox_34_38_39_40_43_44_121_MucLight(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInboxML(t, d, opts, true)
		post(t, e.alice, "g-1", "Hi room", e.bob, e.kate)
		roomEntry(t, e.alice, 0, "Hi room")
		r := roomEntry(t, e.bob, 1, "Hi room")
		require.Equal(t, ibRoom+"/alice@localhost", r.inner.Attr("from"))
		require.Equal(t, "bob@localhost", r.inner.Attr("to"))
		roomEntry(t, e.kate, 1, "Hi room")

		for _, kind := range []string{"received", "acknowledged"} {
			e.bob.send(`<message to='` + ibRoom + `' type='groupchat' id='mk-` + kind + `'><` + kind + ` xmlns='urn:xmpp:chat-markers:0' id='g-1'/></message>`)
			e.bob.expect("marker echo", func(el *xmlstream.Element) bool { return el.Attr("id") == "mk-"+kind })
		}
		roomEntry(t, e.bob, 1, "Hi room")
		e.bob.send(`<message to='` + ibRoom + `' type='groupchat' id='mk'><displayed xmlns='urn:xmpp:chat-markers:0' id='g-1'/></message>`)
		e.bob.expect("marker echo", func(el *xmlstream.Element) bool { return el.Attr("id") == "mk" })
		roomEntry(t, e.bob, 0, "Hi room")
		roomEntry(t, e.alice, 0, "Hi room")
		roomEntry(t, e.kate, 1, "Hi room")
		e.kate.send(`<message to='` + ibRoom + `' type='groupchat' id='mk2'><displayed xmlns='urn:xmpp:chat-markers:0' id='g-1'/></message>`)
		e.kate.expect("marker echo", func(el *xmlstream.Element) bool { return el.Attr("id") == "mk2" })
		roomEntry(t, e.kate, 0, "Hi room")

		post(t, e.alice, "g-2", "again", e.bob, e.kate)
		resp := e.bob.sendIQ(`<iq type='set' id='rs'><reset xmlns='` + nsConv + `' jid='` + ibRoom + `'/></iq>`)
		require.Equal(t, "result", resp.Attr("type"))
		roomEntry(t, e.bob, 0, "again")
		roomEntry(t, e.kate, 1, "again")
		e.alice.expectNone("stanza caused by a reset", func(el *xmlstream.Element) bool {
			return el.Attr("id") == "rs" || el.Child(nsConv, "x") != nil
		})

		post(t, e.alice, "g-3", "third", e.bob, e.kate)
		setProps(t, e.bob, ibRoom, "", "<read>true</read>")
		roomEntry(t, e.bob, 0, "third")
		setProps(t, e.bob, ibRoom, "", "<read>false</read>")
		roomEntry(t, e.bob, 1, "third")
		setProps(t, e.kate, ibRoom, "", "<read>false</read>")
		roomEntry(t, e.kate, 2, "third")
		roomEntry(t, e.alice, 0, "third")
	})
}

// TestInbox_35_37_41_42_MucLightLifecycle covers 41 (create_groupchat),
// 37 (advanced_groupchat_stored_in_all_inbox), 42
// (leave_and_remove_conversation) and 35 (room destroyed over XMPP).
func TestInbox_35_37_41_42_MucLightLifecycle(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		e := startInboxML(t, d, opts, false)
		require.Equal(t, "result", e.alice.mlIQ("set", ibRoom, nsMLCrt, "<occupants>"+users("bob@localhost", "member", "kate@localhost", "member")+"</occupants>").Attr("type"))
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			c.expect("creation notification", isNote(ibRoom, nsMLAff))
		}
		r := roomEntry(t, e.alice, 1, "")
		require.Equal(t, ibRoom, r.inner.Attr("from"))
		require.Contains(t, r.inner.String(), `affiliation="owner"`)
		r = roomEntry(t, e.bob, 1, "")
		require.Contains(t, r.inner.String(), `affiliation="member"`)
		roomEntry(t, e.kate, 1, "")

		post(t, e.alice, "a-1", "from alice", e.bob, e.kate)
		post(t, e.bob, "b-1", "from bob", e.alice, e.kate)
		roomEntry(t, e.alice, 1, "from bob")
		roomEntry(t, e.bob, 0, "from bob")
		roomEntry(t, e.kate, 3, "from bob")

		require.Equal(t, "result", e.bob.setAffs(ibRoom, "bob@localhost", "none").Attr("type"))
		e.bob.expect("leave notification", isNote(ibRoom, nsMLAff))
		require.Empty(t, entries(t, e.bob, "box", "inbox"), "42")
		if opts == "" {
			require.Empty(t, entries(t, e.bob, "box", "all"))
		} else {
			// Asynchronous removal moves the entry to the bin (42).
			requireEntry(t, entries(t, e.bob, "box", "bin"), 1, "")
		}
		roomEntry(t, e.kate, 3, "from bob")

		require.Equal(t, "result", e.alice.mlIQ("set", ibRoom, nsMLDst, "").Attr("type"))
		for _, c := range []*client{e.alice, e.bob, e.kate} {
			require.Empty(t, entries(t, c), "35")
		}
	})
}

// TestInbox_46_50_MucLightNoAffChanges covers 46 and 50 (aff_changes =
// false).
func TestInbox_46_50_MucLightNoAffChanges(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		{
			e := startInboxML(t, d, opts+"aff_changes = false", false)
			require.Equal(t, "result", e.alice.mlIQ("set", ibRoom, nsMLCrt, "<occupants>"+users("bob@localhost", "member", "kate@localhost", "member")+"</occupants>").Attr("type"))
			for _, c := range []*client{e.alice, e.bob, e.kate} {
				c.expect("creation notification", isNote(ibRoom, nsMLAff))
				require.Empty(t, entries(t, c), "46")
			}
			post(t, e.alice, "a-1", "one", e.bob, e.kate)
			post(t, e.alice, "a-2", "two", e.bob, e.kate)
			roomEntry(t, e.alice, 0, "two")
			roomEntry(t, e.bob, 2, "two")
			roomEntry(t, e.kate, 2, "two")
		}
	})
}

// TestInbox_47_49_MucLightKeepOnKick covers 47 and 49 (remove_on_kicked =
// false).
func TestInbox_47_49_MucLightKeepOnKick(t *testing.T) {
	t.Parallel()
	forEachInbox(t, func(t *testing.T, d *db.DB, opts string) {
		{
			e := startInboxML(t, d, opts+"remove_on_kicked = false", true)
			post(t, e.alice, "a-1", "one", e.bob, e.kate)
			require.Equal(t, "result", e.alice.setAffs(ibRoom, "bob@localhost", "none").Attr("type"))
			e.bob.expect("kick notification", isNote(ibRoom, nsMLAff))
			r := roomEntry(t, e.bob, 2, "")
			require.Equal(t, ibRoom, r.inner.Attr("from"))
			require.Contains(t, r.inner.String(), `affiliation="none"`)
		}
	})
}
