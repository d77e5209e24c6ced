package mam

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
)

// TestSQLStore runs the store's operations on SQLite and PostgreSQL: owner
// ids, multi-row inserts (a repeated row skipped), filters, both orders,
// counts, bounds, retraction, preferences and removals.
func TestSQLStore(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewSQLStore(d)
		none, err := s.OwnerID(ctx, "localhost", "alice", false)
		require.NoError(t, err)
		require.Zero(t, none)
		alice, err := s.OwnerID(ctx, "localhost", "alice", true)
		require.NoError(t, err)
		again, err := s.OwnerID(ctx, "localhost", "alice", true)
		require.NoError(t, err)
		require.Equal(t, alice, again)
		bob, err := s.OwnerID(ctx, "localhost", "bob", true)
		require.NoError(t, err)
		require.NotEqual(t, alice, bob)

		var items []Item
		for i := range 600 { // more than one INSERT
			peer := "bob@localhost"
			if i%3 == 0 {
				peer = "kate@localhost"
			}
			items = append(items, Item{Owner: alice, Row: Row{ID: int64(1000 + i), Remote: peer, Resource: "r", Out: i%2 == 0,
				From: "alice@localhost/r", Message: fmt.Sprintf("<message xmlns='jabber:client'><body>m%d</body></message>", i),
				Search: fmt.Sprintf("m%d word%d", i, i%7), Groupchat: i%5 == 0}})
		}
		items[10].Row.OriginID = "o-10"
		items[40].Row.OriginID = "o-10"
		require.NoError(t, s.Insert(ctx, KindPM, items))
		require.NoError(t, s.Insert(ctx, KindPM, items[:3]), "a repeated row is skipped")
		n, err := s.Count(ctx, KindPM, alice, Filter{})
		require.NoError(t, err)
		require.Equal(t, 600, n)
		n, err = s.Count(ctx, KindPM, alice, Filter{With: "kate@localhost"})
		require.NoError(t, err)
		require.Equal(t, 200, n)
		rows, err := s.Select(ctx, KindPM, alice, Filter{With: "bob@localhost", Min: 1100, Max: 1110}, true, 3, 0)
		require.NoError(t, err)
		require.Equal(t, []int64{1110, 1109, 1107}, []int64{rows[0].ID, rows[1].ID, rows[2].ID})
		require.Equal(t, "bob@localhost", rows[0].Remote)
		rows, err = s.Select(ctx, KindPM, alice, Filter{After: 1000, Before: 1004}, false, 10, 1)
		require.NoError(t, err)
		require.Equal(t, []int64{1002, 1003}, []int64{rows[0].ID, rows[1].ID})
		require.True(t, rows[0].Out)
		rows, err = s.Select(ctx, KindPM, alice, Filter{IDs: []int64{1005, 1001, 99}}, false, 10, 0)
		require.NoError(t, err)
		require.Len(t, rows, 2)
		n, err = s.Count(ctx, KindPM, alice, Filter{Words: []string{"word3", "m10"}})
		require.NoError(t, err)
		require.Equal(t, 3, n, "m10, m101, m108: words match as substrings, as in the reference")
		n, err = s.Count(ctx, KindPM, alice, Filter{NoGroupchat: true})
		require.NoError(t, err)
		require.Equal(t, 480, n)
		first, last, err := s.Bounds(ctx, KindPM, alice)
		require.NoError(t, err)
		require.Equal(t, [2]int64{1000, 1599}, [2]int64{first, last})
		first, last, err = s.Bounds(ctx, KindPM, bob)
		require.NoError(t, err)
		require.Zero(t, first+last)

		// The newest row with the origin id, peer and direction.
		ok, err := s.Retract(ctx, KindPM, alice, Retraction{Remote: "bob@localhost", Out: true, OriginID: "o-10"},
			func(old string) string { return "TOMB " + old })
		require.NoError(t, err)
		require.True(t, ok)
		rows, err = s.Select(ctx, KindPM, alice, Filter{IDs: []int64{1010, 1040}}, false, 10, 0)
		require.NoError(t, err)
		require.False(t, strings.HasPrefix(rows[0].Message, "TOMB"))
		require.True(t, strings.HasPrefix(rows[1].Message, "TOMB"))
		ok, err = s.Retract(ctx, KindPM, alice, Retraction{Remote: "bob@localhost", Out: false, OriginID: "o-10"}, func(string) string { return "" })
		require.NoError(t, err)
		require.False(t, ok, "the direction must match")

		_, ok, err = s.Prefs(ctx, alice)
		require.NoError(t, err)
		require.False(t, ok)
		require.NoError(t, s.SetPrefs(ctx, alice, Prefs{Default: "roster", Always: []string{"b@x", "a@x"}, Never: []string{"c@x"}}))
		p, ok, err := s.Prefs(ctx, alice)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, Prefs{Default: "roster", Always: []string{"a@x", "b@x"}, Never: []string{"c@x"}}, p)

		room, err := s.OwnerID(ctx, "muclight.localhost", "den", true)
		require.NoError(t, err)
		require.NoError(t, s.Insert(ctx, KindMuc, []Item{
			{Owner: room, Row: Row{ID: 5, Remote: "alice@localhost", Resource: "alice@localhost", Message: "<message xmlns='jabber:client'/>", OriginID: "x"}},
			{Owner: room, Row: Row{ID: 6, Message: "<message xmlns='jabber:client'/>"}},
		}))
		rows, err = s.Select(ctx, KindMuc, room, Filter{Resource: "alice@localhost"}, false, 10, 0)
		require.NoError(t, err)
		require.Len(t, rows, 1)
		ok, err = s.Retract(ctx, KindMuc, room, Retraction{Remote: "bob@localhost", ID: 5}, func(string) string { return "T" })
		require.NoError(t, err)
		require.False(t, ok, "only the author's rows")

		require.NoError(t, s.RemoveArchive(ctx, KindPM, alice))
		n, err = s.Count(ctx, KindPM, alice, Filter{})
		require.NoError(t, err)
		require.Zero(t, n)
		_, ok, err = s.Prefs(ctx, alice)
		require.NoError(t, err)
		require.False(t, ok)
		id, err := s.OwnerID(ctx, "localhost", "alice", true)
		require.NoError(t, err)
		require.NotEqual(t, alice, id, "a new archive gets a new id")

		require.NoError(t, s.Insert(ctx, KindPM, []Item{{Owner: bob, Row: Row{ID: 1, Remote: "a@b", Message: "m"}},
			{Owner: bob, Row: Row{ID: 2, Remote: "a@b", Message: "m"}}, {Owner: bob, Row: Row{ID: 3, Remote: "a@b", Message: "m"}}}))
		require.NoError(t, s.RemoveDomain(ctx, []string{"localhost", "muclight.localhost"}, 2))
		var left int
		require.NoError(t, d.SQL.QueryRow("SELECT (SELECT COUNT(*) FROM mam_message) + (SELECT COUNT(*) FROM mam_muc_message) + (SELECT COUNT(*) FROM mam_server_user)").Scan(&left))
		require.Zero(t, left)
	})
}

