package server_test

// End-to-end tests of the muc_light GraphQL category (spec/muclight.md §15,
// §17.2, X3, X6) over real HTTP, on SQLite and PostgreSQL, with members
// connected with the mellium client to see the XMPP notifications the API
// operations send (D5).

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

const (
	qmlCreate = `mutation($d: DomainName!, $owner: JID!, $id: RoomName, $name: String, $subject: String, $options: [RoomConfigDictEntryInput!]) {
		muc_light { createRoom(mucDomain: $d, owner: $owner, id: $id, name: $name, subject: $subject, options: $options) {
			jid name subject participants { jid affiliation } options { key value } } } }`
	qmlChange = `mutation($room: BareJID!, $owner: JID!, $name: String, $subject: String, $options: [RoomConfigDictEntryInput!]) {
		muc_light { changeRoomConfiguration(room: $room, owner: $owner, name: $name, subject: $subject, options: $options) {
			jid name subject participants { jid affiliation } options { key value } } } }`
	qmlInvite   = `mutation($room: BareJID!, $sender: JID!, $r: JID!) { muc_light { inviteUser(room: $room, sender: $sender, recipient: $r) } }`
	qmlDelete   = `mutation($room: BareJID!) { muc_light { deleteRoom(room: $room) } }`
	qmlKick     = `mutation($room: BareJID!, $user: JID!) { muc_light { kickUser(room: $room, user: $user) } }`
	qmlSend     = `mutation($room: BareJID!, $from: JID!, $body: String!) { muc_light { sendMessageToRoom(room: $room, from: $from, body: $body) } }`
	qmlSetBlock = `mutation($user: JID!, $items: [BlockingInput!]!) { muc_light { setBlockingList(user: $user, items: $items) } }`
	qmlGetBlock = `query($user: JID!) { muc_light { getBlockingList(user: $user) { entityType action entity } } }`
	qmlConfig   = `query($room: BareJID!) { muc_light { getRoomConfig(room: $room) { jid name subject participants { jid affiliation } options { key value } } } }`
	qmlUsers    = `query($room: BareJID!) { muc_light { listRoomUsers(room: $room) { jid affiliation } } }`
	qmlRooms    = `query($user: JID!) { muc_light { listUserRooms(user: $user) } }`
)

// startMLAPI starts MUC Light (SQL storage) with an admin endpoint
// (listener 0, admin/secret) and a user endpoint (listener 1), alice, bob
// and kate online.
func startMLAPI(t *testing.T, d *db.DB, opts string, edit func(*config.Config)) (*mlEnv, *apiClient) {
	t.Helper()
	return startMLAPIOn(t, d, "rdbms", opts, edit)
}

// startMLAPIOn is startMLAPI with the given storage backend.
func startMLAPIOn(t *testing.T, d *db.DB, backend, opts string, edit func(*config.Config)) (*mlEnv, *apiClient) {
	t.Helper()
	e := startMLWith(t, d, backend, opts, false, func(c *config.Config) {
		c.Listen.HTTP = append(c.Listen.HTTP,
			gqlListener(config.GraphQLHandler{SchemaEndpoint: "admin", Username: "admin", Password: "secret"}),
			gqlListener(config.GraphQLHandler{SchemaEndpoint: "user"}))
		if edit != nil {
			edit(c)
		}
	}, "alice", "bob", "kate")
	return e, e.s.client(t, 0, "admin", "secret")
}

func ext(t *testing.T, e map[string]any, kv ...any) {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		require.Equal(t, kv[i+1], e[kv[i].(string)], "extension %s in %v", kv[i], e)
	}
}

// groupchat matches a groupchat message from a room occupant with body.
func groupchat(from, body string) func(*xmlstream.Element) bool {
	return func(el *xmlstream.Element) bool {
		return el.Local == "message" && el.Attr("type") == "groupchat" && el.Attr("from") == from && el.ChildText("jabber:client", "body") == body
	}
}

