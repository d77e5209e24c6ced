package router

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// TestDeliverMessageHook checks the DeliverMessage chain: it names the
// sessions routing chose (RFC 6121 §8.5), none before offline storage, and
// what a handler puts in Stanza is what is delivered or stored.
func TestDeliverMessageHook(t *testing.T) {
	r, h := newRouter(t)
	var seen [][]string
	h.DeliverMessage.Add(0, "test", func(_ context.Context, ev *hooks.MessageDelivery) bool {
		var rs []string
		for _, j := range ev.Recipients {
			rs = append(rs, j.String())
		}
		seen = append(seen, rs)
		c := ev.Stanza.Clone()
		c.RemoveChildren(stanza.NSClient, "body")
		c.Append(msg("", "", "", "rewritten").Child(stanza.NSClient, "body"))
		ev.Stanza = c
		return false
	})
	var stored []string
	h.OfflineMessage.Add(0, "test", func(_ context.Context, ev *hooks.StanzaEvent) bool {
		stored = append(stored, ev.Stanza.ChildText(stanza.NSClient, "body"))
		ev.Handled = true
		return true
	})
	sess(r, "bob@localhost/b", true, 0)
	hi := sess(r, "alice@localhost/hi", true, 5)
	hi2 := sess(r, "alice@localhost/hi2", true, 5)
	lo := sess(r, "alice@localhost/lo", true, 1)

	orig := msg("bob@localhost/b", "alice@localhost", "chat", "bare")
	route(r, orig)
	route(r, msg("bob@localhost/b", "alice@localhost/lo", "chat", "full"))
	route(r, msg("bob@localhost/b", "alice@localhost/gone", "normal", "fallback"))
	require.Equal(t, "bare", orig.ChildText(stanza.NSClient, "body"), "the routed stanza is not modified")
	require.Equal(t, []string{"rewritten", "rewritten"}, hi.bodies())
	require.Equal(t, []string{"rewritten", "rewritten"}, hi2.bodies())
	require.Equal(t, []string{"rewritten"}, lo.bodies())
	require.Equal(t, [][]string{
		{"alice@localhost/hi", "alice@localhost/hi2"},
		{"alice@localhost/lo"},
		{"alice@localhost/hi", "alice@localhost/hi2"},
	}, seen)

	for _, s := range []*fakeSession{hi, hi2, lo} {
		r.Unbind(s)
	}
	seen = nil
	route(r, msg("bob@localhost/b", "alice@localhost", "chat", "offline"))
	require.Equal(t, [][]string{nil}, seen)
	require.Equal(t, []string{"rewritten"}, stored)
	require.Nil(t, r.Session(jid.MustParse("alice@localhost/hi")))
}

// TestLocalMessageHookReplaces checks the LocalMessage chain's contract: a
// handler may replace the stanza (the recipient's archive adds its
// stanza-id), the later handlers, the sessions and offline storage get the
// replacement, the routed stanza is not modified, and the sender's archive
// id set on UserSentMessage reaches the LocalMessage event of the same
// message (and only of that one).
func TestLocalMessageHookReplaces(t *testing.T) {
	r, h := newRouter(t)
	h.UserSentMessage.Add(0, "archive", func(_ context.Context, ev *hooks.StanzaEvent) bool {
		ev.ArchiveID = "SENT-" + ev.Stanza.ChildText(stanza.NSClient, "body")
		return false
	})
	var archiveIDs, later []string
	h.LocalMessage.Add(10, "archive", func(_ context.Context, ev *hooks.StanzaEvent) bool {
		archiveIDs = append(archiveIDs, ev.ArchiveID)
		c := ev.Stanza.Clone()
		c.Append(xmlstream.New("urn:xmpp:sid:0", "stanza-id", "id", "X1", "by", ev.To.Bare().String()))
		ev.Stanza = c
		return false
	})
	h.LocalMessage.Add(20, "inbox", func(_ context.Context, ev *hooks.StanzaEvent) bool {
		later = append(later, ev.Stanza.Child("urn:xmpp:sid:0", "stanza-id").Attr("id"))
		return false
	})
	var stored []*xmlstream.Element
	h.OfflineMessage.Add(0, "offline", func(_ context.Context, ev *hooks.StanzaEvent) bool {
		stored = append(stored, ev.Stanza)
		ev.Handled = true
		return true
	})
	sess(r, "bob@localhost/b", true, 0)
	alice := sess(r, "alice@localhost/a", true, 0)

	orig := msg("bob@localhost/b", "alice@localhost", "chat", "online")
	r.RouteFromUser(context.Background(), jid.MustParse("bob@localhost/b"), jid.MustParse("alice@localhost"), orig)
	require.Nil(t, orig.Child("urn:xmpp:sid:0", "stanza-id"), "the routed stanza is not modified")
	require.Len(t, alice.got, 1)
	require.Equal(t, "X1", alice.got[0].Child("urn:xmpp:sid:0", "stanza-id").Attr("id"))

	r.Unbind(alice)
	route(r, msg("bob@localhost/b", "alice@localhost", "chat", "offline"))
	require.Len(t, stored, 1)
	require.Equal(t, "X1", stored[0].Child("urn:xmpp:sid:0", "stanza-id").Attr("id"))
	require.Equal(t, []string{"SENT-online", ""}, archiveIDs, "only a user's own message carries the sender's archive id")
	require.Equal(t, []string{"X1", "X1"}, later)
}
