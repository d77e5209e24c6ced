// Command gander-bench is an XMPP load generator. It speaks plain standard
// XMPP (TCP, STARTTLS, SASL SCRAM/PLAIN, bind, presence, messages) so the
// same runs work against Gander, ejabberd and Prosody, and reports
// delivery throughput and latency, login rate, and the server's and its
// own CPU and memory. See docs/gander-bench.md.
//
// Usage:
//
//	gander-bench SCENARIO [flags]   register, login, chat, idle, spike, muclight, broadcast, mam
//	gander-bench mam-load [flags]   fill a PostgreSQL archive for the mam scenario
//	gander-bench report [flags]     markdown report from JSON results
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/gander-xmpp/gander/internal/benchreport"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `gander-bench is an XMPP load generator (loopback only).

Usage:
  gander-bench SCENARIO [flags]
  gander-bench report [flags]

Scenarios:
  register   XEP-0077 in-band registration of PREFIX1..PREFIXN
  login      log all users in as fast as --login-concurrency allows
  chat       one-to-one messages at --rates steps; latency, throughput, max sustained
  idle       N idle connections; server memory per connection
  spike      N users disconnect at once; server CPU of the spike
  muclight   MUC Light rooms of --room-size; groupchat latency, inbox queries
  broadcast  start a Gander broadcast job and measure arrivals
  mam        archive queries (XEP-0313): the last page of one conversation each, latency
  mam-load   fill a PostgreSQL archive with generated rows (for mam), without a server