func TestMucLightGraphQLAdmin(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e, c := startMLAPI(t, d, "", nil)
		const den = "den@" + mlSvc

		// createRoom: the spec's example (§15.7), then the creation
		// notification to alice with a generated id (X6).
		got := c.ok(qmlCreate, map[string]any{"d": mlSvc, "owner": "alice@localhost", "id": "den", "name": "The Den", "subject": "Plans"}, "muc_light", "createRoom")
		require.Equal(t, map[string]any{"jid": den, "name": "The Den", "subject": "Plans",
			"participants": []any{map[string]any{"jid": "alice@localhost", "affiliation": "OWNER"}},
			"options":      []any{map[string]any{"key": "roomname", "value": "The Den"}, map[string]any{"key": "subject", "value": "Plans"}}}, got)
		n := e.alice.expect("creation notification", isNote(den, nsMLAff))
		require.NotEmpty(t, n.Attr("id"))
		nx := n.Child(nsMLAff, "x")
		require.NotEmpty(t, nx.ChildText(nsMLAff, "version"))
		require.Nil(t, nx.Child(nsMLAff, "prev-version"))
		require.Equal(t, map[string]string{"alice@localhost": "owner"}, affs(t, nx))

		// Without an id: a generated name; unprepped domain and id.
		gen := c.ok(qmlCreate, map[string]any{"d": mlSvc, "owner": "alice@localhost"}, "muc_light", "createRoom", "jid").(string)
		require.True(t, strings.HasSuffix(gen, "@"+mlSvc) && len(gen) > len("@"+mlSvc), gen)
		e.alice.expectAffNote(gen, "new", map[string]string{"alice@localhost": "owner"})
		require.Equal(t, "den2@"+mlSvc, c.ok(qmlCreate, map[string]any{"d": "MUCLight.LocalHost", "owner": "Alice@LocalHost", "id": "Den2",
			"options": []any{map[string]any{"key": "roomname", "value": "ignored"}}, "name": "Two"}, "muc_light", "createRoom", "jid"))
		e.alice.expectAffNote("den2@"+mlSvc, "new", map[string]string{"alice@localhost": "owner"})

		// createRoom errors, with the context keys.
		x := c.fails(qmlCreate, map[string]any{"d": mlSvc, "owner": "alice@localhost", "id": "den"}, "already_exists", "Room already exists", "muc_light", "createRoom")
		ext(t, x, "mucDomain", mlSvc, "id", "den", "creator", "alice@localhost")
		c.fails(qmlCreate, map[string]any{"d": mlSvc, "owner": "alice@localhost", "options": []any{map[string]any{"key": "colour", "value": "x"}}},
			"validation_error", "Validation failed for key: colour with reason not_found", "muc_light", "createRoom")
		c.fails(qmlCreate, map[string]any{"d": "muc.example.com", "owner": "alice@localhost"}, "muc_server_not_found", "MUC Light server not found", "muc_light", "createRoom")
		c.fails(qmlCreate, map[string]any{"d": mlSvc, "owner": "zed@localhost"}, "user_not_found", "Given user does not exist", "muc_light", "createRoom")
		c.fails(qmlCreate, map[string]any{"d": mlSvc, "owner": "zed@example.com"}, "user_not_found", "User's domain does not exist", "muc_light", "createRoom")
		c.rejected(qmlCreate, map[string]any{"d": mlSvc, "owner": "alice@localhost", "id": ""}, http.StatusBadRequest, "input_coercion",
			`Input coercion failed for type RoomName with value <<"">>. The reason it failed is: empty_room_name`)

		// inviteUser: bob is notified as a newcomer, alice as an occupant.
		require.Equal(t, "User invited successfully", c.ok(qmlInvite, map[string]any{"room": den, "sender": "alice@localhost", "r": "Bob@localhost"}, "muc_light", "inviteUser"))
		e.bob.expectAffNote(den, "new", map[string]string{"bob@localhost": "member"})
		e.alice.expectAffNote(den, "stay", map[string]string{"bob@localhost": "member"})
		x = c.fails(qmlInvite, map[string]any{"room": den, "sender": "kate@localhost", "r": "kate@localhost"}, "not_room_member", "Given user does not occupy this room", "muc_light", "inviteUser")
		ext(t, x, "room", den, "sender", "kate@localhost", "recipient", "kate@localhost")
		c.fails(qmlInvite, map[string]any{"room": "nope@" + mlSvc, "sender": "alice@localhost", "r": "kate@localhost"}, "room_not_found", "Room not found", "muc_light", "inviteUser")
		// A member without all_can_invite: refused at the XMPP level, not
		// reported, nothing changes.
		require.Equal(t, "User invited successfully", c.ok(qmlInvite, map[string]any{"room": den, "sender": "bob@localhost", "r": "kate@localhost"}, "muc_light", "inviteUser"))

		// sendMessageToRoom: echoed to every occupant.
		require.Equal(t, "Message sent successfully", c.ok(qmlSend, map[string]any{"room": den, "from": "bob@localhost", "body": "hi all"}, "muc_light", "sendMessageToRoom"))
		for _, cl := range []*client{e.alice, e.bob} {
			m := cl.expect("room message", groupchat(den+"/bob@localhost", "hi all"))
			require.NotEmpty(t, m.Attr("id"))
		}
		x = c.fails(qmlSend, map[string]any{"room": den, "from": "kate@localhost", "body": "x"}, "not_room_member", "Given user does not occupy this room", "muc_light", "sendMessageToRoom")
		ext(t, x, "room", den, "from", "kate@localhost")

		// changeRoomConfiguration: the config notification to everyone.
		got = c.ok(qmlChange, map[string]any{"room": den, "owner": "alice@localhost", "name": "The Bigger Den"}, "muc_light", "changeRoomConfiguration")
		require.Equal(t, map[string]any{"jid": den, "name": "The Bigger Den", "subject": nil, "participants": []any{},
			"options": []any{map[string]any{"key": "roomname", "value": "The Bigger Den"}}}, got)
		for _, cl := range []*client{e.alice, e.bob} {
			require.Equal(t, map[string]string{"roomname": "The Bigger Den"}, roomCfgNote(t, cl, den))
		}
		c.fails(qmlChange, map[string]any{"room": den, "owner": "bob@localhost", "name": "x"}, "not_allowed", "Given user does not have permission to change config", "muc_light", "changeRoomConfiguration")
		c.ok(qmlChange, map[string]any{"room": den, "owner": "bob@localhost", "subject": "member's subject"}, "muc_light", "changeRoomConfiguration")
		for _, cl := range []*client{e.alice, e.bob} {
			require.Equal(t, map[string]string{"subject": "member's subject"}, roomCfgNote(t, cl, den))
		}
		x = c.fails(qmlChange, map[string]any{"room": den, "owner": "kate@localhost", "subject": "x"}, "not_room_member", "Given user does not occupy this room", "muc_light", "changeRoomConfiguration")
		ext(t, x, "room", den, "owner", "kate@localhost")
		c.fails(qmlChange, map[string]any{"room": "nope@" + mlSvc, "owner": "alice@localhost", "subject": "x"}, "room_not_found", "Room not found", "muc_light", "changeRoomConfiguration")
		c.fails(qmlChange, map[string]any{"room": den, "owner": "alice@localhost", "options": []any{map[string]any{"key": "colour", "value": "x"}}},
			"validation_error", "Validation failed for key: colour with reason not_found", "muc_light", "changeRoomConfiguration")

		// Reading: the full configuration, defaults included, occupants.
		got = c.ok(qmlConfig, map[string]any{"room": den}, "muc_light", "getRoomConfig")
		require.Equal(t, map[string]any{"jid": den, "name": "The Bigger Den", "subject": "member's subject",
			"participants": []any{map[string]any{"jid": "alice@localhost", "affiliation": "OWNER"}, map[string]any{"jid": "bob@localhost", "affiliation": "MEMBER"}},
			"options":      []any{map[string]any{"key": "roomname", "value": "The Bigger Den"}, map[string]any{"key": "subject", "value": "member's subject"}}}, got)
		got = c.ok(qmlConfig, map[string]any{"room": gen}, "muc_light", "getRoomConfig")
		require.Equal(t, []any{map[string]any{"key": "roomname", "value": "Untitled"}, map[string]any{"key": "subject", "value": ""}}, at(t, got, "options"))
		require.Equal(t, []any{map[string]any{"jid": "alice@localhost", "affiliation": "OWNER"}, map[string]any{"jid": "bob@localhost", "affiliation": "MEMBER"}},
			c.ok(qmlUsers, map[string]any{"room": den}, "muc_light", "listRoomUsers"))
		c.fails(qmlUsers, map[string]any{"room": "nope@" + mlSvc}, "room_not_found", "Room not found", "muc_light", "listRoomUsers")
		require.ElementsMatch(t, []any{den, gen, "den2@" + mlSvc}, c.ok(qmlRooms, map[string]any{"user": "alice@localhost"}, "muc_light", "listUserRooms"))
		require.Equal(t, []any{}, c.ok(qmlRooms, map[string]any{"user": "kate@localhost"}, "muc_light", "listUserRooms"))
		c.fails(qmlRooms, map[string]any{"user": "zed@localhost"}, "user_not_found", "Given user does not exist", "muc_light", "listUserRooms")

		// kickUser: bob leaves; he gets "none", alice the change.
		require.Equal(t, "Affiliation change request sent successfully", c.ok(qmlKick, map[string]any{"room": den, "user": "bob@localhost"}, "muc_light", "kickUser"))
		e.bob.expectAffNote(den, "gone", map[string]string{"bob@localhost": "none"})
		e.alice.expectAffNote(den, "stay", map[string]string{"bob@localhost": "none"})
		x = c.fails(qmlKick, map[string]any{"room": den, "user": "kate@localhost"}, "not_room_member", "Given user does not occupy this room", "muc_light", "kickUser")
		ext(t, x, "user", "kate@localhost")

		// Blocking lists: DENY by default; ALLOW removes.
		items := []any{map[string]any{"entityType": "USER", "entity": "kate@localhost"}, map[string]any{"entityType": "ROOM", "action": "DENY", "entity": den}}
		require.Equal(t, "User blocking list updated successfully", c.ok(qmlSetBlock, map[string]any{"user": "bob@localhost", "items": items}, "muc_light", "setBlockingList"))
		require.ElementsMatch(t, []any{map[string]any{"entityType": "USER", "action": "DENY", "entity": "kate@localhost"}, map[string]any{"entityType": "ROOM", "action": "DENY", "entity": den}},
			c.ok(qmlGetBlock, map[string]any{"user": "bob@localhost"}, "muc_light", "getBlockingList"))
		// The block works: alice cannot re-add bob (silently dropped).
		c.ok(qmlInvite, map[string]any{"room": den, "sender": "alice@localhost", "r": "bob@localhost"}, "muc_light", "inviteUser")
		require.Equal(t, map[string]string{"alice@localhost": "owner"}, occupantsOf(t, e.s, den))
		items = []any{map[string]any{"entityType": "USER", "action": "ALLOW", "entity": "kate@localhost"}, map[string]any{"entityType": "ROOM", "action": "ALLOW", "entity": den}}
		c.ok(qmlSetBlock, map[string]any{"user": "bob@localhost", "items": items}, "muc_light", "setBlockingList")
		require.Equal(t, []any{}, c.ok(qmlGetBlock, map[string]any{"user": "bob@localhost"}, "muc_light", "getBlockingList"))
		c.fails(qmlGetBlock, map[string]any{"user": "zed@localhost"}, "user_not_found", "Given user does not exist", "muc_light", "getBlockingList")
		c.fails(qmlSetBlock, map[string]any{"user": "zed@localhost", "items": []any{}}, "user_not_found", "Given user does not exist", "muc_light", "setBlockingList")

		// deleteRoom: every occupant gets the destruction notification.
		c.ok(qmlInvite, map[string]any{"room": den, "sender": "alice@localhost", "r": "kate@localhost"}, "muc_light", "inviteUser")
		e.kate.expectAffNote(den, "new", map[string]string{"kate@localhost": "member"})
		require.Equal(t, "Room deleted successfully", c.ok(qmlDelete, map[string]any{"room": den}, "muc_light", "deleteRoom"))
		for _, cl := range []*client{e.alice, e.kate} {
			m := cl.expect("destruction notification", isNote(den, nsMLDst))
			require.NotEmpty(t, m.Attr("id"))
			require.Len(t, affs(t, m.Child(nsMLAff, "x")), 1)
		}
		require.False(t, roomExists(t, e.s, den))
		x = c.fails(qmlDelete, map[string]any{"room": den}, "room_not_found", "Room not found", "muc_light", "deleteRoom")
		ext(t, x, "room", den)
		c.fails(qmlDelete, map[string]any{"room": "r@muc.example.com"}, "muc_server_not_found", "MUC Light server not found", "muc_light", "deleteRoom")
		c.fails(qmlConfig, map[string]any{"room": den}, "room_not_found", "Room not found", "muc_light", "getRoomConfig")
		noML(t, e.bob)
	})
}

