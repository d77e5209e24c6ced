package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gander-xmpp/gander/internal/benchreport"
)

// bench is one run: the connections, the counters the readers and senders
// update, and the once-a-second sampler.
type bench struct {
	cfg    *options
	stderr io.Writer
	res    *benchreport.Result
	start  time.Time

	conns []*conn // nil where the login failed; index = account number
	live  []*conn // the logged-in connections

	// onElem handles one top-level element on a reader goroutine; set by
	// the scenario before the readers start.
	onElem  func(c *conn, el []byte, now time.Time)
	readers sync.WaitGroup

	steps []*stepState // chat and muclight rate steps, allocated before the readers start

	sent, delivered atomic.Int64         // run totals for the time series
	sec             atomic.Pointer[hist] // latencies of the current second

	errMu sync.Mutex
	errs  map[string]int

	srvCPU0, benchCPU0 float64
	stop               chan struct{}
	sampled            chan struct{}
	tsMu               sync.Mutex
	stepRate           atomic.Int64 // target of the running step, for the progress line
	// waiting is set while the generator waits for its turn (--turns): its
	// side load (inbox queries) pauses too.
	waiting atomic.Bool
}

func newBench(cfg *options, stderr io.Writer) *bench {
	b := &bench{cfg: cfg, stderr: stderr, start: time.Now(), errs: map[string]int{}}
	b.res = &benchreport.Result{Scenario: cfg.scenario, Label: cfg.label, Server: cfg.server, Users: cfg.users,
		Started: b.start.UTC().Format(time.RFC3339), Machine: machine()}
	b.sec.Store(new(hist))
	b.waiting.Store(cfg.turns > 1)
	b.benchCPU0, _ = procCPU(0)
	if cfg.pid != 0 {
		var err error
		if b.srvCPU0, err = procCPU(cfg.pid); err != nil {
			b.addErr(fmt.Errorf("--pid: %w", err))
			cfg.pid = 0
		}
	}
	return b
}

// maxErrors caps the distinct error messages kept (per-connection errors
// name addresses, so a broken run could make thousands).
const maxErrors = 50

// addErr records an error; identical messages are counted, not repeated.
func (b *bench) addErr(err error) {
	b.errMu.Lock()
	defer b.errMu.Unlock()
	k := err.Error()
	if _, seen := b.errs[k]; !seen && len(b.errs) >= maxErrors {
		k = "further distinct errors"
	}
	b.errs[k]++
}

// dbCPU returns the CPU seconds so far of the processes named --db-proc
// (0 without it).
func (b *bench) dbCPU() float64 {
	if b.cfg.dbProc == "" {
		return 0
	}
	return procsCPU(b.cfg.dbProc)
}

// cpu returns the server's and the generator's CPU seconds so far.
func (b *bench) cpu() (srv, self float64) {
	if b.cfg.pid != 0 {
		srv, _ = procCPU(b.cfg.pid)
	}
	self, _ = procCPU(0)
	return srv, self
}