Run 'gander-bench SCENARIO --help' for the flags.
`

// options is the parsed command line.
type options struct {
	scenario   string
	server     string
	domain     string
	users      int
	prefix     string
	pass       string
	tlsMode    string
	mech       string
	srcs       []net.IP
	loginConc  int
	pid        int
	dbProc     string
	label      string
	jsonPath   string
	svgPath    string
	quiet      bool
	maxDur     time.Duration
	rates      []float64
	stepDur    time.Duration
	warmup     time.Duration
	allSteps   bool
	turns      int
	turn       int
	mamWith    string
	mamQueries int
	mamConc    int
	mamMax     int
	turnStart  time.Time
	turnLen    time.Duration
	settle     time.Duration
	hold       time.Duration
	roomSize   int
	mucService string
	inboxEvery time.Duration
	inboxNS    string
	adminURL   string
	adminUser  string
	adminPass  string
	bcastRate  int
	cpuProfile string
	scramFile  string
	cache      *scramCache
}

func (c *options) dialOpts() dialOpts {
	return dialOpts{server: c.server, tls: c.tlsMode == "starttls", mech: c.mech, cache: c.cache}
}

func (c *options) account(i int) account {
	return account{user: c.prefix + strconv.Itoa(i+1), domain: c.domain, pass: c.pass}
}

func (c *options) src(i int) net.IP { return c.srcs[i%len(c.srcs)] }

var scenarios = []string{"register", "login", "chat", "idle", "spike", "muclight", "broadcast", "mam"}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "report" {
		return runReport(args[1:], stdout, stderr)
	}
	if args[0] == "mam-load" {
		return runMamLoad(args[1:], stdout, stderr)
	}
	cfg, err := parseFlags(args[0], args[1:], stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "gander-bench: %v\n", err)
		return 2
	}
	res, err := execute(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "gander-bench: %v\n", err)
		return 1
	}
	writeTable(stdout, res)
	if cfg.jsonPath != "" {
		if err := writeJSON(cfg.jsonPath, res); err != nil {
			fmt.Fprintf(stderr, "gander-bench: %v\n", err)
			return 1
		}
	}
	if cfg.svgPath != "" {
		if err := os.WriteFile(cfg.svgPath, svgChart(res), 0o644); err != nil {
			fmt.Fprintf(stderr, "gander-bench: %v\n", err)
			return 1
		}
	}
	return 0
}

func parseFlags(scenario string, args []string, stderr io.Writer) (*options, error) {
	known := false
	for _, s := range scenarios {
		known = known || s == scenario
	}
	if !known {
		return nil, fmt.Errorf("unknown scenario %q (want one of %s, or report)", scenario, strings.Join(scenarios, ", "))
	}
	c := &options{scenario: scenario}
	fs := flag.NewFlagSet(scenario, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.server, "server", "127.0.0.1:5222", "c2s `address` (loopback only)")
	fs.StringVar(&c.domain, "domain", "localhost", "XMPP `domain` of the accounts")
	fs.IntVar(&c.users, "users", 1000, "`number` of accounts: PREFIX1 .. PREFIXN")
	fs.StringVar(&c.prefix, "user-prefix", "bench", "account localpart `prefix`")
	fs.StringVar(&c.pass, "password", "benchpass", "`password` of every account")
	fs.StringVar(&c.tlsMode, "tls", "starttls", "starttls or none (certificates are not verified)")
	fs.StringVar(&c.mech, "mech", "SCRAM-SHA-1", "SASL `mechanism`: SCRAM-SHA-1, SCRAM-SHA-256 or PLAIN")
	srcs := fs.String("source-addrs", "127.0.0.1", "comma-separated local `addresses` to spread connections over")
	fs.IntVar(&c.loginConc, "login-concurrency", 100, "parallel logins")
	fs.IntVar(&c.pid, "pid", 0, "server `pid` to sample in /proc (0: no server figures)")
	fs.StringVar(&c.dbProc, "db-proc", "", "chat/muclight: also report per step the CPU of every process with this command `name` (e.g. postgres, a database on this machine)")
	fs.StringVar(&c.label, "label", "", "`label` copied into the JSON (e.g. gander-sqlite)")
	fs.StringVar(&c.jsonPath, "json", "", "write the result as JSON to `file`")
	fs.StringVar(&c.svgPath, "svg", "", "write an SVG chart to `file`")
	fs.BoolVar(&c.quiet, "quiet", false, "no progress line on stderr")
	fs.DurationVar(&c.maxDur, "max-duration", 10*time.Minute, "hard bound on the whole run")
	rates := fs.String("rates", "1000,2000,4000", "chat/muclight: comma-separated total msgs/s steps")
	fs.DurationVar(&c.stepDur, "step-duration", 20*time.Second, "chat/muclight: length of each step")
	fs.DurationVar(&c.warmup, "warmup", 3*time.Second, "chat/muclight: start of each step not counted")
	fs.BoolVar(&c.allSteps, "all-steps", false, "chat/muclight: run every step even after one is not sustained")
	fs.IntVar(&c.turns, "turns", 1, "chat/muclight: `number` of generators taking turns, each loading its own server while the others wait (see --turn)")
	fs.IntVar(&c.turn, "turn", 0, "chat/muclight: this generator's turn, 0 .. --turns-1: its step i runs in slot i*turns+turn, the slots being --turn-length long from --turn-start")
	turnStart := fs.Int64("turn-start", 0, "chat/muclight: with --turns, the start of slot 0 in `unix seconds` (after every generator's logins)")
	fs.DurationVar(&c.turnLen, "turn-length", 0, "chat/muclight: with --turns, the length of a slot (at least --step-duration plus 2s of draining)")
	fs.DurationVar(&c.settle, "settle", 10*time.Second, "idle: wait before reading the server's memory")
	fs.DurationVar(&c.hold, "hold", 5*time.Second, "idle: keep the connections this long after measuring")
	fs.IntVar(&c.roomSize, "room-size", 10, "muclight: members per room")
	fs.StringVar(&c.mucService, "muclight-service", "", "muclight: MUC Light service `domain` (default muclight.DOMAIN)")
	fs.DurationVar(&c.inboxEvery, "inbox-query-every", 0, "muclight: each user queries its inbox this often (0: never)")
	fs.StringVar(&c.inboxNS, "inbox-ns", nsInbox, "muclight: inbox `namespace` (urn:xmpp:inbox:1 for XEP-0430 servers)")
	fs.StringVar(&c.adminURL, "admin-url", "http://127.0.0.1:5551/api/graphql", "broadcast: Gander admin GraphQL `url`")
	fs.StringVar(&c.adminUser, "admin-user", "", "broadcast: admin API user")
	fs.StringVar(&c.adminPass, "admin-pass", "", "broadcast: admin API password")
	fs.IntVar(&c.bcastRate, "broadcast-rate", 1000, "broadcast: job rate in msgs/s")
	fs.StringVar(&c.mamWith, "mam-with", "measured@localhost", "mam: the `JID` each user's queried conversation is with")
	fs.IntVar(&c.mamQueries, "mam-queries", 1000, "mam: `number` of queries, each by a random user")
	fs.IntVar(&c.mamConc, "mam-concurrency", 1, "mam: queries in flight at once")
	fs.IntVar(&c.mamMax, "mam-max", 50, "mam: page size (<max/>)")
	fs.StringVar(&c.scramFile, "scram-cache", "", "load and save SCRAM salted passwords in `file`, so later runs skip PBKDF2")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write the generator's CPU profile to `file` (to check its own cost)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := loopbackHostPort(c.server); err != nil {
		return nil, fmt.Errorf("--server: %w", err)
	}
	if c.users < 1 {
		return nil, errors.New("--users must be at least 1")
	}
	if c.tlsMode != "starttls" && c.tlsMode != "none" {
		return nil, fmt.Errorf("--tls %q: want starttls or none", c.tlsMode)
	}
	switch c.mech {
	case "SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN":
	default:
		return nil, fmt.Errorf("--mech %q: want SCRAM-SHA-1, SCRAM-SHA-256 or PLAIN", c.mech)
	}
	for _, s := range strings.Split(*srcs, ",") {
		ip := net.ParseIP(strings.TrimSpace(s))
		if ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("--source-addrs: %q is not a loopback address", s)
		}
		c.srcs = append(c.srcs, ip)
	}
	for _, s := range strings.Split(*rates, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("--rates: bad rate %q", s)
		}
		c.rates = append(c.rates, r)
	}
	if c.loginConc < 1 {
		c.loginConc = 1
	}
	if c.warmup >= c.stepDur {
		return nil, errors.New("--warmup must be shorter than --step-duration")
	}
	if c.turns < 1 || c.turn < 0 || c.turn >= c.turns {
		return nil, errors.New("--turn must be between 0 and --turns-1")
	}
	if c.turns > 1 {
		if *turnStart <= 0 {
			return nil, errors.New("--turns needs --turn-start")
		}
		if c.turnLen < c.stepDur+drainWait {
			return nil, fmt.Errorf("--turn-length must be at least --step-duration plus %s", drainWait)
		}
		c.turnStart = time.Unix(*turnStart, 0)
	}
	if c.roomSize < 2 {
		return nil, errors.New("--room-size must be at least 2")
	}
	if c.mucService == "" {
		c.mucService = "muclight." + c.domain
	}
	if c.scenario == "broadcast" {
		u, err := url.Parse(c.adminURL)
		if err != nil {
			return nil, fmt.Errorf("--admin-url: %w", err)
		}
		if err := loopbackHost(u.Hostname()); err != nil {
			return nil, fmt.Errorf("--admin-url: %w", err)
		}
	}
	return c, nil
}

// loopbackHostPort refuses an address whose host is not loopback: the
// generator is a local benchmark, not a tool to load someone's server.
func loopbackHostPort(hp string) error {
	h, _, err := net.SplitHostPort(hp)
	if err != nil {
		return err
	}
	return loopbackHost(h)
}

func loopbackHost(h string) error {
	if h == "localhost" {
		return nil
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q is not a loopback address", h)
}

// execute runs the scenario within --max-duration.
func execute(cfg *options, stderr io.Writer) (*benchreport.Result, error) {
	if err := raiseNoFile(); err != nil {
		fmt.Fprintf(stderr, "gander-bench: raising the open files limit: %v\n", err)
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	cfg.cache = newSCRAMCache()
	if cfg.scramFile != "" {
		if err := cfg.cache.load(cfg.scramFile); err != nil {
			return nil, err
		}
		defer func() {
			if err := cfg.cache.save(cfg.scramFile); err != nil {
				fmt.Fprintf(stderr, "gander-bench: %v\n", err)
			}
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.maxDur)
	defer cancel()
	b := newBench(cfg, stderr)
	b.startSampler(ctx)
	var err error
	switch cfg.scenario {
	case "register":
		err = b.register(ctx)
	case "login":
		err = b.loginScenario(ctx)
	case "chat":
		err = b.chat(ctx)
	case "idle":
		err = b.idle(ctx)
	case "spike":
		err = b.spike(ctx)
	case "muclight":
		err = b.muclight(ctx)
	case "broadcast":
		err = b.broadcast(ctx)
	case "mam":
		err = b.mam(ctx)
	}
	b.stopSampler()
	b.closeAll()
	if ctx.Err() != nil {
		b.addErr(fmt.Errorf("stopped by --max-duration %v", cfg.maxDur))
	}
	if err != nil {
		b.addErr(err)
	}
	b.finish()
	return b.res, nil
}