// fieldsOf returns the configuration fields of a config notification's <x/>.
func fieldsOf(x *xmlstream.Element) map[string]string {
	out := map[string]string{}
	for _, c := range x.Elements() {
		if c.Local != "version" && c.Local != "prev-version" {
			out[c.Local] = c.Text()
		}
	}
	return out
}

// roomCfgNote waits for a config notification from room (with distinct
// prev-version and version and a generated id) and returns its fields.
func roomCfgNote(t *testing.T, c *client, room string) map[string]string {
	t.Helper()
	m := c.expect("config notification", isNote(room, nsMLCfg))
	require.NotEmpty(t, m.Attr("id"))
	x := m.Child(nsMLCfg, "x")
	prev, ver := x.ChildText(nsMLCfg, "prev-version"), x.ChildText(nsMLCfg, "version")
	require.True(t, prev != "" && ver != "" && prev != ver, "%s", m)
	return fieldsOf(x)
}

func TestMucLightGraphQLUser(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e, _ := startMLAPI(t, d, "", nil)
		alice := e.s.client(t, 1, "alice@localhost", password)
		bob := e.s.client(t, 1, "bob@localhost", password)
		kate := e.s.client(t, 1, "kate@localhost", password)
		const ur = "ur@" + mlSvc

		got := alice.ok(`mutation { muc_light { createRoom(mucDomain: "muclight.localhost", id: "ur", name: "Users' room") { jid name participants { jid affiliation } options { key value } } } }`,
			nil, "muc_light", "createRoom")
		require.Equal(t, map[string]any{"jid": ur, "name": "Users' room", "participants": []any{map[string]any{"jid": "alice@localhost", "affiliation": "OWNER"}},
			"options": []any{map[string]any{"key": "roomname", "value": "Users' room"}}}, got)
		e.alice.expectAffNote(ur, "new", map[string]string{"alice@localhost": "owner"})
		x := alice.fails(`mutation { muc_light { createRoom(mucDomain: "muclight.localhost", id: "ur") { jid } } }`, nil, "already_exists", "Room already exists", "muc_light", "createRoom")
		ext(t, x, "mucDomain", mlSvc, "id", "ur")

		qInvite := `mutation($r: JID!) { muc_light { inviteUser(room: "ur@muclight.localhost", recipient: $r) } }`
		require.Equal(t, "User invited successfully", alice.ok(qInvite, map[string]any{"r": "bob@localhost"}, "muc_light", "inviteUser"))
		e.bob.expectAffNote(ur, "new", map[string]string{"bob@localhost": "member"})
		e.alice.expectAffNote(ur, "stay", map[string]string{"bob@localhost": "member"})
		alice.ok(qInvite, map[string]any{"r": "kate@localhost"}, "muc_light", "inviteUser")
		e.kate.expectAffNote(ur, "new", map[string]string{"kate@localhost": "member"})
		e.alice.expectAffNote(ur, "stay", map[string]string{"kate@localhost": "member"})
		e.bob.expectAffNote(ur, "stay", map[string]string{"kate@localhost": "member"})
		x = kate.fails(`mutation { muc_light { inviteUser(room: "den@muclight.localhost", recipient: "bob@localhost") } }`, nil, "room_not_found", "Room not found", "muc_light", "inviteUser")
		ext(t, x, "room", "den@"+mlSvc, "recipient", "bob@localhost")

		// Configuration: a member may change only the subject.
		qChange := `mutation($n: String, $s: String) { muc_light { changeRoomConfiguration(room: "ur@muclight.localhost", name: $n, subject: $s) { subject participants { jid } } } }`
		bob.fails(qChange, map[string]any{"n": "mine"}, "not_allowed", "Given user does not have permission to change config", "muc_light", "changeRoomConfiguration")
		require.Equal(t, map[string]any{"subject": "news", "participants": []any{}}, bob.ok(qChange, map[string]any{"s": "news"}, "muc_light", "changeRoomConfiguration"))
		for _, cl := range []*client{e.alice, e.bob, e.kate} {
			require.Equal(t, map[string]string{"subject": "news"}, roomCfgNote(t, cl, ur))
		}

		// Reading needs occupancy.
		qCfg := `{ muc_light { getRoomConfig(room: "ur@muclight.localhost") { subject participants { jid affiliation } } } }`
		require.Equal(t, "news", bob.ok(qCfg, nil, "muc_light", "getRoomConfig", "subject"))
		require.Len(t, bob.ok(`{ muc_light { listRoomUsers(room: "ur@muclight.localhost") { jid } } }`, nil, "muc_light", "listRoomUsers"), 3)
		require.Equal(t, []any{ur}, bob.ok(`{ muc_light { listRooms } }`, nil, "muc_light", "listRooms"))

		// Messages from the caller.
		require.Equal(t, "Message sent successfully", bob.ok(`mutation { muc_light { sendMessageToRoom(room: "ur@muclight.localhost", body: "from bob's API") } }`, nil, "muc_light", "sendMessageToRoom"))
		for _, cl := range []*client{e.alice, e.bob, e.kate} {
			cl.expect("room message", groupchat(ur+"/bob@localhost", "from bob's API"))
		}

		// Kicking: a member may not kick others; the owner may; null
		// means leaving.
		x = bob.fails(`mutation { muc_light { kickUser(room: "ur@muclight.localhost", user: "alice@localhost") } }`, nil,
			"not_allowed", "Given user does not have permission to change affiliations", "muc_light", "kickUser")
		ext(t, x, "user", "alice@localhost")
		require.Equal(t, "Affiliation change request sent successfully", alice.ok(`mutation { muc_light { kickUser(room: "ur@muclight.localhost", user: "kate@localhost") } }`, nil, "muc_light", "kickUser"))
		e.kate.expectAffNote(ur, "gone", map[string]string{"kate@localhost": "none"})
		e.alice.expectAffNote(ur, "stay", map[string]string{"kate@localhost": "none"})
		e.bob.expectAffNote(ur, "stay", map[string]string{"kate@localhost": "none"})
		kate.fails(qCfg, nil, "not_room_member", "Given user does not occupy this room", "muc_light", "getRoomConfig")
		kate.fails(`mutation { muc_light { sendMessageToRoom(room: "ur@muclight.localhost", body: "x") } }`, nil, "not_room_member", "Given user does not occupy this room", "muc_light", "sendMessageToRoom")
		x = kate.fails(`mutation { muc_light { deleteRoom(room: "ur@muclight.localhost") } }`, nil, "not_room_member", "Given user does not occupy this room", "muc_light", "deleteRoom")
		ext(t, x, "room", ur)
		bob.fails(`mutation { muc_light { deleteRoom(room: "ur@muclight.localhost") } }`, nil, "not_allowed", "Given user cannot delete this room", "muc_light", "deleteRoom")

		// Blocking lists of the caller.
		require.Equal(t, "User blocking list updated successfully",
			kate.ok(`mutation { muc_light { setBlockingList(items: [{entityType: ROOM, entity: "ur@muclight.localhost"}]) } }`, nil, "muc_light", "setBlockingList"))
		require.Equal(t, []any{map[string]any{"entityType": "ROOM", "action": "DENY", "entity": ur}},
			kate.ok(`{ muc_light { getBlockingList { entityType action entity } } }`, nil, "muc_light", "getBlockingList"))
		alice.ok(qInvite, map[string]any{"r": "kate@localhost"}, "muc_light", "inviteUser")
		require.NotContains(t, occupantsOf(t, e.s, ur), "kate@localhost")

		// bob leaves (user null), then alice deletes the room.
		bob.ok(`mutation { muc_light { kickUser(room: "ur@muclight.localhost") } }`, nil, "muc_light", "kickUser")
		e.bob.expectAffNote(ur, "gone", map[string]string{"bob@localhost": "none"})
		alice.ok(qInvite, map[string]any{"r": "bob@localhost"}, "muc_light", "inviteUser")
		e.bob.expectAffNote(ur, "new", map[string]string{"bob@localhost": "member"})
		require.Equal(t, "Room deleted successfully", alice.ok(`mutation { muc_light { deleteRoom(room: "ur@muclight.localhost") } }`, nil, "muc_light", "deleteRoom"))
		for _, cl := range []*client{e.alice, e.bob} {
			cl.expect("destruction notification", isNote(ur, nsMLDst))
		}
		require.Equal(t, []any{}, bob.ok(`{ muc_light { listRooms } }`, nil, "muc_light", "listRooms"))
		noML(t, e.kate)
	})
}

