package inbox

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// TestStoreUpsertGuardAndBoxes checks the write rules of spec/inbox.md
// §3.2: creation, increments, the strict monotonic guard, the box rule
// and the conditional resets.
func TestStoreUpsertGuardAndBoxes(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewSQLStore(d)
		o := Owner{"localhost", "alice"}
		up := func(ts int64, count int, incr bool, box string) bool {
			ok, err := s.Upsert(ctx, o, Upsert{Remote: "bob@localhost", MsgID: "m", Content: "<message/>", Timestamp: ts, Count: count, Incr: incr, Box: box})
			require.NoError(t, err)
			return ok
		}
		get := func() Entry {
			e, err := s.Get(ctx, o, "bob@localhost")
			require.NoError(t, err)
			return e
		}
		require.True(t, up(100, 1, true, "inbox"))
		require.Equal(t, 1, get().UnreadCount)
		require.True(t, up(200, 1, true, "inbox"))
		require.Equal(t, 2, get().UnreadCount)
		require.False(t, up(200, 1, true, "inbox"), "same timestamp is ignored")
		require.False(t, up(150, 0, false, "inbox"), "older timestamp is ignored")
		require.Equal(t, Entry{Remote: "bob@localhost", MsgID: "m", Box: "inbox", Content: "<message/>", Timestamp: 200, UnreadCount: 2}, get())

		for _, tc := range []struct{ from, hint, want string }{
			{"archive", "inbox", "inbox"}, {"other", "inbox", "other"}, {"bin", "inbox", "bin"}, {"inbox", "bin", "bin"}, {"archive", "bin", "bin"},
		} {
			box := tc.from
			_, err := s.SetProps(ctx, o, "bob@localhost", SetProps{Box: &box})
			require.NoError(t, err)
			require.True(t, up(get().Timestamp+1, 0, false, tc.hint))
			require.Equal(t, tc.want, get().Box, "%+v", tc)
		}

		require.True(t, up(1000, 3, false, "inbox"))
		id := "other"
		require.NoError(t, s.ResetUnread(ctx, o, "bob@localhost", &id, 2000))
		require.Equal(t, 3, get().UnreadCount)
		id = "m"
		require.NoError(t, s.ResetUnread(ctx, o, "bob@localhost", &id, 999))
		require.Equal(t, 3, get().UnreadCount, "a reset never clears a later message")
		require.NoError(t, s.ResetUnread(ctx, o, "bob@localhost", &id, 1000))
		require.Equal(t, 0, get().UnreadCount)
		require.True(t, up(1001, 1, true, "inbox"))
		require.NoError(t, s.ResetUnread(ctx, o, "bob@localhost", nil, 1001))
		require.Equal(t, 0, get().UnreadCount)

		f, tr := false, true
		p, err := s.SetProps(ctx, o, "bob@localhost", SetProps{Read: &f})
		require.NoError(t, err)
		require.Equal(t, 1, p.UnreadCount, "set-as-one-if-zero")
		require.True(t, up(1002, 4, true, "inbox"))
		p, err = s.SetProps(ctx, o, "bob@localhost", SetProps{Read: &f})
		require.NoError(t, err)
		require.Equal(t, 5, p.UnreadCount)
		p, err = s.SetProps(ctx, o, "bob@localhost", SetProps{Read: &tr})
		require.NoError(t, err)
		require.Equal(t, 0, p.UnreadCount)
		_, err = s.SetProps(ctx, o, "nobody@localhost", SetProps{Read: &tr})
		require.ErrorIs(t, err, ErrNotFound)
		_, err = s.Get(ctx, o, "nobody@localhost")
		require.ErrorIs(t, err, ErrNotFound)

		require.NoError(t, s.RemoveUser(ctx, o))
		_, err = s.Get(ctx, o, "bob@localhost")
		require.ErrorIs(t, err, ErrNotFound)
	})
}

// fakeAccounts records every existence check.
type fakeAccounts struct{ asked []string }

func (f *fakeAccounts) UserExists(_ context.Context, server, user string) (bool, error) {
	f.asked = append(f.asked, user+"@"+server)
	return true, nil
}

type localOnly struct{}

func (localOnly) Route(context.Context, jid.JID, jid.JID, *xmlstream.Element) {}
func (localOnly) IsLocal(domain string) bool                                  { return domain == "localhost" }

// TestRoomNeverReachesUserExists is checklist item 45
// (inbox_does_not_trigger_does_user_exist): a room JID is never looked up
// as an account, neither for a room copy nor for a groupchat message.
func TestRoomNeverReachesUserExists(t *testing.T) {
	acc := &fakeAccounts{}
	m := &Module{r: localOnly{}, accounts: acc}
	ctx := context.Background()
	require.False(t, m.exists(ctx, jid.MustParse("room@muclight.localhost")))
	require.False(t, m.exists(ctx, jid.MustParse("room@muclight.localhost/alice@localhost")))
	require.Empty(t, acc.asked)
	require.True(t, m.exists(ctx, jid.MustParse("alice@localhost/res")))
	require.Equal(t, []string{"alice@localhost"}, acc.asked)
}
