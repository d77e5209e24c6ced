package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gander-xmpp/gander/internal/benchreport"
)

// nsInbox is the inbox namespace Gander (like MongooseIM) implements. The
// contract names XEP-0430's urn:xmpp:inbox:1; --inbox-ns selects it for a
// server that speaks that one.
const nsInbox = "erlang-solutions.com:xmpp:inbox:0"

// muclight puts the users in MUC Light rooms of --room-size, runs the rate
// steps with groupchat messages (each message is expected once at every
// other member), and optionally measures inbox queries alongside.
func (b *bench) muclight(ctx context.Context) error {
	b.loginAll(ctx, true)
	size := b.cfg.roomSize
	var members []*conn
	for i := 0; i+1 < len(b.live); i += size {
		members = append(members, b.live[i:min(i+size, len(b.live))]...)
	}
	if len(members) < 2 {
		return errors.New("muclight needs at least two logged-in users")
	}
	// Room k holds members[k*size:(k+1)*size]; the first creates it.
	stamp := strconv.FormatInt(b.start.Unix(), 36)
	nrooms := (len(members) + size - 1) / size
	roomJID := make([]string, nrooms)
	roomOf := make(map[*conn]int, len(members))
	var wg sync.WaitGroup
	var failed atomic.Int64
	sem := make(chan struct{}, b.cfg.loginConc)
	for k := range nrooms {
		occ := members[k*size : min((k+1)*size, len(members))]
		roomJID[k] = "gb" + stamp + "-" + strconv.Itoa(k) + "@" + b.cfg.mucService
		for _, c := range occ {
			roomOf[c] = k
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := b.createRoom(occ, roomJID[k]); err != nil {
				failed.Add(1)
				b.addErr(fmt.Errorf("create room: %w", err))
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		return fmt.Errorf("%d of %d rooms not created", failed.Load(), nrooms)
	}
	roomSize := func(k int) int64 { return int64(min((k+1)*size, len(members)) - k*size) }

	b.steps = make([]*stepState, len(b.cfg.rates))
	for i := range b.steps {
		b.steps[i] = new(stepState)
	}
	var ibx inboxStats
	b.onElem = func(c *conn, el []byte, now time.Time) {
		switch elemName(el) {
		case "message":
			if attr(el, "type") != "groupchat" {
				return
			}
			// The sender's own echo is not a delivery to another member.
			from := attr(el, "from")
			if i := len(from) - len(c.bare) - 1; i > 0 && from[i] == '/' && from[i+1:] == c.bare {
				return
			}
			if body, ok := childTextRaw(el, "body"); ok {
				b.deliver(body, now)
			}
		case "iq":
			ibx.answer(el, now)
		}
	}
	b.startReaders()
	if b.cfg.inboxEvery > 0 {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			b.inboxQueries(ctx, members, &ibx, stop)
		}()
		defer func() {
			close(stop)
			<-done
			b.res.Inbox = ibx.result()
		}()
	}
	build := func(buf []byte, from *conn, _ *rand.Rand, body []byte) ([]byte, int64) {
		k := roomOf[from]
		buf = append(buf, "<message type='groupchat' to='"...)
		buf = append(buf, roomJID[k]...)
		buf = append(buf, "'><body>"...)
		buf = append(buf, body...)
		return append(buf, "</body></message>"...), roomSize(k) - 1
	}
	b.runSteps(ctx, members, build)
	return nil
}

// createRoom has occ[0] create room with the others as members. It runs
// before the reader goroutines start, so it reads the creator's stream
// itself (skipping the affiliation notifications).
func (b *bench) createRoom(occ []*conn, room string) error {
	var q bytes.Buffer
	q.WriteString("<iq type='set' id='gbcreate' to='" + escape(room) + "'><query xmlns='urn:xmpp:muclight:0#create'>" +
		"<configuration><roomname>gander-bench</roomname></configuration><occupants>")
	for _, c := range occ[1:] {
		q.WriteString("<user affiliation='member'>" + escape(c.bare) + "</user>")
	}
	q.WriteString("</occupants></query></iq>")
	cr := occ[0]
	cr.nc.SetDeadline(time.Now().Add(30 * time.Second))
	defer cr.nc.SetDeadline(time.Time{})
	if err := cr.write(q.Bytes()); err != nil {
		return err
	}
	_, err := cr.iqResult("gbcreate")
	return err
}

// inboxStats counts inbox queries; the send time travels in the IQ id.
type inboxStats struct {
	queries, answers atomic.Int64
	h                hist
}

const inboxIDPrefix = "gbibx-"

func (s *inboxStats) answer(el []byte, now time.Time) {
	id := attr(el, "id")
	v, ok := bytes.CutPrefix([]byte(id), []byte(inboxIDPrefix))
	if !ok {
		return
	}
	ts, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || attr(el, "type") != "result" {
		return
	}
	s.answers.Add(1)
	s.h.record(time.Duration(now.UnixNano() - ts))
}

func (s *inboxStats) result() *benchreport.Inbox {
	q := s.h.quantiles(0.5, 0.99, 1)
	return &benchreport.Inbox{Queries: s.queries.Load(), Answers: s.answers.Load(), P50: ms(q[0]), P99: ms(q[1]), Max: ms(q[2])}
}

// inboxQueries has every user query its inbox (first page of 20) once per
// --inbox-query-every, spread evenly over the interval.
func (b *bench) inboxQueries(ctx context.Context, users []*conn, s *inboxStats, stop <-chan struct{}) {
	rate := float64(len(users)) / b.cfg.inboxEvery.Seconds()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	var n int64
	for {
		select {
		case <-tick.C:
		case <-stop:
			return
		case <-ctx.Done():
			return
		}
		if b.waiting.Load() {
			// Not this generator's turn: no queries, and none owed.
			start, n = time.Now(), 0
			continue
		}
		for want := due(rate, time.Since(start)); n < want; n++ {
			c := users[n%int64(len(users))]
			q := "<iq type='set' id='" + inboxIDPrefix + strconv.FormatInt(time.Now().UnixNano(), 10) + "'><inbox xmlns='" +
				b.cfg.inboxNS + "' queryid='gb'><set xmlns='http://jabber.org/protocol/rsm'><max>20</max></set></inbox></iq>"
			if err := c.write([]byte(q)); err != nil {
				b.addErr(fmt.Errorf("inbox query: %w", err))
				continue
			}
			s.queries.Add(1)
		}
	}
}