// X3 (D2): GraphQL creation enforces rooms_per_user for the creator.
func TestMucLightGraphQLRoomLimit(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e, c := startMLAPI(t, d, "rooms_per_user = 1", nil)
		c.ok(qmlCreate, map[string]any{"d": mlSvc, "owner": "alice@localhost", "id": "one"}, "muc_light", "createRoom")
		e.alice.expectAffNote("one@"+mlSvc, "new", map[string]string{"alice@localhost": "owner"})
		x := c.fails(qmlCreate, map[string]any{"d": mlSvc, "owner": "alice@localhost", "id": "two"}, "room_limit_reached",
			"Given user has reached the rooms_per_user limit", "muc_light", "createRoom")
		ext(t, x, "mucDomain", mlSvc, "id", "two", "creator", "alice@localhost")
		require.False(t, roomExists(t, e.s, "two@"+mlSvc))
		noML(t, e.alice)
	})
}

// Module gating: without mod_muc_light every field is deps_not_loaded,
// except createRoom (muc_server_not_found).
func TestMucLightGraphQLNotLoaded(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		srv, c := startAPI(t, d, func(c *config.Config) {
			c.Modules.MucLight = nil
			c.Listen.HTTP = append(c.Listen.HTTP, gqlListener(config.GraphQLHandler{SchemaEndpoint: "user"}))
		})
		srv.register(t, "alice")
		c.fails(qmlCreate, map[string]any{"d": mlSvc, "owner": "alice@localhost"}, "muc_server_not_found", "MUC Light server not found", "muc_light", "createRoom")
		notLoaded := func(x map[string]any) {
			t.Helper()
			require.Equal(t, []any{"mod_muc_light"}, x["not_loaded_modules"])
		}
		const msg = "Some of the required modules are not loaded"
		notLoaded(c.fails(qmlConfig, map[string]any{"room": "r@" + mlSvc}, "deps_not_loaded", msg, "muc_light", "getRoomConfig"))
		notLoaded(c.fails(qmlDelete, map[string]any{"room": "r@" + mlSvc}, "deps_not_loaded", msg, "muc_light", "deleteRoom"))
		notLoaded(c.fails(qmlSend, map[string]any{"room": "r@" + mlSvc, "from": "alice@localhost", "body": "x"}, "deps_not_loaded", msg, "muc_light", "sendMessageToRoom"))
		notLoaded(c.fails(qmlRooms, map[string]any{"user": "alice@localhost"}, "deps_not_loaded", msg, "muc_light", "listUserRooms"))
		notLoaded(c.fails(qmlGetBlock, map[string]any{"user": "alice@localhost"}, "deps_not_loaded", msg, "muc_light", "getBlockingList"))
		u := srv.client(t, 1, "alice@localhost", password)
		notLoaded(u.fails(`{ muc_light { listRooms } }`, nil, "deps_not_loaded", msg, "muc_light", "listRooms"))
		notLoaded(u.fails(`{ muc_light { getRoomConfig(room: "r@muclight.localhost") { jid } } }`, nil, "deps_not_loaded", msg, "muc_light", "getRoomConfig"))
		u.fails(`mutation { muc_light { createRoom(mucDomain: "muclight.localhost") { jid } } }`, nil, "muc_server_not_found", "MUC Light server not found", "muc_light", "createRoom")
	})
}

