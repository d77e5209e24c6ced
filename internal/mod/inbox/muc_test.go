package inbox

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// TestMucContent checks the content filter of the classic MUC path
// (spec/inbox.md §8.5): rule 2 of §8.2 and no-store only.
func TestMucContent(t *testing.T) {
	for _, tc := range []struct {
		name, children string
		ok, marker     bool
	}{
		{"body", `<body>hi</body>`, true, false},
		{"empty body", `<body/>`, true, false},
		{"subject only", `<subject>topic</subject>`, false, false},
		{"subject and body", `<subject>topic</subject><body>hi</body>`, true, false},
		{"store hint", `<store xmlns='urn:xmpp:hints'/>`, true, false},
		{"no-store wins", `<body>hi</body><no-store xmlns='urn:xmpp:hints'/>`, false, false},
		{"displayed marker", `<displayed xmlns='urn:xmpp:chat-markers:0' id='m1'/>`, true, true},
		{"marker without id", `<displayed xmlns='urn:xmpp:chat-markers:0'/>`, false, false},
		{"retraction", `<apply-to xmlns='urn:xmpp:fasten:0' id='x'><retract xmlns='urn:xmpp:message-retract:0'/></apply-to>`, true, false},
		{"delay is not checked here", `<body>hi</body><delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/>`, true, false},
		{"chat state only", `<composing xmlns='http://jabber.org/protocol/chatstates'/>`, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := xmlstream.NewDecoder(strings.NewReader(`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><message type='groupchat'>`+tc.children+`</message>`), 0)
			_, err := d.Header()
			require.NoError(t, err)
			el, err := d.Next()
			require.NoError(t, err)
			ok, marker := mucContent(el)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.marker, marker)
		})
	}
}
