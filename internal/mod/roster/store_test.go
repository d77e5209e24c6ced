package roster

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
)

func TestSQLStorePutAndRead(t *testing.T) {
	items := []Item{
		{JID: "zoe@example.com", Name: "Zoe", State: State{Sub: SubBoth}, Groups: []string{"Friends", "Work"}},
		{JID: "bob@example.org", State: State{Sub: SubTo, PendingIn: true}, PendingInStatus: "it's me, Bob"},
		{JID: "Carl@example.com", State: State{Sub: SubFrom, PendingOut: true}, Groups: []string{"work", "Work", "Family"}},
		{JID: "amy@example.com", Name: "Amy ✓", State: State{Sub: SubNone, PendingOut: true, PendingIn: true}},
	}
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewSQLStore(d)
		for _, it := range items {
			require.NoError(t, s.PutItem(ctx, "example.com", "alice", it))
		}

		got, err := s.Items(ctx, "example.com", "alice")
		require.NoError(t, err)
		want := []Item{
			// Sorted byte-wise: upper case first.
			{JID: "Carl@example.com", State: State{Sub: SubFrom, PendingOut: true}, Groups: []string{"Family", "Work", "work"}},
			{JID: "amy@example.com", Name: "Amy ✓", State: State{Sub: SubNone, PendingOut: true, PendingIn: true}},
			{JID: "bob@example.org", State: State{Sub: SubTo, PendingIn: true}, PendingInStatus: "it's me, Bob"},
			{JID: "zoe@example.com", Name: "Zoe", State: State{Sub: SubBoth}, Groups: []string{"Friends", "Work"}},
		}
		require.Equal(t, want, got)

		for _, w := range want {
			it, ok, err := s.Item(ctx, "example.com", "alice", w.JID)
			require.NoError(t, err)
			require.True(t, ok, w.JID)
			require.Equal(t, w, it)
		}
	})
}

func TestSQLStoreMissing(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewSQLStore(d)
		require.NoError(t, s.PutItem(ctx, "example.com", "alice", Item{JID: "bob@example.com", State: State{Sub: SubBoth}}))

		tests := []struct{ name, server, user, jid string }{
			{"other contact", "example.com", "alice", "carl@example.com"},
			{"other user", "example.com", "bob", "bob@example.com"},
			{"other server", "example.org", "alice", "bob@example.com"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, ok, err := s.Item(ctx, tt.server, tt.user, tt.jid)
				require.NoError(t, err)
				require.False(t, ok)
			})
		}
		items, err := s.Items(ctx, "example.com", "nobody")
		require.NoError(t, err)
		require.Empty(t, items)

		require.NoError(t, s.DeleteItem(ctx, "example.com", "alice", "carl@example.com"), "deleting a missing item")
		require.NoError(t, s.RemoveUser(ctx, "example.com", "nobody"), "removing a user without roster")
	})
}

func TestSQLStoreUpsertReplaces(t *testing.T) {
	tests := []struct {
		name        string
		first, then Item
		want        Item
	}{
		{
			name:  "groups replaced",
			first: Item{JID: "bob@example.com", Name: "Bob", State: State{Sub: SubNone, PendingOut: true}, Groups: []string{"a", "b"}},
			then:  Item{JID: "bob@example.com", Name: "Bobby", State: State{Sub: SubTo}, Groups: []string{"c", "b"}},
			want:  Item{JID: "bob@example.com", Name: "Bobby", State: State{Sub: SubTo}, Groups: []string{"b", "c"}},
		},
		{
			name:  "groups cleared",
			first: Item{JID: "bob@example.com", Groups: []string{"a"}, State: State{PendingIn: true}, PendingInStatus: "hi"},
			then:  Item{JID: "bob@example.com", State: State{Sub: SubFrom}},
			want:  Item{JID: "bob@example.com", State: State{Sub: SubFrom}},
		},
		{
			name:  "empty subscription is none",
			first: Item{JID: "bob@example.com", State: State{Sub: SubBoth}},
			then:  Item{JID: "bob@example.com", Name: "B"},
			want:  Item{JID: "bob@example.com", Name: "B", State: State{Sub: SubNone}},
		},
	}
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewSQLStore(d)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				user := "user" + string(rune('a'+i))
				require.NoError(t, s.PutItem(ctx, "example.com", user, tt.first))
				require.NoError(t, s.PutItem(ctx, "example.com", user, tt.then))
				items, err := s.Items(ctx, "example.com", user)
				require.NoError(t, err)
				require.Equal(t, []Item{tt.want}, items)
			})
		}
	})
}