// A domain admin may use its domain and its MUC Light domain only.
func TestMucLightGraphQLDomainAdmin(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e, c := startMLAPI(t, d, "", func(c *config.Config) {
			c.General.Hosts = []string{"localhost", "localhost.bis"}
			c.Services.DomainDB = &config.ServiceDomainDB{}
			c.Listen.HTTP = append(c.Listen.HTTP, gqlListener(config.GraphQLHandler{SchemaEndpoint: "domain_admin"}))
		})
		c.ok(qSetDomainPass, map[string]any{"d": "localhost", "p": "dpass"}, "domain", "setDomainPassword")
		c.ok(qRegister, map[string]any{"domain": "localhost.bis", "username": "zoe", "password": "x"}, "account", "registerUser")
		da := e.s.client(t, 2, "admin@localhost", "dpass")

		require.Equal(t, "own@"+mlSvc, da.ok(qmlCreate, map[string]any{"d": mlSvc, "owner": "alice@localhost", "id": "own"}, "muc_light", "createRoom", "jid"))
		e.alice.expectAffNote("own@"+mlSvc, "new", map[string]string{"alice@localhost": "owner"})
		require.Len(t, da.ok(qmlConfig, map[string]any{"room": "own@" + mlSvc}, "muc_light", "getRoomConfig", "participants"), 1)

		const other = "muclight.localhost.bis"
		da.rejected(qmlCreate, map[string]any{"d": other, "owner": "alice@localhost"}, 401, "no_permissions",
			"Cannot execute query ROOT without permissions to the given domain. Args with invalid value: mucDomain")
		da.rejected(qmlCreate, map[string]any{"d": other, "owner": "zoe@localhost.bis"}, 401, "no_permissions",
			"Cannot execute query ROOT without permissions to the given domain. Args with invalid value: mucDomain, owner")
		da.rejected(qmlConfig, map[string]any{"room": "r@" + other}, 401, "no_permissions",
			"Cannot execute query ROOT without permissions to the given domain. Args with invalid value: room")
		da.rejected(qmlDelete, map[string]any{"room": "r@" + other}, 401, "no_permissions",
			"Cannot execute query ROOT without permissions to the given domain. Args with invalid value: room")
		da.rejected(qmlInvite, map[string]any{"room": "own@" + mlSvc, "sender": "zoe@localhost.bis", "r": "alice@localhost"}, 401, "no_permissions",
			"Cannot execute query ROOT without permissions to the given domain. Args with invalid value: sender")
		da.rejected(qmlRooms, map[string]any{"user": "zoe@localhost.bis"}, 401, "no_permissions",
			"Cannot execute query ROOT without permissions to the given domain. Args with invalid value: user")
		da.rejected(qmlSetBlock, map[string]any{"user": "zoe@localhost.bis", "items": []any{}}, 401, "no_permissions",
			"Cannot execute query ROOT without permissions to the given domain. Args with invalid value: user")
		require.True(t, roomExists(t, e.s, "own@"+mlSvc))
	})
}

