package muc

import (
	"context"
	"fmt"
	"testing"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/router"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// nopRouter counts routed stanzas and drops them.
type nopRouter struct{ n int }

func (r *nopRouter) Route(context.Context, jid.JID, jid.JID, *xmlstream.Element) { r.n++ }
func (r *nopRouter) RegisterService(string, router.Service)                      {}
func (r *nopRouter) UnregisterService(string)                                    {}

// BenchmarkGroupchat measures one groupchat message in a room of n
// occupants: copies, stanza-id, history and the hook event (no handler).
func BenchmarkGroupchat(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("occupants=%d", n), func(b *testing.B) {
			rt := &nopRouter{}
			m := started(b, Deps{Router: rt, Hooks: &hooks.Hooks{}, Domains: []string{"example.com"}}, config.ModMuc{Host: "conference.@HOST@", HistorySize: 20})
			ctx := context.Background()
			room := j("room@conference.example.com")
			for i := range n {
				m.handle(ctx, j(fmt.Sprintf("u%d@example.com/r", i)), nickJID(room, fmt.Sprintf("n%d", i)), xmlstream.New(stanza.NSClient, "presence"))
				if i == 0 {
					m.handle(ctx, j("u0@example.com/r"), room, submitForm())
				}
			}
			msg := xmlstream.New(stanza.NSClient, "message", "type", "groupchat", "id", "m1")
			msg.Append(xmlstream.New(stanza.NSClient, "body").AppendText("hello everybody"))
			from := j("u1@example.com/r")
			rt.n = 0
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				m.handle(ctx, from, room, msg)
			}
			b.StopTimer()
			if rt.n != b.N*n {
				b.Fatalf("routed %d copies, want %d", rt.n, b.N*n)
			}
		})
	}
}

func submitForm() *xmlstream.Element {
	iq := xmlstream.New(stanza.NSClient, "iq", "type", "set", "id", "cfg")
	q := xmlstream.New(NSOwner, "query")
	q.Append(xmlstream.New(nsData, "x", "type", "submit"))
	return iq.Append(q)
}
