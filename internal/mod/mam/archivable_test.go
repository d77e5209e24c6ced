package mam

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestArchivable is the rule of docs/modules/mod_mam.md, "What is
// archived", case by case.
func TestArchivable(t *testing.T) {
	pm := rules{}
	room := rules{groupchat: true}
	markers := rules{markers: true}
	for _, tc := range []struct {
		name string
		r    rules
		xml  string
		want bool
	}{
		{"chat", pm, `<message type='chat'><body>hi</body></message>`, true},
		{"normal", pm, `<message><body>hi</body></message>`, true},
		{"normal, explicit", pm, `<message type='normal'><body>hi</body></message>`, true},
		{"empty body", pm, `<message type='chat'><body/></message>`, true},
		{"store hint", pm, `<message type='chat'><store xmlns='urn:xmpp:hints'/></message>`, true},
		{"headline", pm, `<message type='headline'><body>hi</body></message>`, false},
		{"error", pm, `<message type='error'><body>hi</body></message>`, false},
		{"unknown type", pm, `<message type='other'><body>hi</body></message>`, false},
		{"groupchat, pm", pm, `<message type='groupchat'><body>hi</body></message>`, false},
		{"groupchat, room", room, `<message type='groupchat'><body>hi</body></message>`, true},
		{"no-store", pm, `<message type='chat'><body>hi</body><no-store xmlns='urn:xmpp:hints'/></message>`, false},
		{"chat state", pm, `<message type='chat'><active xmlns='http://jabber.org/protocol/chatstates'/></message>`, false},
		{"delay", pm, `<message type='chat'><body>hi</body><delay xmlns='urn:xmpp:delay' stamp='2020-01-01T00:00:00Z'/></message>`, false},
		{"result, any namespace", pm, `<message><body>hi</body><result xmlns='urn:xmpp:mam:2'/></message>`, false},
		{"body in another namespace", pm, `<message type='chat'><body xmlns='urn:example'>x</body></message>`, false},
		{"marker", pm, `<message type='chat'><displayed xmlns='urn:xmpp:chat-markers:0' id='1'/></message>`, false},
		{"marker, archive_chat_markers", markers, `<message type='chat'><displayed xmlns='urn:xmpp:chat-markers:0' id='1'/></message>`, true},
		{"markable is no marker", markers, `<message type='chat'><markable xmlns='urn:xmpp:chat-markers:0'/></message>`, false},
		{"retraction", pm, `<message type='chat'><apply-to xmlns='urn:xmpp:fasten:0' id='x'><retract xmlns='urn:xmpp:message-retract:0'/></apply-to></message>`, true},
		{"retraction by stanza-id", pm, `<message type='chat'><apply-to xmlns='urn:xmpp:fasten:0' id='x'><retract xmlns='urn:esl:message-retract-by-stanza-id:0'/></apply-to></message>`, true},
		{"apply-to without retract", pm, `<message type='chat'><apply-to xmlns='urn:xmpp:fasten:0' id='x'/></message>`, false},
	} {
		el, err := parseStanza(tc.xml)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, tc.r.archivable(el), tc.name)
	}
}

func TestSearchText(t *testing.T) {
	el, err := parseStanza(`<message><body>Hello, World!  ÉTÉ 2026 -- can't</body></message>`)
	require.NoError(t, err)
	require.Equal(t, "hello world été 2026 can t", searchText(el))
}
