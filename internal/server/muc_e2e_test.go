package server_test

// End-to-end tests of mod_muc (classic MUC, XEP-0045; docs/modules/mod_muc.md)
// with the mellium client sending raw stanzas. Rooms live in memory, so
// these tests run on SQLite only (the database holds the accounts).

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

const (
	mucSvc   = "conference.localhost"
	nsMUC    = "http://jabber.org/protocol/muc"
	nsMUCU   = nsMUC + "#user"
	nsMUCAdm = nsMUC + "#admin"
	nsMUCOwn = nsMUC + "#owner"
)

func mucConfig(t *testing.T, opts string) *config.ModMuc {
	t.Helper()
	cfg, err := config.Parse([]byte(config.WithoutModules(config.DefaultTOML, "mod_muc")+"\n[modules.mod_muc]\n"+opts), "test.toml")
	require.NoError(t, err)
	return cfg.Modules.Muc
}

// mucEnv is a server with mod_muc and four online users.
type mucEnv struct {
	s                      *testServer
	alice, bob, kate, mike *client
}

func startMuc(t *testing.T, opts string) *mucEnv {
	t.Helper()
	mc := mucConfig(t, opts)
	s := startServer(t, dbtest.Open(t, db.SQLite), func(c *config.Config) { c.Modules.Muc = mc })
	s.register(t, "alice", "bob", "kate", "mike")
	return &mucEnv{s: s, alice: online(t, s, "alice"), bob: online(t, s, "bob"), kate: online(t, s, "kate"), mike: online(t, s, "mike")}
}

// presFrom matches a presence from full carrying a muc#user x.
func presFrom(full string) func(*xmlstream.Element) bool {
	return func(el *xmlstream.Element) bool {
		return el.Local == "presence" && el.Attr("from") == full && el.Child(nsMUCU, "x") != nil
	}
}

// statusCodes returns the muc#user status codes of a stanza.
func statusCodes(el *xmlstream.Element) []string {
	var out []string
	if x := el.Child(nsMUCU, "x"); x != nil {
		for _, s := range x.Elements() {
			if s.Local == "status" {
				out = append(out, s.Attr("code"))
			}
		}
	}
	return out
}

// mucItem returns the muc#user item of a presence.
func mucItem(el *xmlstream.Element) *xmlstream.Element {
	if x := el.Child(nsMUCU, "x"); x != nil {
		return x.Child(nsMUCU, "item")
	}
	return nil
}

// join enters room as nick with the raw x element (history options) and
// returns the self-presence (status 110).
func join(t *testing.T, c *client, room, nick, x string) *xmlstream.Element {
	t.Helper()
	if x == "" {
		x = `<x xmlns='` + nsMUC + `'/>`
	}
	c.send(`<presence to='` + room + `/` + nick + `'>` + x + `</presence>`)
	self := c.expect("self-presence in "+room, func(el *xmlstream.Element) bool {
		return presFrom(room+"/"+nick)(el) && el.Attr("type") == "" && strings.Contains(strings.Join(statusCodes(el), ","), "110")
	})
	return self
}

// joinErr enters room as nick and returns the presence error.
func joinErr(t *testing.T, c *client, room, nick string) *xmlstream.Element {
	t.Helper()
	c.send(`<presence to='` + room + `/` + nick + `'><x xmlns='` + nsMUC + `'/></presence>`)
	return c.expect("presence error", func(el *xmlstream.Element) bool {
		return el.Local == "presence" && el.Attr("type") == "error" && el.Attr("from") == room+"/"+nick
	})
}

// createRoom creates room with c as owner (nick) and unlocks it with an
// empty configuration form (an instant room, XEP-0045 §10.1.2).
func createRoom(t *testing.T, c *client, room, nick string) {
	t.Helper()
	self := join(t, c, room, nick, "")
	require.Contains(t, statusCodes(self), "201", self.String())
	require.Equal(t, "owner", mucItem(self).Attr("affiliation"))
	require.Equal(t, "moderator", mucItem(self).Attr("role"))
	resp := c.sendIQ(`<iq type='set' to='` + room + `' id='inst'><query xmlns='` + nsMUCOwn + `'><x xmlns='jabber:x:data' type='submit'/></query></iq>`)
	require.Equal(t, "result", resp.Attr("type"), resp.String())
}

