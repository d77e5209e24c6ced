package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// mam-load fills Gander's PostgreSQL message archive (migration
// 00013_mam.sql, created by the server or `gander register`) with
// generated one-to-one rows, straight into the tables with COPY, for the
// mam scenario (docs/benchmarks.md): --owners users PREFIX1..PREFIXN, each
// with --peers conversations of --peer-rows rows, and the first --measured
// users each with one more conversation, with --measured-with, of
// --measured-rows rows. Rows are written in time order, the conversations
// interleaved as live traffic interleaves them (a conversation's rows are
// spread over the table, not packed together), with ids (µs << 8) over the
// last 30 days, alternating directions, and a message of about 250 bytes.
// It ends with VACUUM ANALYZE, as autovacuum would after such a load.

type mamLoadOptions struct {
	dsn, domain, prefix, measuredWith string
	owners, peers, peerRows           int
	measured, measuredRows            int
	vacuum                            bool
}

func runMamLoad(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mam-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o mamLoadOptions
	fs.StringVar(&o.dsn, "pg-dsn", "postgres://postgres@127.0.0.1:5432/gander_bench?sslmode=disable", "PostgreSQL `URL` of Gander's database (loopback only)")
	fs.StringVar(&o.domain, "domain", "localhost", "XMPP `domain` of the users")
	fs.StringVar(&o.prefix, "user-prefix", "bench", "localpart `prefix` of the owners")
	fs.IntVar(&o.owners, "owners", 10000, "`number` of archive owners")
	fs.IntVar(&o.peers, "peers", 10, "conversations per owner (with other owners)")
	fs.IntVar(&o.peerRows, "peer-rows", 100, "rows per conversation")
	fs.IntVar(&o.measured, "measured", 100, "owners (the first ones) with one more, measured, conversation")
	fs.IntVar(&o.measuredRows, "measured-rows", 10000, "rows of each measured conversation")
	fs.StringVar(&o.measuredWith, "measured-with", "measured@localhost", "`JID` of the measured conversations' peer")
	fs.BoolVar(&o.vacuum, "vacuum", true, "VACUUM ANALYZE the archive after loading")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := o.check(); err != nil {
		fmt.Fprintf(stderr, "gander-bench mam-load: %v\n", err)
		return 2
	}
	if err := mamLoad(context.Background(), o, stdout); err != nil {
		fmt.Fprintf(stderr, "gander-bench mam-load: %v\n", err)
		return 1
	}
	return 0
}

func (o mamLoadOptions) check() error {
	u, err := url.Parse(o.dsn)
	if err != nil {
		return fmt.Errorf("--pg-dsn: %w", err)
	}
	if err := loopbackHost(u.Hostname()); err != nil {
		return fmt.Errorf("--pg-dsn: %w", err)
	}
	switch {
	case o.owners < 2 || o.peers < 1 || o.peers >= o.owners:
		return errors.New("--owners must be at least 2 and --peers between 1 and --owners-1")
	case o.peerRows < 1 || o.measured < 0 || o.measured > o.owners || o.measuredRows < 0:
		return errors.New("--peer-rows must be at least 1, --measured between 0 and --owners, --measured-rows at least 0")
	}
	return nil
}

// mamRowSource streams the generated rows to COPY.
type mamRowSource struct {
	o      mamLoadOptions
	ids    []int64 // owner index -> archive id
	round  int     // 0 .. peerRows-1
	reg    int     // regular rows of this round so far: owner*peers + k
	perRnd int     // measured rows per measured conversation per round
	owed   float64 // measured rows due, spread between the regular ones
	meas   int     // measured rows of this round so far
	n      int64   // rows so far
	total  int64
	t0, dt int64 // µs of the first row, µs between rows
	row    []any
	out    io.Writer
	shown  time.Time
}

func (s *mamRowSource) Next() bool {
	o := s.o
	regular := o.owners * o.peers
	measured := o.measured * s.perRnd
	for s.round < o.peerRows {
		if s.owed >= 1 && s.meas < measured {
			s.owed--
			conv := s.meas % o.measured
			s.meas++
			s.fill(conv, o.measuredWith, "measured", s.meas)
			return true
		}
		if s.reg < regular {
			owner, k := s.reg/o.peers, s.reg%o.peers
			s.reg++
			if regular > 0 {
				s.owed += float64(measured) / float64(regular)
			}
			peer := (owner+k+1)%o.owners + 1
			s.fill(owner, o.prefix+strconv.Itoa(peer)+"@"+o.domain, "r", s.reg)
			return true
		}
		if s.meas < measured {
			// What the spreading left of this round's measured rows.
			s.owed = 1
			continue
		}
		s.round, s.reg, s.meas, s.owed = s.round+1, 0, 0, 0
	}
	return false
}