func TestSQLStoreInvalidItem(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewSQLStore(d)
		require.Error(t, s.PutItem(ctx, "example.com", "alice", Item{}))
		// A failed transaction leaves nothing behind, groups included.
		require.Error(t, s.PutItem(ctx, "example.com", "alice",
			Item{JID: "bob@example.com", State: State{Sub: "sideways"}, Groups: []string{"g"}}))
		items, err := s.Items(ctx, "example.com", "alice")
		require.NoError(t, err)
		require.Empty(t, items)
	})
}

func TestSQLStoreDeleteAndRemoveUser(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewSQLStore(d)
		put := func(server, user, jid string) {
			t.Helper()
			require.NoError(t, s.PutItem(ctx, server, user, Item{JID: jid, State: State{Sub: SubBoth}, Groups: []string{"g1", "g2"}}))
		}
		put("example.com", "alice", "bob@example.com")
		put("example.com", "alice", "carl@example.com")
		put("example.com", "bob", "alice@example.com")
		put("example.org", "alice", "bob@example.com")
		_, err := d.ExecContext(ctx, "INSERT INTO roster_version (server, username, version) VALUES (?, ?, ?), (?, ?, ?)",
			"example.com", "alice", "v1", "example.org", "alice", "v9")
		require.NoError(t, err)

		require.NoError(t, s.DeleteItem(ctx, "example.com", "alice", "bob@example.com"))
		items, err := s.Items(ctx, "example.com", "alice")
		require.NoError(t, err)
		require.Len(t, items, 1)
		require.Equal(t, "carl@example.com", items[0].JID)
		// The deleted item's groups went with it: re-adding it without groups
		// shows none.
		require.NoError(t, s.PutItem(ctx, "example.com", "alice", Item{JID: "bob@example.com"}))
		it, ok, err := s.Item(ctx, "example.com", "alice", "bob@example.com")
		require.NoError(t, err)
		require.True(t, ok)
		require.Empty(t, it.Groups)

		require.NoError(t, s.RemoveUser(ctx, "example.com", "alice"))
		items, err = s.Items(ctx, "example.com", "alice")
		require.NoError(t, err)
		require.Empty(t, items)
		var n int
		require.NoError(t, d.QueryRowContext(ctx,
			"SELECT COUNT(*) FROM rostergroups WHERE server = ? AND username = ?", "example.com", "alice").Scan(&n))
		require.Zero(t, n)
		require.NoError(t, d.QueryRowContext(ctx,
			"SELECT COUNT(*) FROM roster_version WHERE server = ? AND username = ?", "example.com", "alice").Scan(&n))
		require.Zero(t, n)

		// Other users and servers are untouched.
		for _, other := range []struct{ server, user, jid string }{
			{"example.com", "bob", "alice@example.com"},
			{"example.org", "alice", "bob@example.com"},
		} {
			it, ok, err := s.Item(ctx, other.server, other.user, other.jid)
			require.NoError(t, err)
			require.True(t, ok, other)
			require.Equal(t, []string{"g1", "g2"}, it.Groups, other)
		}
		require.NoError(t, d.QueryRowContext(ctx,
			"SELECT COUNT(*) FROM roster_version WHERE server = ? AND username = ?", "example.org", "alice").Scan(&n))
		require.Equal(t, 1, n)
	})
}