// setAff changes one affiliation through muc#admin.
func setAff(c *client, room, user, aff string) *xmlstream.Element {
	return c.sendIQ(`<iq type='set' to='` + room + `' id='aff'><query xmlns='` + nsMUCAdm + `'><item affiliation='` + aff + `' jid='` + user + `'/></query></iq>`)
}

// mucPost sends a groupchat message to room.
func mucPost(c *client, room, id, body string) {
	c.send(`<message to='` + room + `' type='groupchat' id='` + id + `'><body>` + body + `</body></message>`)
}

// roomMsg matches a groupchat message from room/nick with body.
func roomMsg(room, nick, body string) func(*xmlstream.Element) bool {
	return func(el *xmlstream.Element) bool {
		return el.Local == "message" && el.Attr("type") == "groupchat" && el.Attr("from") == room+"/"+nick && el.ChildText("", "body") == body
	}
}

func stanzaErr(el *xmlstream.Element) string {
	e := el.Child("jabber:client", "error")
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

func TestMuc_Disco(t *testing.T) {
	t.Parallel()
	e := startMuc(t, "")
	resp := e.alice.sendIQ(`<iq type='get' to='localhost' id='d0'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`)
	require.Contains(t, resp.String(), `jid="`+mucSvc+`"`)
	resp = e.alice.sendIQ(`<iq type='get' to='` + mucSvc + `' id='d1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	require.Equal(t, "result", resp.Attr("type"))
	require.Contains(t, resp.String(), `category="conference"`)
	require.Contains(t, resp.String(), `var="`+nsMUC+`"`)

	room := "lobby@" + mucSvc
	createRoom(t, e.alice, room, "al")
	resp = e.bob.sendIQ(`<iq type='get' to='` + mucSvc + `' id='d2'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`)
	require.Contains(t, resp.String(), `jid="`+room+`"`)
	resp = e.bob.sendIQ(`<iq type='get' to='` + room + `' id='d3'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	require.Equal(t, "result", resp.Attr("type"))
	require.Contains(t, resp.String(), `var="muc_semianonymous"`)
	resp = e.bob.sendIQ(`<iq type='get' to='` + room + `' id='d4'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`)
	require.Equal(t, "result", resp.Attr("type"))
	resp = e.bob.sendIQ(`<iq type='get' to='nowhere@` + mucSvc + `' id='d5'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	require.Equal(t, "item-not-found", stanzaErr(resp))
}

func TestMuc_JoinPresenceLeave(t *testing.T) {
	t.Parallel()
	e := startMuc(t, "")
	room := "lobby@" + mucSvc
	createRoom(t, e.alice, room, "al")
	// The subject (empty) follows the entry.
	e.alice.expect("subject", func(el *xmlstream.Element) bool { return el.Child("jabber:client", "subject") != nil })

	self := join(t, e.bob, room, "bobby", "")
	require.Equal(t, []string{"110"}, statusCodes(self))
	require.Equal(t, "none", mucItem(self).Attr("affiliation"))
	require.Equal(t, "participant", mucItem(self).Attr("role"))
	// Bob learns about Alice; semi-anonymous: no real JID for a participant.
	al := e.bob.expect("alice's presence", presFrom(room+"/al"))
	require.Equal(t, "owner", mucItem(al).Attr("affiliation"))
	require.Empty(t, mucItem(al).Attr("jid"))
	// Alice (a moderator) sees Bob's real JID.
	bp := e.alice.expect("bob's presence", presFrom(room+"/bobby"))
	require.Equal(t, e.bob.jid, mucItem(bp).Attr("jid"))

	// Presence update is broadcast.
	e.bob.send(`<presence to='` + room + `/bobby'><show>away</show></presence>`)
	e.alice.expect("bob away", func(el *xmlstream.Element) bool {
		return presFrom(room+"/bobby")(el) && el.ChildText("jabber:client", "show") == "away"
	})

	// Nick conflict and no nick.
	require.Equal(t, "conflict", stanzaErr(joinErr(t, e.kate, room, "bobby")))
	e.kate.send(`<presence to='` + room + `'/>`)
	pe := e.kate.expect("no nick", func(el *xmlstream.Element) bool { return el.Local == "presence" && el.Attr("type") == "error" })
	require.Equal(t, "jid-malformed", stanzaErr(pe))

	// Leaving: self-presence with 110, others see unavailable.
	e.bob.send(`<presence to='` + room + `/bobby' type='unavailable'/>`)
	left := e.bob.expect("own leave", func(el *xmlstream.Element) bool {
		return presFrom(room+"/bobby")(el) && el.Attr("type") == "unavailable"
	})
	require.Contains(t, statusCodes(left), "110")
	e.alice.expect("bob left", func(el *xmlstream.Element) bool {
		return presFrom(room+"/bobby")(el) && el.Attr("type") == "unavailable" && mucItem(el).Attr("role") == "none"
	})

	// The session ending takes the occupant out of the room.
	join(t, e.kate, room, "kk", "")
	e.alice.expect("kate joined", presFrom(room+"/kk"))
	require.NoError(t, e.kate.sess.Close())
	e.alice.expect("kate gone", func(el *xmlstream.Element) bool {
		return presFrom(room+"/kk")(el) && el.Attr("type") == "unavailable"
	})
	// Her nickname is free again.
	join(t, e.mike, room, "kk", "")
	// Going unavailable (broadcast presence) reaches the rooms the user
	// sent directed presence to.
	e.mike.send(`<presence type='unavailable'/>`)
	e.alice.expect("mike gone", func(el *xmlstream.Element) bool {
		return presFrom(room+"/kk")(el) && el.Attr("type") == "unavailable"
	})
}

func TestMuc_LockedRoom(t *testing.T) {
	t.Parallel()
	e := startMuc(t, "")
	room := "new@" + mucSvc
	self := join(t, e.alice, room, "al", "")
	require.Contains(t, statusCodes(self), "201")
	// Locked until configured: others cannot enter, the room is not listed.
	require.Equal(t, "item-not-found", stanzaErr(joinErr(t, e.bob, room, "b")))
	resp := e.bob.sendIQ(`<iq type='get' to='` + mucSvc + `' id='d2'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`)
	require.NotContains(t, resp.String(), room)
	// The owner may already talk (Gander accepts messages in a locked room).
	mucPost(e.alice, room, "g0", "anyone?")
	e.alice.expect("own echo", roomMsg(room, "al", "anyone?"))
	// Only the owner may get or submit the form.
	resp = e.bob.sendIQ(`<iq type='get' to='` + room + `' id='o1'><query xmlns='` + nsMUCOwn + `'/></iq>`)
	require.Equal(t, "forbidden", stanzaErr(resp))
	resp = e.alice.sendIQ(`<iq type='get' to='` + room + `' id='o2'><query xmlns='` + nsMUCOwn + `'/></iq>`)
	require.Equal(t, "result", resp.Attr("type"))
	require.Contains(t, resp.String(), nsMUC+"#roomconfig")
	resp = e.alice.sendIQ(`<iq type='set' to='` + room + `' id='o3'><query xmlns='` + nsMUCOwn + `'><destroy/></query></iq>`)
	require.Equal(t, "feature-not-implemented", stanzaErr(resp))
	resp = e.alice.sendIQ(`<iq type='set' to='` + room + `' id='o4'><query xmlns='` + nsMUCOwn + `'><x xmlns='jabber:x:data' type='submit'/></query></iq>`)
	require.Equal(t, "result", resp.Attr("type"))
	join(t, e.bob, room, "b", "")
}

func TestMuc_GroupchatAndErrors(t *testing.T) {
	t.Parallel()
	e := startMuc(t, "")
	room := "lobby@" + mucSvc
	createRoom(t, e.alice, room, "al")
	join(t, e.bob, room, "bobby", "")

	mucPost(e.bob, room, "g1", "hello room")
	for _, c := range []*client{e.alice, e.bob} {
		m := c.expect("broadcast", roomMsg(room, "bobby", "hello room"))
		require.Equal(t, "g1", m.Attr("id"))
		require.Equal(t, c.jid, m.Attr("to"))
		sid := m.Child("urn:xmpp:sid:0", "stanza-id")
		require.NotNil(t, sid, m.String())
		require.Equal(t, room, sid.Attr("by"))
	}
	// A non-occupant gets not-acceptable.
	mucPost(e.kate, room, "g2", "let me in")
	em := e.kate.expect("error", func(el *xmlstream.Element) bool { return el.Attr("type") == "error" && el.Attr("id") == "g2" })
	require.Equal(t, "not-acceptable", stanzaErr(em))
	// A missing room gives item-not-found.
	mucPost(e.kate, "ghost@"+mucSvc, "g3", "hello?")
	em = e.kate.expect("error", func(el *xmlstream.Element) bool { return el.Attr("type") == "error" && el.Attr("id") == "g3" })
	require.Equal(t, "item-not-found", stanzaErr(em))
	// Subject change, then a newcomer gets the subject.
	e.bob.send(`<message to='` + room + `' type='groupchat' id='s1'><subject>Plans</subject></message>`)
	e.alice.expect("subject change", func(el *xmlstream.Element) bool {
		return el.Attr("from") == room+"/bobby" && el.ChildText("jabber:client", "subject") == "Plans"
	})
	join(t, e.kate, room, "kk", "")
	e.kate.expect("subject on entry", func(el *xmlstream.Element) bool {
		return el.Attr("from") == room+"/bobby" && el.ChildText("jabber:client", "subject") == "Plans"
	})
	// Unsupported requests.
	e.bob.send(`<message to='` + room + `' id='inv'><x xmlns='` + nsMUCU + `'><invite to='mike@localhost'/></x></message>`)
	em = e.bob.expect("invite error", func(el *xmlstream.Element) bool { return el.Attr("type") == "error" && el.Attr("id") == "inv" })
	require.Equal(t, "feature-not-implemented", stanzaErr(em))
	resp := e.bob.sendIQ(`<iq type='get' to='` + room + `' id='v'><vCard xmlns='vcard-temp'/></iq>`)
	require.Equal(t, "feature-not-implemented", stanzaErr(resp))
	e.bob.send(`<presence to='` + room + `/other'/>`)
	pe := e.bob.expect("nick change error", func(el *xmlstream.Element) bool { return el.Local == "presence" && el.Attr("type") == "error" })
	require.Equal(t, "feature-not-implemented", stanzaErr(pe))
}

func TestMuc_History(t *testing.T) {
	t.Parallel()
	e := startMuc(t, "history_size = 3")
	room := "lobby@" + mucSvc
	createRoom(t, e.alice, room, "al")
	for i := 1; i <= 5; i++ {
		body := fmt.Sprintf("m%d", i)
		mucPost(e.alice, room, body, body)
		e.alice.expect("echo", roomMsg(room, "al", body))
	}
	// history_size = 3 keeps m3..m5; each replay carries a delay from the room.
	join(t, e.bob, room, "b", "")
	var stamps []time.Time
	for _, body := range []string{"m3", "m4", "m5"} {
		m := e.bob.expect("history "+body, roomMsg(room, "al", body))
		d := m.Child("urn:xmpp:delay", "delay")
		require.NotNil(t, d, m.String())
		require.Equal(t, room, d.Attr("from"))
		ts, err := time.Parse(time.RFC3339Nano, d.Attr("stamp"))
		require.NoError(t, err)
		stamps = append(stamps, ts)
	}
	require.True(t, !stamps[1].Before(stamps[0]) && !stamps[2].Before(stamps[1]))
	e.bob.barrier(room) // the room has sent all of its join replies
	e.bob.expectNone("m1 or m2", func(el *xmlstream.Element) bool {
		return roomMsg(room, "al", "m1")(el) || roomMsg(room, "al", "m2")(el)
	})
	// maxstanzas limits the replay.
	join(t, e.kate, room, "k", `<x xmlns='`+nsMUC+`'><history maxstanzas='1'/></x>`)
	e.kate.expect("last message", roomMsg(room, "al", "m5"))
	subj := e.kate.expect("subject", func(el *xmlstream.Element) bool { return el.Child("jabber:client", "subject") != nil })
	require.Equal(t, room, subj.Attr("from"))
	e.kate.barrier(room)
	e.kate.expectNone("older history", func(el *xmlstream.Element) bool {
		return roomMsg(room, "al", "m4")(el) || roomMsg(room, "al", "m3")(el)
	})
	// maxchars = 0: no history.
	join(t, e.mike, room, "mk", `<x xmlns='`+nsMUC+`'><history maxchars='0'/></x>`)
	e.mike.expect("subject", func(el *xmlstream.Element) bool { return el.Child("jabber:client", "subject") != nil })
	e.mike.barrier(room)
	e.mike.expectNone("history", func(el *xmlstream.Element) bool { return el.ChildText("", "body") != "" })
}

func TestMuc_PrivateMessages(t *testing.T) {
	t.Parallel()
	e := startMuc(t, "")
	room := "lobby@" + mucSvc
	createRoom(t, e.alice, room, "al")
	join(t, e.bob, room, "bobby", "")
	e.alice.send(`<message to='` + room + `/bobby' type='chat' id='pm1'><body>psst</body></message>`)
	pm := e.bob.expect("pm", isMessage("psst"))
	require.Equal(t, room+"/al", pm.Attr("from"))
	require.Equal(t, e.bob.jid, pm.Attr("to"))
	require.Equal(t, "chat", pm.Attr("type"))
	require.NotNil(t, pm.Child(nsMUCU, "x"))
	// To a nick that is not there: item-not-found; from a non-occupant:
	// not-acceptable; a groupchat-type private message: bad-request.
	e.alice.send(`<message to='` + room + `/nobody' type='chat' id='pm2'><body>x</body></message>`)
	em := e.alice.expect("error", func(el *xmlstream.Element) bool { return el.Attr("id") == "pm2" })
	require.Equal(t, "item-not-found", stanzaErr(em))
	e.kate.send(`<message to='` + room + `/bobby' type='chat' id='pm3'><body>x</body></message>`)
	em = e.kate.expect("error", func(el *xmlstream.Element) bool { return el.Attr("id") == "pm3" })
	require.Equal(t, "not-acceptable", stanzaErr(em))
	e.alice.send(`<message to='` + room + `/bobby' type='groupchat' id='pm4'><body>x</body></message>`)
	em = e.alice.expect("error", func(el *xmlstream.Element) bool { return el.Attr("id") == "pm4" })
	require.Equal(t, "bad-request", stanzaErr(em))
}

func TestMuc_Affiliations(t *testing.T) {
	t.Parallel()
	e := startMuc(t, "")
	room := "lobby@" + mucSvc
	createRoom(t, e.alice, room, "al")
	join(t, e.bob, room, "bobby", "")
	join(t, e.kate, room, "kk", "")

	// A participant may not change affiliations or read the lists.
	require.Equal(t, "forbidden", stanzaErr(setAff(e.bob, room, "kate@localhost", "member")))
	resp := e.bob.sendIQ(`<iq type='get' to='` + room + `' id='l0'><query xmlns='` + nsMUCAdm + `'><item affiliation='member'/></query></iq>`)
	require.Equal(t, "forbidden", stanzaErr(resp))

	// Owner grants member and admin; occupants see the new items.
	require.Equal(t, "result", setAff(e.alice, room, "bob@localhost", "member").Attr("type"))
	p := e.kate.expect("bob is a member", func(el *xmlstream.Element) bool {
		return presFrom(room+"/bobby")(el) && mucItem(el).Attr("affiliation") == "member"
	})
	require.Equal(t, "participant", mucItem(p).Attr("role"))
	own := e.bob.expect("own new affiliation", func(el *xmlstream.Element) bool {
		return presFrom(room+"/bobby")(el) && mucItem(el).Attr("affiliation") == "member"
	})
	require.Contains(t, statusCodes(own), "110")
	require.Equal(t, "result", setAff(e.alice, room, "kate@localhost", "admin").Attr("type"))
	e.kate.expect("kate is admin", func(el *xmlstream.Element) bool {
		return presFrom(room+"/kk")(el) && mucItem(el).Attr("affiliation") == "admin" && mucItem(el).Attr("role") == "moderator"
	})
	// Members and offline users (mike) can be listed.
	require.Equal(t, "result", setAff(e.alice, room, "mike@localhost", "member").Attr("type"))
	resp = e.kate.sendIQ(`<iq type='get' to='` + room + `' id='l1'><query xmlns='` + nsMUCAdm + `'><item affiliation='member'/></query></iq>`)
	require.Equal(t, "result", resp.Attr("type"), resp.String())
	var members []string
	for _, it := range resp.Child(nsMUCAdm, "query").Elements() {
		require.Equal(t, "member", it.Attr("affiliation"))
		members = append(members, it.Attr("jid"))
	}
	require.Equal(t, []string{"bob@localhost", "mike@localhost"}, members)

	// An admin may not touch an owner or make admins.
	require.Equal(t, "not-allowed", stanzaErr(setAff(e.kate, room, "alice@localhost", "outcast")))
	require.Equal(t, "forbidden", stanzaErr(setAff(e.kate, room, "bob@localhost", "admin")))
	// The last owner cannot step down.
	require.Equal(t, "conflict", stanzaErr(setAff(e.alice, room, "alice@localhost", "member")))
	// Role changes are not supported.
	resp = e.alice.sendIQ(`<iq type='set' to='` + room + `' id='r'><query xmlns='` + nsMUCAdm + `'><item nick='bobby' role='none'/></query></iq>`)
	require.Equal(t, "feature-not-implemented", stanzaErr(resp))

	// An admin bans Bob: he is removed with 301 and cannot come back.
	require.Equal(t, "result", setAff(e.kate, room, "bob@localhost", "outcast").Attr("type"))
	kick := e.bob.expect("ban", func(el *xmlstream.Element) bool {
		return presFrom(room+"/bobby")(el) && el.Attr("type") == "unavailable"
	})
	require.ElementsMatch(t, []string{"110", "301"}, statusCodes(kick))
	require.Equal(t, "outcast", mucItem(kick).Attr("affiliation"))
	e.alice.expect("bob banned", func(el *xmlstream.Element) bool {
		return presFrom(room+"/bobby")(el) && el.Attr("type") == "unavailable" && strings.Contains(strings.Join(statusCodes(el), ","), "301")
	})
	require.Equal(t, "forbidden", stanzaErr(joinErr(t, e.bob, room, "bobby")))
	resp = e.alice.sendIQ(`<iq type='get' to='` + room + `' id='l2'><query xmlns='` + nsMUCAdm + `'><item affiliation='outcast'/></query></iq>`)
	require.Contains(t, resp.String(), `jid="bob@localhost"`)
	// none lifts the ban.
	require.Equal(t, "result", setAff(e.alice, room, "bob@localhost", "none").Attr("type"))
	join(t, e.bob, room, "bobby", "")
	// A member who leaves stays a member.
	require.Equal(t, "result", setAff(e.alice, room, "bob@localhost", "member").Attr("type"))
	e.bob.expect("own new affiliation", func(el *xmlstream.Element) bool {
		return presFrom(room+"/bobby")(el) && mucItem(el).Attr("affiliation") == "member"
	})
	e.bob.send(`<presence to='` + room + `/bobby' type='unavailable'/>`)
	e.bob.expect("left", func(el *xmlstream.Element) bool {
		return presFrom(room+"/bobby")(el) && el.Attr("type") == "unavailable"
	})
	self := join(t, e.bob, room, "bobby", "")
	require.Equal(t, "member", mucItem(self).Attr("affiliation"))
}
