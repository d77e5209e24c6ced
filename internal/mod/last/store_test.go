package last

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
)

// forEachStore runs fn on the SQL store over SQLite and PostgreSQL and on
// the in-memory store.
func forEachStore(t *testing.T, fn func(t *testing.T, s Store)) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) { fn(t, NewSQLStore(d)) })
	t.Run("mnesia", func(t *testing.T) { fn(t, NewMemStore()) })
}

func TestStoreOperations(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		a := Key{"localhost", "alice"}
		b := Key{"localhost", "bob"}
		o := Key{"other.com", "alice"}
		_, ok, err := s.Get(ctx, a)
		require.NoError(t, err)
		require.False(t, ok)

		require.NoError(t, s.Apply(ctx, []Write{{Key: a, Record: Record{100, "gone"}}, {Key: b, Record: Record{200, ""}}, {Key: o, Record: Record{300, "x"}}}))
		r, ok, err := s.Get(ctx, a)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, Record{100, "gone"}, r)

		// Upsert overwrites both fields; a delete in the same batch applies.
		require.NoError(t, s.Apply(ctx, []Write{{Key: a, Record: Record{150, ""}}, {Key: b, Delete: true}}))
		r, _, _ = s.Get(ctx, a)
		require.Equal(t, Record{150, ""}, r)
		_, ok, _ = s.Get(ctx, b)
		require.False(t, ok)

		n, err := s.CountActive(ctx, "localhost", 149)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		n, _ = s.CountActive(ctx, "localhost", 150)
		require.Equal(t, 0, n, "strictly greater")

		dom, err := s.Domain(ctx, "localhost")
		require.NoError(t, err)
		require.Equal(t, map[string]Record{"alice": {150, ""}}, dom)

		require.NoError(t, s.RemoveDomain(ctx, "other.com"))
		_, ok, _ = s.Get(ctx, o)
		// spec/last.md §3.3: the internal store keeps a removed domain's records.
		require.Equal(t, s.Backend() == "mnesia", ok)
	})
}

func TestStoreLargeBatch(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		var ws []Write
		for i := range 600 { // more rows than one statement takes
			ws = append(ws, Write{Key: Key{"localhost", fmt.Sprintf("u%03d", i)}, Record: Record{int64(i), "s"}})
		}
		require.NoError(t, s.Apply(ctx, ws))
		dom, err := s.Domain(ctx, "localhost")
		require.NoError(t, err)
		require.Len(t, dom, 600)
		require.Equal(t, Record{599, "s"}, dom["u599"])
	})
}