// Admin listRooms (§15.4): counts, usersNumber, keyset paging, filter;
// on both SQL databases and the in-memory store.
func TestMucLightGraphQLListRooms(t *testing.T) {
	t.Parallel()
	forEachML(t, func(t *testing.T, d *db.DB, backend string) {
		e, c := startMLAPIOn(t, d, backend, "", nil)
		const q = `query($d: DomainName!, $f: String, $after: BareJID, $limit: PosInt) { muc_light { listRooms(mucDomain: $d, filter: $f, after: $after, limit: $limit) {
			rooms { jid name subject usersNumber } count nextPage } } }`
		require.Equal(t, map[string]any{"rooms": []any{}, "count": float64(0), "nextPage": false}, c.ok(q, map[string]any{"d": mlSvc}, "muc_light", "listRooms"))
		for _, r := range []struct{ id, name string }{{"alpha", "Garden"}, {"beta", "Kitchen"}, {"gamma", "Attic"}} {
			c.ok(qmlCreate, map[string]any{"d": mlSvc, "owner": "alice@localhost", "id": r.id, "name": r.name}, "muc_light", "createRoom")
		}
		c.ok(qmlInvite, map[string]any{"room": "beta@" + mlSvc, "sender": "alice@localhost", "r": "bob@localhost"}, "muc_light", "inviteUser")
		require.Len(t, occupantsOf(t, e.s, "beta@"+mlSvc), 2)

		got := c.ok(q, map[string]any{"d": mlSvc, "limit": 2}, "muc_light", "listRooms")
		require.Equal(t, map[string]any{"count": float64(3), "nextPage": true, "rooms": []any{
			map[string]any{"jid": "alpha@" + mlSvc, "name": "Garden", "subject": "", "usersNumber": float64(1)},
			map[string]any{"jid": "beta@" + mlSvc, "name": "Kitchen", "subject": "", "usersNumber": float64(2)}}}, got)
		got = c.ok(q, map[string]any{"d": mlSvc, "limit": 2, "after": "beta@" + mlSvc}, "muc_light", "listRooms")
		require.Equal(t, float64(3), at(t, got, "count"))
		require.Equal(t, false, at(t, got, "nextPage"))
		require.Len(t, at(t, got, "rooms"), 1)
		require.Equal(t, "gamma@"+mlSvc, at(t, got, "rooms").([]any)[0].(map[string]any)["jid"])
		// Case-insensitive filter on the localpart or the name.
		got = c.ok(q, map[string]any{"d": mlSvc, "f": "KITCH"}, "muc_light", "listRooms")
		require.Equal(t, float64(1), at(t, got, "count"))
		got = c.ok(q, map[string]any{"d": mlSvc, "f": "MM"}, "muc_light", "listRooms")
		require.Equal(t, "gamma@"+mlSvc, at(t, got, "rooms").([]any)[0].(map[string]any)["jid"])
		require.Equal(t, float64(3), at(t, c.ok(q, map[string]any{"d": mlSvc, "f": ""}, "muc_light", "listRooms"), "count"))
		x := c.fails(q, map[string]any{"d": "muc.example.com"}, "muc_server_not_found", "MUC Light server not found", "muc_light", "listRooms")
		ext(t, x, "mucDomain", "muc.example.com")
	})
}
