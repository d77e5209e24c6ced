package carbons

import (
	"context"
	"testing"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
)

// BenchmarkChatRouting measures one chat message between two users with
// two sessions each, from the sender's hook to the queues: "off" with the
// module loaded but no session enabled (the cost every message pays),
// "on" with all four enabled (one <sent/> and one <received/> copy).
func BenchmarkChatRouting(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			e := newEnv(b)
			a1, a2 := e.bind("alice@localhost/1"), e.bind("alice@localhost/2")
			b1, b2 := e.bind("bob@localhost/1"), e.bind("bob@localhost/2")
			if on {
				for _, s := range []*fakeSession{a1, a2, b1, b2} {
					e.iq(b, s, `<enable xmlns='urn:xmpp:carbons:2'/>`)
				}
			}
			el := parse(b, `<message type='chat' id='m1'><body>Art thou not Romeo, and a Montague?</body></message>`)
			el.SetAttr("from", a1.jid.String())
			el.SetAttr("to", b1.jid.String())
			to := jid.MustParse("bob@localhost/1")
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e.h.UserSentMessage.Run(ctx, &hooks.StanzaEvent{From: a1.jid, To: to, Stanza: el})
				e.r.Route(ctx, a1.jid, to, el)
				if i%1024 == 0 {
					for _, s := range []*fakeSession{a1, a2, b1, b2} {
						s.take()
					}
				}
			}
		})
	}
}
