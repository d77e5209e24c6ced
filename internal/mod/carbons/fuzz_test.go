package carbons

import (
	"strings"
	"testing"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// FuzzEligibleWrap feeds client stanzas to the eligibility rules and the
// copy wrapper: neither may panic, a copy must parse back with the
// original inside, and a copy is never eligible itself (no copy loops).
func FuzzEligibleWrap(f *testing.F) {
	for _, s := range []string{
		`<message type='chat'><body>hi</body></message>`,
		`<message><body>hi</body><private xmlns='urn:xmpp:carbons:2'/></message>`,
		`<message type='chat'><no-copy xmlns='urn:xmpp:hints'/></message>`,
		`<message type='chat'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message/></forwarded></received></message>`,
		`<message type='chat'><body>x</body><x xmlns='http://jabber.org/protocol/muc#user'/></message>`,
		`<message type='groupchat'><body>x</body></message>`,
		`<presence/>`,
	} {
		f.Add(s)
	}
	to := jid.MustParse("romeo@montague.example/home")
	f.Fuzz(func(t *testing.T, raw string) {
		d := xmlstream.NewDecoder(strings.NewReader(`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`+raw), 1<<16)
		if _, err := d.Header(); err != nil {
			return
		}
		el, err := d.Next()
		if err != nil {
			return
		}
		if !Eligible(el) {
			return
		}
		w := Wrap("received", el, to)
		d2 := xmlstream.NewDecoder(strings.NewReader(`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`+string(w.Bytes("jabber:client"))), 0)
		if _, err := d2.Header(); err != nil {
			t.Fatal(err)
		}
		back, err := d2.Next()
		if err != nil {
			t.Fatalf("copy does not parse: %v", err)
		}
		if Eligible(back) {
			t.Fatalf("copy is eligible: %s", back)
		}
		inner := back.Child(NS, "received").Child(NSForward, "forwarded").Child("jabber:client", "message")
		if inner == nil || inner.String() != el.String() {
			t.Fatalf("copy does not hold the original: %s", back)
		}
	})
}