// startSampler records one time-series point per second and prints the
// progress line.
func (b *bench) startSampler(ctx context.Context) {
	b.stop = make(chan struct{})
	b.sampled = make(chan struct{})
	go func() {
		defer close(b.sampled)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		var lastSent, lastDeliv int64
		lastSrv, lastSelf := b.cpu()
		for t := 1; ; t++ {
			select {
			case <-b.stop:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			h := b.sec.Swap(new(hist))
			s, d := b.sent.Load(), b.delivered.Load()
			srv, self := b.cpu()
			p := benchreport.TimePoint{T: t, Sent: s - lastSent, Delivered: d - lastDeliv,
				P99: ms(h.quantiles(0.99)[0]), BenchCPUPct: round3(100 * (self - lastSelf))}
			if b.cfg.pid != 0 {
				p.ServerCPUPct = round3(100 * (srv - lastSrv))
			}
			lastSent, lastDeliv, lastSrv, lastSelf = s, d, srv, self
			b.tsMu.Lock()
			b.res.Timeseries = append(b.res.Timeseries, p)
			b.tsMu.Unlock()
			if !b.cfg.quiet {
				extra := ""
				if r := b.stepRate.Load(); r > 0 {
					extra = fmt.Sprintf("  [step %d/s]", r)
				}
				srvText := ""
				if b.cfg.pid != 0 {
					srvText = fmt.Sprintf("  server CPU %.0f%%", p.ServerCPUPct)
				}
				fmt.Fprintf(b.stderr, "[%3ds] sent %d delivered %d  %d/s  p99 %.1f ms%s  bench CPU %.0f%%%s\n",
					t, s, d, p.Delivered, p.P99, srvText, p.BenchCPUPct, extra)
			}
		}
	}()
}

func (b *bench) stopSampler() {
	close(b.stop)
	<-b.sampled
}

// loginAll logs every user in with --login-concurrency workers and fills
// b.conns, b.live and the result's login figures.
func (b *bench) loginAll(ctx context.Context, presence bool) {
	n := b.cfg.users
	b.conns = make([]*conn, n)
	srv0, self0 := b.cpu()
	t0 := time.Now()
	var next atomic.Int64
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
				c, err := login(ctx, o, b.cfg.account(i), b.cfg.src(i), presence)
				if err != nil {
					b.addErr(fmt.Errorf("login: %w", err))
					continue
				}
				c.idx = i
				b.conns[i] = c
			}
		}()
	}
	wg.Wait()
	secs := time.Since(t0).Seconds()
	srv1, self1 := b.cpu()
	l := &benchreport.Login{Attempted: n, Seconds: round3(secs), BenchCPU: round3(self1 - self0)}
	if b.cfg.pid != 0 {
		l.ServerCPU = round3(srv1 - srv0)
	}
	for _, c := range b.conns {
		if c != nil {
			b.live = append(b.live, c)
		}
	}
	l.OK = len(b.live)
	l.Failed = n - l.OK
	if secs > 0 {
		l.PerS = round3(float64(l.OK) / secs)
	}
	b.res.Login = l
}

// startReaders starts one reader goroutine per live connection, feeding
// b.onElem.
func (b *bench) startReaders() {
	for _, c := range b.live {
		b.readers.Add(1)
		go func() {
			defer b.readers.Done()
			b.read(c)
		}()
	}
}

func (b *bench) read(c *conn) {
	for {
		ev, el, err := c.er.next()
		if err != nil || ev == evEnd {
			return
		}
		if ev != evElem {
			continue
		}
		now := time.Now()
		switch elemName(el) {
		case "iq":
			if t := attr(el, "type"); t == "get" || t == "set" {
				c.reply(el)
				continue
			}
		case "error":
			b.addErr(fmt.Errorf("stream error for %s: %s", c.jid, truncate(el)))
			return
		}
		if b.onElem != nil {
			b.onElem(c, el, now)
		}
	}
}

// closeAll ends every stream and waits for the readers.
func (b *bench) closeAll() {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 200)
	for _, c := range b.live {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			c.close()
			<-sem
		}()
	}
	wg.Wait()
	b.live = nil
	b.readers.Wait()
}

// finish fills the process figures and errors.
func (b *bench) finish() {
	srv, self := b.cpu()
	_, selfHWM, _ := procMem(0)
	b.res.BenchProc = &benchreport.Proc{CPU: round3(self - b.benchCPU0), PeakRSSKB: selfHWM}
	if b.cfg.pid != 0 {
		_, hwm, _ := procMem(b.cfg.pid)
		b.res.ServerProc = &benchreport.Proc{CPU: round3(srv - b.srvCPU0), PeakRSSKB: hwm}
	}
	keys := make([]string, 0, len(b.errs))
	for k := range b.errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if n := b.errs[k]; n > 1 {
			k = fmt.Sprintf("%s (×%d)", k, n)
		}
		b.res.Errors = append(b.res.Errors, k)
	}
}

// sleep waits for d or the end of ctx.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
