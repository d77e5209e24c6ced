package main

import (
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

// register creates the accounts with XEP-0077 in-band registration.
func (b *bench) register(ctx context.Context) error {
	n := b.cfg.users
	t0 := time.Now()
	var next, created, existed, failed atomic.Int64
	var wg sync.WaitGroup
	o := b.cfg.dialOpts()
	for range min(b.cfg.loginConc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				ex, err := register(ctx, o, b.cfg.account(i), b.cfg.src(i))
				switch {
				case err != nil:
					failed.Add(1)
					b.addErr(fmt.Errorf("register: %w", err))
				case ex:
					existed.Add(1)
				default:
					created.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(t0).Seconds()
	r := &benchreport.Register{Attempted: n, Created: int(created.Load()), Existed: int(existed.Load()),
		Failed: int(failed.Load()), Seconds: round3(secs)}
	if secs > 0 {
		r.PerS = round3(float64(r.Created+r.Existed) / secs)
	}
	b.res.Register = r
	return nil
}

// loginScenario logs everyone in, then closes.
func (b *bench) loginScenario(ctx context.Context) error {
	b.loginAll(ctx, false)
	return nil
}

// stepState is what the senders and readers count for one rate step.
type stepState struct {
	sent      atomic.Int64 // messages sent in the counted window
	expected  atomic.Int64 // deliveries expected for them (copies)
	delivered atomic.Int64 // of those, deliveries seen
	h         hist
}

// appendBody writes the body every benchmark message carries:
// "gb SENDNANOS SEQ STEP COUNTED".
func appendBody(buf []byte, ts, seq int64, step int, counted bool) []byte {
	buf = append(buf, "gb "...)
	buf = strconv.AppendInt(buf, ts, 10)
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, seq, 10)
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, int64(step), 10)
	if counted {
		return append(buf, " 1"...)
	}
	return append(buf, " 0"...)
}

// parseBody reads appendBody's format.
func parseBody(b []byte) (ts int64, step int, counted, ok bool) {
	if len(b) < 3 || b[0] != 'g' || b[1] != 'b' || b[2] != ' ' {
		return 0, 0, false, false
	}
	var f [4]int64
	k, v, digits := 0, int64(0), 0
	for _, c := range b[3:] {
		switch {
		case c >= '0' && c <= '9':
			v = v*10 + int64(c-'0')
			digits++
		case c == ' ' && digits > 0 && k < 3:
			f[k], v, digits = v, 0, 0
			k++
		default:
			return 0, 0, false, false
		}
	}
	if k != 3 || digits == 0 {
		return 0, 0, false, false
	}
	f[3] = v
	return f[0], int(f[2]), f[3] == 1, true
}

// deliver counts one received benchmark message body.
func (b *bench) deliver(body []byte, now time.Time) {
	ts, step, counted, ok := parseBody(body)
	if !ok {
		return
	}
	lat := time.Duration(now.UnixNano() - ts)
	b.delivered.Add(1)
	b.sec.Load().record(lat)
	if counted && step >= 0 && step < len(b.steps) {
		st := b.steps[step]
		st.delivered.Add(1)
		st.h.record(lat)
	}
}

// chat runs one-to-one messages at each rate step.
func (b *bench) chat(ctx context.Context) error {
	b.loginAll(ctx, true)
	if len(b.live) < 2 {
		return errors.New("chat needs at least two logged-in users")
	}
	b.steps = make([]*stepState, len(b.cfg.rates))
	for i := range b.steps {
		b.steps[i] = new(stepState)
	}
	b.onElem = func(c *conn, el []byte, now time.Time) {
		if elemName(el) != "message" {
			return
		}
		if attr(el, "type") == "error" {
			// A bounce carries the original body: not a delivery.
			b.addErr(fmt.Errorf("message bounced: %s", errorCondition(el)))
			return
		}
		if body, ok := childTextRaw(el, "body"); ok {
			b.deliver(body, now)
		}
	}
	b.startReaders()
	live := b.live
	build := func(buf []byte, from *conn, r *rand.Rand, body []byte) ([]byte, int64) {
		to := live[r.IntN(len(live)-1)]
		if to == from {
			to = live[len(live)-1] // uniform over the others
		}
		buf = append(buf, "<message type='chat' to='"...)
		buf = append(buf, to.bare...)
		buf = append(buf, "'><body>"...)
		buf = append(buf, body...)
		return append(buf, "</body></message>"...), 1
	}
	b.runSteps(ctx, b.live, build)
	return nil
}

// buildFunc appends the stanza for one message from a user with the given
// body, and returns how many deliveries it should cause.
type buildFunc func(buf []byte, from *conn, r *rand.Rand, body []byte) ([]byte, int64)

// runSteps runs the rate steps with senders spread over a few goroutines
// (not one timer per user), and fills the result's steps.
func (b *bench) runSteps(ctx context.Context, senders []*conn, build buildFunc) {
	var seq atomic.Int64
	for i, rate := range b.cfg.rates {
		if !b.awaitTurn(ctx, i) {
			return
		}
		b.stepRate.Store(int64(rate))
		st := b.steps[i]
		s := b.runStep(ctx, i, rate, st, senders, build, &seq)
		b.endTurn(i)
		b.res.Steps = append(b.res.Steps, s)
		if s.Sustained && (b.res.MaxSustained == nil || s.TargetRate > b.res.MaxSustained.TargetRate) {
			b.res.MaxSustained = s
		}
		if ctx.Err() != nil || (!s.Sustained && !b.cfg.allSteps) {
			return
		}
	}
}

// turnSlot is the start of step i's slot with --turns.
func (c *options) turnSlot(i int) time.Time {
	return c.turnStart.Add(time.Duration(i*c.turns+c.turn) * c.turnLen)
}

// awaitTurn waits, with --turns, until step i's slot begins, so that
// generators driving different servers on the same machine load them one
// at a time and adjacent slots compare the servers at nearly the same
// moment. It returns false when ctx ends first.
func (b *bench) awaitTurn(ctx context.Context, i int) bool {
	if b.cfg.turns <= 1 {
		return true
	}
	b.waiting.Store(true)
	defer b.waiting.Store(false)
	wait := time.Until(b.cfg.turnSlot(i))
	if wait < -time.Second {
		b.addErr(fmt.Errorf("step %d started late for its turn (--turn-start too early for the logins?)", i+1))
	}
	return wait <= 0 || sleep(ctx, wait)
}

// endTurn records, with --turns, a step that ran into the next slot (whose
// server was then loaded at the same time).
func (b *bench) endTurn(i int) {
	if b.cfg.turns > 1 && time.Now().After(b.cfg.turnSlot(i).Add(b.cfg.turnLen)) {
		b.addErr(fmt.Errorf("step %d ran past its turn (--turn-length too short)", i+1))
	}
}

// drainWait is how long a step waits after its last send for deliveries.
const drainWait = 2 * time.Second

func (b *bench) runStep(ctx context.Context, idx int, rate float64, st *stepState, users []*conn, build buildFunc, seq *atomic.Int64) *benchreport.Step {
	g := min(4, len(users))
	start := time.Now()
	measureFrom := start.Add(b.cfg.warmup).UnixNano()
	var wg sync.WaitGroup
	shares := splitRate(rate, g)
	for k := range g {
		var mine []*conn
		for j := k; j < len(users); j += g {
			mine = append(mine, users[j])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.sender(ctx, idx, shares[k], start, measureFrom, mine, st, build, seq)
		}()
	}
	sleep(ctx, b.cfg.warmup)
	srv0, self0 := b.cpu()
	db0 := b.dbCPU()
	wg.Wait()
	srv1, self1 := b.cpu()
	db1 := b.dbCPU()
	deadline := time.Now().Add(drainWait)
	for st.delivered.Load() < st.expected.Load() && time.Now().Before(deadline) && sleep(ctx, 20*time.Millisecond) {
	}
	secs := (b.cfg.stepDur - b.cfg.warmup).Seconds()
	s := &benchreport.Step{TargetRate: rate, Sent: st.sent.Load(), Delivered: st.delivered.Load(), Seconds: round3(secs),
		BenchCPU: round3(self1 - self0), Start: start.UTC().Format(time.RFC3339Nano), End: time.Now().UTC().Format(time.RFC3339Nano)}
	if exp := st.expected.Load(); exp != s.Sent {
		s.Expected = exp
	}
	s.Throughput = round3(float64(s.Delivered) / secs)
	q := st.h.quantiles(0.5, 0.9, 0.99, 0.999, 1)
	s.P50, s.P90, s.P99, s.P999, s.Max = ms(q[0]), ms(q[1]), ms(q[2]), ms(q[3]), ms(q[4])
	if b.cfg.pid != 0 {
		s.ServerCPU = round3(srv1 - srv0)
		if s.Delivered > 0 {
			s.ServerCPUPer1000 = round3(1000 * s.ServerCPU / float64(s.Delivered))
		}
	}
	if s.Delivered > 0 {
		s.BenchCPUPer1000 = round3(1000 * s.BenchCPU / float64(s.Delivered))
	}
	if b.cfg.dbProc != "" {
		d := round3(db1 - db0)
		per := 0.0
		if s.Delivered > 0 {
			per = round3(1000 * d / float64(s.Delivered))
		}
		s.DBCPU, s.DBCPUPer1000 = &d, &per
	}
	exp := st.expected.Load()
	s.Sustained = exp > 0 && float64(s.Delivered) >= 0.995*float64(exp) && q[2] < 100*time.Millisecond
	if float64(s.Sent) < 0.95*rate*secs {
		// The generator could not keep the target rate: the step says
		// nothing about the server at that rate.
		s.Sustained = false
		s.Note = fmt.Sprintf("generator sent only %.0f/s of the %.0f/s target", float64(s.Sent)/secs, rate)
	}
	return s
}

// sender sends at rate msgs/s for the step's duration from its users in
// turn; it catches up after a slow tick so the average rate holds.
func (b *bench) sender(ctx context.Context, step int, rate float64, start time.Time, measureFrom int64,
	users []*conn, st *stepState, build buildFunc, seq *atomic.Int64) {
	r := rand.New(rand.NewPCG(uint64(start.UnixNano()), uint64(users[0].idx)))
	tick := time.NewTicker(tickFor(rate))
	defer tick.Stop()
	buf := make([]byte, 0, 512)
	body := make([]byte, 0, 64)
	var n int64
	rr := 0
	for {
		el := time.Since(start)
		if el >= b.cfg.stepDur {
			return
		}
		for want := due(rate, el); n < want; n++ {
			from := users[rr]
			rr = (rr + 1) % len(users)
			ts := time.Now().UnixNano()
			counted := ts >= measureFrom
			body = appendBody(body[:0], ts, seq.Add(1), step, counted)
			var copies int64
			buf, copies = build(buf[:0], from, r, body)
			if err := from.write(buf); err != nil {
				b.addErr(fmt.Errorf("send: %w", err))
				continue
			}
			b.sent.Add(1)
			if counted {
				st.sent.Add(1)
				st.expected.Add(copies)
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// idle opens N logged-in connections and reports the server's memory per
// connection.
func (b *bench) idle(ctx context.Context) error {
	if b.cfg.pid == 0 {
		return errors.New("idle needs --pid to read the server's memory")
	}
	before, _, err := procMem(b.cfg.pid)
	if err != nil {
		return err
	}
	b.loginAll(ctx, true)
	b.startReaders()
	sleep(ctx, b.cfg.settle)
	after, _, err := procMem(b.cfg.pid)
	if err != nil {
		return err
	}
	i := &benchreport.Idle{Connections: len(b.live), RSSBeforeKB: before, RSSAfterKB: after}
	if len(b.live) > 0 {
		i.PerConnKB = round3(float64(after-before) / float64(len(b.live)))
	}
	b.res.Idle = i
	sleep(ctx, b.cfg.hold)
	return nil
}

// spike logs N users in, waits for the server to go quiet, closes every
// socket at once without </stream:stream>, and measures how long and how
// much CPU the server needs to clean up.
func (b *bench) spike(ctx context.Context) error {
	if b.cfg.pid == 0 {
		return errors.New("spike needs --pid to read the server's CPU")
	}
	b.loginAll(ctx, true)
	b.startReaders()
	b.waitQuiet(ctx, time.Now())
	cpu0, _ := procCPU(b.cfg.pid)
	t0 := time.Now()
	for _, c := range b.live {
		c.nc.Close()
	}
	n := len(b.live)
	b.live = nil
	b.readers.Wait()
	busyUntil := b.waitQuiet(ctx, t0)
	cpu1, _ := procCPU(b.cfg.pid)
	b.res.Spike = &benchreport.Spike{Connections: n, QuietSeconds: round3(busyUntil.Sub(t0).Seconds()), ServerCPU: round3(cpu1 - cpu0)}
	return nil
}

// waitQuiet polls the server's CPU every 100 ms until it used under 20 ms
// in the last 500 ms (or 60 s pass), and returns when it was last busy.
func (b *bench) waitQuiet(ctx context.Context, since time.Time) time.Time {
	const window = 5
	var hist []float64
	last := since
	limit := time.Now().Add(time.Minute)
	for time.Now().Before(limit) && sleep(ctx, 100*time.Millisecond) {
		c, err := procCPU(b.cfg.pid)
		if err != nil {
			return last
		}
		hist = append(hist, c)
		if len(hist) >= 2 && hist[len(hist)-1] > hist[len(hist)-2] {
			last = time.Now()
		}
		if len(hist) > window && hist[len(hist)-1]-hist[len(hist)-1-window] < 0.02 {
			return last
		}
	}
	return last
}