// fill sets s.row to the next row, of owner's conversation with peer.
func (s *mamRowSource) fill(owner int, peer, res string, seq int) {
	s.n++
	id := (s.t0 + s.n*s.dt) << 8
	me := s.o.prefix + strconv.Itoa(owner+1) + "@" + s.o.domain
	out := seq%2 == 0
	from, to, dir := peer+"/"+res, me, "I"
	if out {
		from, to, dir = me+"/bench", peer, "O"
	}
	body := "message " + strconv.FormatInt(s.n, 10) + " of the archive benchmark, long enough to look like a real chat line"
	msg := "<message xmlns='jabber:client' from='" + from + "' to='" + to + "' type='chat' id='gbl" + strconv.FormatInt(s.n, 36) +
		"'><body>" + body + "</body></message>"
	remoteRes := ""
	if !out {
		remoteRes = res
	}
	s.row = append(s.row[:0], s.ids[owner], id, peer, remoteRes, dir, from, nil, false, msg, strings.ToLower(body))
	if s.n%1000000 == 0 || time.Since(s.shown) > 10*time.Second {
		s.shown = time.Now()
		fmt.Fprintf(s.out, "mam-load: %d of %d rows\n", s.n, s.total)
	}
}

func (s *mamRowSource) Values() ([]any, error) { return s.row, nil }
func (s *mamRowSource) Err() error             { return nil }

func mamLoad(ctx context.Context, o mamLoadOptions, out io.Writer) error {
	db, err := pgx.Connect(ctx, o.dsn)
	if err != nil {
		return err
	}
	defer db.Close(ctx)
	start := time.Now()
	// The owners' archive ids, as the server creates them.
	ids := make([]int64, o.owners)
	for lo := 0; lo < o.owners; lo += 1000 {
		hi := min(lo+1000, o.owners)
		names := make([]string, 0, hi-lo)
		for i := lo; i < hi; i++ {
			names = append(names, o.prefix+strconv.Itoa(i+1))
		}
		if _, err := db.Exec(ctx, "INSERT INTO mam_server_user (server, user_name) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING", o.domain, names); err != nil {
			return fmt.Errorf("owners (is the database migrated? run gander register or serve on it first): %w", err)
		}
		rows, err := db.Query(ctx, "SELECT user_name, id FROM mam_server_user WHERE server = $1 AND user_name = ANY($2)", o.domain, names)
		if err != nil {
			return err
		}
		for rows.Next() {
			var name string
			var id int64
			if err := rows.Scan(&name, &id); err != nil {
				return err
			}
			i, _ := strconv.Atoi(strings.TrimPrefix(name, o.prefix))
			ids[i-1] = id
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	perRnd := 0
	if o.measured > 0 && o.measuredRows > 0 {
		perRnd = max(1, o.measuredRows/o.peerRows)
	}
	total := int64(o.owners*o.peers*o.peerRows) + int64(o.measured*perRnd*o.peerRows)
	span := int64(30 * 24 * time.Hour / time.Microsecond)
	src := &mamRowSource{o: o, ids: ids, perRnd: perRnd, total: total, t0: time.Now().UnixMicro() - span,
		dt: max(1, span/max(total, 1)), out: out, shown: time.Now()}
	n, err := db.CopyFrom(ctx, pgx.Identifier{"mam_message"}, []string{"user_id", "id", "remote_bare_jid", "remote_resource",
		"direction", "from_jid", "origin_id", "is_groupchat", "message", "search_body"}, src)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	fmt.Fprintf(out, "mam-load: %d rows (%d owners x %d peers x %d, %d measured conversations of %d with %s) in %s\n",
		n, o.owners, o.peers, o.peerRows, o.measured, perRnd*o.peerRows, o.measuredWith, time.Since(start).Round(time.Second))
	if o.vacuum {
		t := time.Now()
		if _, err := db.Exec(ctx, "VACUUM ANALYZE mam_message"); err != nil {
			return err
		}
		fmt.Fprintf(out, "mam-load: VACUUM ANALYZE in %s\n", time.Since(t).Round(time.Second))
	}
	return nil
}
