package roster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/gander-xmpp/gander/internal/db"
)

// Item is one roster entry of a user.
type Item struct {
	// JID is the contact's bare JID, normalised.
	JID string
	// Name is the name the user gave the contact, or empty.
	Name string
	// State is the subscription state and its pending flags.
	State State
	// PendingInStatus is the status text of the contact's pending inbound
	// subscription request, kept to be shown again at the user's next login
	// (RFC 6121 §3.1.3). Meaningful only when State.PendingIn.
	PendingInStatus string
	// Groups are the roster groups of the contact, sorted and unique when
	// read from a store.
	Groups []string
}

// SQLStore keeps rosters in the rosterusers and rostergroups tables of an
// SQL database, SQLite or PostgreSQL, keyed by (server, username). It is safe
// for concurrent use.
type SQLStore struct {
	db *db.DB
}

// NewSQLStore returns a store over d, which must be migrated (db.Open does
// that).
func NewSQLStore(d *db.DB) *SQLStore {
	return &SQLStore{db: d}
}

// itemQuery selects items with their groups, one row per (item, group) and
// one row with a NULL group for an item without groups. A single statement
// reads items and groups from one snapshot, so a concurrent PutItem is seen
// entirely or not at all.
const itemQuery = `SELECT r.jid, r.name, r.subscription, r.pending_out, r.pending_in, r.pending_in_status, g.grp
	FROM rosterusers r
	LEFT JOIN rostergroups g ON g.server = r.server AND g.username = r.username AND g.jid = r.jid
	WHERE r.server = ? AND r.username = ?`

// Items returns the user's roster sorted by JID (byte-wise), each item's
// groups sorted. A user without a roster has no items and no error.
func (s *SQLStore) Items(ctx context.Context, server, username string) ([]Item, error) {
	items, err := s.query(ctx, itemQuery, server, username)
	if err != nil {
		return nil, fmt.Errorf("roster: items: %w", err)
	}
	return items, nil
}

// Item returns the user's roster item for jid, and whether it exists.
func (s *SQLStore) Item(ctx context.Context, server, username, jid string) (Item, bool, error) {
	items, err := s.query(ctx, itemQuery+" AND r.jid = ?", server, username, jid)
	if err != nil {
		return Item{}, false, fmt.Errorf("roster: item: %w", err)
	}
	if len(items) == 0 {
		return Item{}, false, nil
	}
	return items[0], true, nil
}

// query runs an itemQuery and folds its rows into items.
func (s *SQLStore) query(ctx context.Context, query string, args ...any) ([]Item, error) {
	query += " ORDER BY " + s.db.CollateBinary("r.jid") + ", " + s.db.CollateBinary("g.grp")
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var items []Item
	for rows.Next() {
		var (
			it  Item
			sub string
			grp sql.NullString
		)
		if err := rows.Scan(&it.JID, &it.Name, &sub, &it.State.PendingOut, &it.State.PendingIn, &it.PendingInStatus, &grp); err != nil {
			return nil, err
		}
		it.State.Sub = Subscription(sub)
		// Rows of one item are adjacent: the query orders by JID.
		if n := len(items); n == 0 || items[n-1].JID != it.JID {
			items = append(items, it)
		}
		if grp.Valid {
			last := &items[len(items)-1]
			last.Groups = append(last.Groups, grp.String)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return items, nil
}

// PutItem creates or replaces the user's roster item for it.JID, groups
// included, in one transaction. An empty subscription is stored as none;
// duplicate groups are stored once.
func (s *SQLStore) PutItem(ctx context.Context, server, username string, it Item) error {
	if it.JID == "" {
		return errors.New("roster: put item: empty JID")
	}
	sub := it.State.Sub
	if sub == "" {
		sub = SubNone
	}
	groups := slices.Clone(it.Groups)
	slices.Sort(groups)
	groups = slices.Compact(groups)
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO rosterusers
			(server, username, jid, name, subscription, pending_out, pending_in, pending_in_status)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (server, username, jid) DO UPDATE SET
				name = excluded.name, subscription = excluded.subscription,
				pending_out = excluded.pending_out, pending_in = excluded.pending_in,
				pending_in_status = excluded.pending_in_status`,
			server, username, it.JID, it.Name, string(sub), it.State.PendingOut, it.State.PendingIn, it.PendingInStatus); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM rostergroups WHERE server = ? AND username = ? AND jid = ?",
			server, username, it.JID); err != nil {
			return err
		}
		for _, g := range groups {
			if _, err := tx.ExecContext(ctx, "INSERT INTO rostergroups (server, username, jid, grp) VALUES (?, ?, ?, ?)",
				server, username, it.JID, g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("roster: put item: %w", err)
	}
	return nil
}

// DeleteItem removes the user's roster item for jid and its groups. Removing
// an item that does not exist is not an error.
func (s *SQLStore) DeleteItem(ctx context.Context, server, username, jid string) error {
	// The item's groups go with it (ON DELETE CASCADE).
	if _, err := s.db.ExecContext(ctx, "DELETE FROM rosterusers WHERE server = ? AND username = ? AND jid = ?",
		server, username, jid); err != nil {
		return fmt.Errorf("roster: delete item: %w", err)
	}
	return nil
}

// RemoveUser removes the user's whole roster: items, groups and roster
// version.
func (s *SQLStore) RemoveUser(ctx context.Context, server, username string) error {
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		// Groups go with their items (ON DELETE CASCADE).
		if _, err := tx.ExecContext(ctx, "DELETE FROM rosterusers WHERE server = ? AND username = ?", server, username); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM roster_version WHERE server = ? AND username = ?", server, username)
		return err
	})
	if err != nil {
		return fmt.Errorf("roster: remove user: %w", err)
	}
	return nil
}
