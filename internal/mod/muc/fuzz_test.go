package muc

import (
	"context"
	"strings"
	"testing"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// FuzzHandle feeds arbitrary client stanzas to a room (and its service and
// occupants) and checks that none of them panics. A bad stanza must cost
// its sender an error reply, never the server.
func FuzzHandle(f *testing.F) {
	for _, s := range []string{
		`<presence><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='2' maxchars='10' seconds='5' since='2026-01-01T00:00:00Z'/></x></presence>`,
		`<presence type='unavailable'/>`,
		`<message type='groupchat' id='1'><body>hi</body><subject>s</subject></message>`,
		`<message type='chat'><body>pm</body></message>`,
		`<message><x xmlns='http://jabber.org/protocol/muc#user'><invite to='a@b'/></x></message>`,
		`<iq type='set' id='a'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='outcast' jid='member@example.com'/><item nick='own' affiliation='none'/></query></iq>`,
		`<iq type='get' id='b'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member'/></query></iq>`,
		`<iq type='set' id='c'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>`,
		`<iq type='get' id='d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
		`<iq type='get' id='e'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`,
	} {
		for to := range 4 {
			for from := range 2 {
				f.Add(s, to, from)
			}
		}
	}
	f.Fuzz(func(t *testing.T, raw string, toSel, fromSel int) {
		d := xmlstream.NewDecoder(strings.NewReader(`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`+raw), 1<<16)
		if _, err := d.Header(); err != nil {
			return
		}
		el, err := d.Next()
		if err != nil {
			return
		}
		m := started(t, Deps{Router: &nopRouter{}, Hooks: &hooks.Hooks{}, Domains: []string{"example.com"}}, config.ModMuc{Host: "conference.@HOST@", HistorySize: 5})
		ctx := context.Background()
		room := jid.MustParse("room@conference.example.com")
		owner := jid.MustParse("owner@example.com/a")
		m.handle(ctx, owner, nickJID(room, "own"), xmlstream.New("jabber:client", "presence"))
		froms := []jid.JID{owner, jid.MustParse("member@example.com/b")}
		tos := []jid.JID{room, nickJID(room, "own"), nickJID(room, "other"), jid.MustParse("conference.example.com")}
		pick := func(n, l int) int { return ((n % l) + l) % l }
		from, to := froms[pick(fromSel, len(froms))], tos[pick(toSel, len(tos))]
		el.SetAttr("from", from.String())
		el.SetAttr("to", to.String())
		m.handle(ctx, from, to, el)
		m.handle(ctx, from, to, el) // twice: state after the first one
	})
}