// planNode is a node of PostgreSQL's EXPLAIN (FORMAT JSON).
type planNode struct {
	NodeType  string     `json:"Node Type"`
	IndexName string     `json:"Index Name"`
	Direction string     `json:"Scan Direction"`
	Plans     []planNode `json:"Plans"`
}

// walk lists "NodeType[ IndexName]" for every node of the plan.
func (p planNode) walk(out []string) []string {
	s := p.NodeType
	if p.IndexName != "" {
		s += " " + p.IndexName
	}
	out = append(out, s)
	for _, c := range p.Plans {
		out = c.walk(out)
	}
	return out
}

// TestMamIndexes shows that the archive's indexes serve its queries
// (docs/modules/mod_mam.md, "Storage"). On PostgreSQL, filled with 40,000
// user rows and 20,000 room rows and analysed: the last 50 messages of one
// conversation (the rows and the count) read the (user_id,
// remote_bare_jid, id) index backwards, with no sequential scan and no
// sort, the count index-only; the queries by id (the ids field, an RSM
// cursor's check) read the primary key; the room query and count read the
// room table's primary key. On SQLite the same statements search the same
// indexes without a temporary sort.
func TestMamIndexes(t *testing.T) {
	t.Parallel()
	const owners, peers, perPeer, rooms, perRoom = 20, 10, 200, 40, 500
	fill := func(t *testing.T, d *db.DB) (owner int64, room int64) {
		ctx := context.Background()
		s := NewSQLStore(d)
		id := int64(1 << 40)
		for o := range owners {
			oid, err := s.OwnerID(ctx, "localhost", fmt.Sprintf("u%d", o), true)
			require.NoError(t, err)
			owner = oid
			var items []Item
			for i := range peers * perPeer {
				id++
				items = append(items, Item{Owner: oid, Row: Row{ID: id, Remote: fmt.Sprintf("peer%d@localhost", i%peers),
					From: "x@localhost/r", Message: "<message xmlns='jabber:client'><body>hi</body></message>", Search: "hi"}})
			}
			require.NoError(t, s.Insert(ctx, KindPM, items))
		}
		for r := range rooms {
			rid, err := s.OwnerID(ctx, "muclight.localhost", fmt.Sprintf("room%d", r), true)
			require.NoError(t, err)
			room = rid
			var items []Item
			for i := range perRoom {
				id++
				items = append(items, Item{Owner: rid, Row: Row{ID: id, Remote: fmt.Sprintf("m%d@localhost", i%7), Resource: "n",
					Message: "<message xmlns='jabber:client'/>"}})
			}
			require.NoError(t, s.Insert(ctx, KindMuc, items))
		}
		return owner, room
	}
	type check struct {
		name string
		q    string
		args []any
		// want are plan nodes (PostgreSQL) that must appear.
		want []string
		// sqlite is the index SQLite must search.
		sqlite string
		// sortOK allows a sort of the few rows read (the ids field names
		// at most max_result_limit rows).
		sortOK bool
		// generic checks the generic plan (PostgreSQL).
		generic bool
	}
	checks := func(owner, room int64) []check {
		var cs []check
		add := func(name, q string, args []any, sqlite string, want ...string) {
			cs = append(cs, check{name: name, q: q, args: args, want: want, sqlite: sqlite})
		}
		conv := Filter{With: "peer3@localhost"}
		q, a := selectSQL(KindPM, owner, conv, true, 51, 0)
		add("last 50 of a conversation", q, a, "i_mam_message_remote", "Index Scan i_mam_message_remote")
		q, a = countSQL(KindPM, owner, conv)
		add("count of a conversation", q, a, "i_mam_message_remote", "Index Only Scan i_mam_message_remote")
		q, a = selectSQL(KindPM, owner, Filter{IDs: []int64{1<<40 + 5, 1<<40 + 900}}, false, 51, 0)
		add("by ids", q, a, "sqlite_autoindex_mam_message_1", "Index Scan mam_message_pkey")
		cs[len(cs)-1].sortOK = true
		q, a = countSQL(KindPM, owner, only(Filter{}, 1<<40+77))
		add("cursor check", q, a, "sqlite_autoindex_mam_message_1", "Index Only Scan mam_message_pkey")
		q, a = selectSQL(KindPM, owner, Filter{After: 1<<40 + 100}, false, 51, 0)
		add("page after a cursor", q, a, "sqlite_autoindex_mam_message_1", "Index Scan mam_message_pkey")
		q, a = selectSQL(KindMuc, room, Filter{}, true, 51, 0)
		add("room: the last page", q, a, "sqlite_autoindex_mam_muc_message_1", "Index Scan mam_muc_message_pkey")
		q, a = countSQL(KindMuc, room, Filter{})
		add("room: count", q, a, "sqlite_autoindex_mam_muc_message_1", "Index Only Scan mam_muc_message_pkey")
		return cs
	}
	t.Run("pgsql", func(t *testing.T) {
		t.Parallel()
		d := dbtest.Open(t, db.PostgreSQL)
		owner, room := fill(t, d)
		// Statistics and the visibility map (index-only scans), as
		// autovacuum keeps them on a live server.
		_, err := d.SQL.Exec("VACUUM ANALYZE mam_message")
		require.NoError(t, err)
		_, err = d.SQL.Exec("VACUUM ANALYZE mam_muc_message")
		require.NoError(t, err)
		// The plans PostgreSQL chooses with the parameters' values, and
		// the generic plans a cached prepared statement may switch to.
		ctx := context.Background()
		generic, err := d.SQL.Conn(ctx)
		require.NoError(t, err)
		defer generic.Close()
		_, err = generic.ExecContext(ctx, "SET plan_cache_mode = force_generic_plan")
		require.NoError(t, err)
		var all []check
		for _, c := range checks(owner, room) {
			g := c
			g.generic, g.name = true, c.name+" (generic plan)"
			all = append(all, c, g)
		}
		for _, c := range all {
			var raw string
			row := d.QueryRowContext(ctx, "EXPLAIN (FORMAT JSON) "+c.q, c.args...)
			if c.generic {
				row = generic.QueryRowContext(ctx, d.Rebind("EXPLAIN (FORMAT JSON) "+c.q), c.args...)
			}
			require.NoError(t, row.Scan(&raw), c.name)
			var plans []struct {
				Plan planNode `json:"Plan"`
			}
			require.NoError(t, json.Unmarshal([]byte(raw), &plans))
			nodes := plans[0].Plan.walk(nil)
			for _, w := range c.want {
				require.Contains(t, nodes, w, "%s: plan %v", c.name, nodes)
			}
			for _, n := range nodes {
				require.NotContains(t, n, "Seq Scan", "%s: plan %v", c.name, nodes)
				if !c.sortOK {
					require.NotEqual(t, "Sort", n, "%s: plan %v", c.name, nodes)
				}
			}
		}
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		d := dbtest.Open(t, db.SQLite)
		owner, room := fill(t, d)
		for _, c := range checks(owner, room) {
			rows, err := d.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+c.q, c.args...)
			require.NoError(t, err)
			var details []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
				details = append(details, detail)
			}
			require.NoError(t, rows.Err())
			rows.Close()
			plan := strings.Join(details, "; ")
			require.Contains(t, plan, "INDEX "+c.sqlite, "%s: %s", c.name, plan)
			if !c.sortOK {
				require.NotContains(t, plan, "TEMP B-TREE", "%s: %s", c.name, plan)
			}
			require.NotContains(t, plan, "SCAN mam", "%s: %s", c.name, plan)
		}
	})
}
