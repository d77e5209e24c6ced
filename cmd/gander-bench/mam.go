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

// mam measures archive queries (XEP-0313): each of --mam-queries queries,
// by a random logged-in user, asks for the last --mam-max messages of the
// user's conversation with --mam-with (RSM <before/>, count included, as
// a client opening a conversation does) and is timed from the request to
// its IQ result, the result messages received on the way. --mam-
// concurrency users query at once, each waiting for its answer. The
// archive is filled beforehand (mam-load, docs/benchmarks.md).
func (b *bench) mam(ctx context.Context) error {
	b.loginAll(ctx, false)
	if len(b.live) == 0 {
		return errors.New("mam needs at least one logged-in user")
	}
	workers := max(1, min(b.cfg.mamConc, len(b.live)))
	var h hist
	var queries, answers, rows atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		// Worker w owns the users w, w+workers, ...: a connection is read
		// by one goroutine only.
		var own []*conn
		for i := w; i < len(b.live); i += workers {
			own = append(own, b.live[i])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), uint64(b.start.UnixNano())))
			for {
				n := next.Add(1)
				if n > int64(b.cfg.mamQueries) || ctx.Err() != nil {
					return
				}
				c := own[r.IntN(len(own))]
				queries.Add(1)
				got, took, err := b.mamQuery(c, n)
				if err != nil {
					b.addErr(fmt.Errorf("mam query: %w", err))
					continue
				}
				answers.Add(1)
				rows.Add(int64(got))
				h.record(took)
			}
		}()
	}
	wg.Wait()
	q := h.quantiles(0.5, 0.9, 0.99, 1)
	m := &benchreport.Mam{Queries: queries.Load(), Answers: answers.Load(), P50: ms(q[0]), P90: ms(q[1]), P99: ms(q[2]), Max: ms(q[3])}
	if m.Answers > 0 {
		m.Rows = round3(float64(rows.Load()) / float64(m.Answers))
	}
	b.res.Mam = m
	return nil
}

// mamQuery sends query n on c and reads until its IQ result: it returns
// the result messages received and the round trip.
func (b *bench) mamQuery(c *conn, n int64) (int, time.Duration, error) {
	id := "gbmam-" + strconv.FormatInt(n, 10)
	q := "<iq type='set' id='" + id + "'><query xmlns='urn:xmpp:mam:2' queryid='" + id + "'>" +
		"<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>" +
		"<field var='with'><value>" + escape(b.cfg.mamWith) + "</value></field></x>" +
		"<set xmlns='http://jabber.org/protocol/rsm'><max>" + strconv.Itoa(b.cfg.mamMax) + "</max><before/></set></query></iq>"
	c.nc.SetDeadline(time.Now().Add(30 * time.Second))
	defer c.nc.SetDeadline(time.Time{})
	t0 := time.Now()
	if err := c.write([]byte(q)); err != nil {
		return 0, 0, err
	}
	got := 0
	for {
		el, err := c.nextElem()
		if err != nil {
			return 0, 0, err
		}
		switch elemName(el) {
		case "message":
			if bytes.Contains(el, []byte("queryid='"+id+"'")) || bytes.Contains(el, []byte(`queryid="`+id+`"`)) {
				got++
			}
		case "iq":
			if attr(el, "id") != id {
				c.reply(el)
				continue
			}
			took := time.Since(t0)
			if attr(el, "type") != "result" {
				return 0, 0, fmt.Errorf("error answer: %s", truncate(el))
			}
			if !bytes.Contains(el, []byte("<count>")) {
				return 0, 0, fmt.Errorf("no <count/> in the answer: %s", truncate(el))
			}
			return got, took, nil
		}
	}
}
