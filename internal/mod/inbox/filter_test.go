package inbox

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// TestFilter checks the message filter (spec/inbox.md §8.2): the global
// rules of the one-to-one and MUC Light paths (all), and the classic MUC
// path's content rules (rule 2 and no-store only, §8.5).
func TestFilter(t *testing.T) {
	for _, tc := range []struct {
		name, typ, children string
		all, content        bool
		marker              bool
	}{
		{"body", "groupchat", `<body>hi</body>`, true, true, false},
		{"chat body", "chat", `<body>hi</body>`, true, true, false},
		{"no type", "", `<body>hi</body>`, true, true, false},
		{"headline", "headline", `<body>hi</body>`, false, true, false},
		{"error", "error", `<body>hi</body>`, false, true, false},
		{"empty body", "groupchat", `<body/>`, true, true, false},
		{"subject only", "groupchat", `<subject>topic</subject>`, false, false, false},
		{"subject and body", "groupchat", `<subject>topic</subject><body>hi</body>`, true, true, false},
		{"store hint", "groupchat", `<store xmlns='urn:xmpp:hints'/>`, true, true, false},
		{"no-store wins", "groupchat", `<body>hi</body><no-store xmlns='urn:xmpp:hints'/>`, false, false, false},
		{"displayed marker", "groupchat", `<displayed xmlns='urn:xmpp:chat-markers:0' id='m1'/>`, true, true, true},
		{"marker without id", "groupchat", `<displayed xmlns='urn:xmpp:chat-markers:0'/>`, false, false, false},
		{"retraction", "groupchat", `<apply-to xmlns='urn:xmpp:fasten:0' id='x'><retract xmlns='urn:xmpp:message-retract:0'/></apply-to>`, true, true, false},
		{"apply-to without retraction", "groupchat", `<apply-to xmlns='urn:xmpp:fasten:0' id='x'><moderated xmlns='urn:xmpp:message-moderate:0'/></apply-to>`, false, false, false},
		{"delay", "groupchat", `<body>hi</body><delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/>`, false, true, false},
		{"mam result", "chat", `<result xmlns='urn:xmpp:mam:2' id='r'/><body>hi</body>`, false, true, false},
		{"inbox notification", "chat", `<x xmlns='erlang-solutions.com:xmpp:inbox:0#conversation' jid='a@b'/><body>hi</body>`, false, true, false},
		{"chat state only", "groupchat", `<composing xmlns='http://jabber.org/protocol/chatstates'/>`, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ := ""
			if tc.typ != "" {
				typ = ` type='` + tc.typ + `'`
			}
			d := xmlstream.NewDecoder(strings.NewReader(`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><message`+typ+`>`+tc.children+`</message>`), 0)
			_, err := d.Header()
			require.NoError(t, err)
			el, err := d.Next()
			require.NoError(t, err)
			ok, marker := allRules.classify(el)
			require.Equal(t, tc.all, ok, "all rules")
			require.Equal(t, tc.all && tc.marker, marker, "all rules")
			ok, marker = contentRules.classify(el)
			require.Equal(t, tc.content, ok, "content rules")
			require.Equal(t, tc.content && tc.marker, marker, "content rules")
		})
	}
}
