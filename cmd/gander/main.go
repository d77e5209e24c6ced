// Command gander is the Gander XMPP server.
//
// Usage:
//
//	gander [serve] [--config FILE] [--data-dir DIR]   run the server (default)
//	gander check-config FILE                          validate a configuration file
//	gander print-default-config                       print the built-in configuration
//	gander register --username U --password P         create an account
//	gander register --prefix P --count N --password P   create accounts P1..PN
//	gander ctl CATEGORY COMMAND [--ARG VALUE ...]     call the admin GraphQL API
//	gander version                                    print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gander-xmpp/gander/internal/auth"
	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/server"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `Gander is an XMPP server compatible with MongooseIM's configuration.

Usage:
  gander [serve] [flags]              run the server (with no config: the built-in default)
  gander check-config FILE            validate a configuration file and exit
  gander print-default-config         print the built-in default configuration
  gander register [flags]             create accounts directly in the database (--count: in bulk)
  gander ctl CATEGORY COMMAND [args]  call the admin GraphQL API (gander ctl --help)
  gander version                      print the version

Run 'gander COMMAND --help' for the flags of a command.
`

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprint(stdout, usage)
		return 0
	}
	switch cmd {
	case "serve":
		return serve(args, stderr)
	case "check-config":
		return checkConfig(args, stdout, stderr)
	case "print-default-config":
		fmt.Fprint(stdout, config.DefaultTOML)
		return 0
	case "register":
		return register(args, stdout, stderr)
	case "ctl":
		return ctl(args, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "gander %s\n", server.Version)
		return 0
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "gander: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

type common struct {
	config  string
	dataDir string
	level   string
}

func (c *common) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", "", "MongooseIM-style TOML configuration `file` (default: the built-in configuration)")
	fs.StringVar(&c.dataDir, "data-dir", "", "`directory` for the embedded database and generated certificate (default: general.data_dir, else $XDG_DATA_HOME/gander or ~/.local/share/gander)")
	fs.StringVar(&c.level, "log-level", "", "log level: debug, info, warning or error (default: general.loglevel)")
}

func (c *common) load() (*config.Config, error) {
	if c.config == "" {
		return config.Default(), nil
	}
	return config.Load(c.config)
}

// resolveDataDir returns the data directory, as an absolute path: the
// --data-dir flag, else general.data_dir (relative to the configuration
// file), else config.DefaultDataDir. It never depends on the current
// directory unless the flag is relative (docs/configuration.md).
func (c *common) resolveDataDir(cfg *config.Config) (string, error) {
	dir := c.dataDir
	if dir == "" {
		dir = cfg.General.DataDir
	}
	if dir == "" {
		return config.DefaultDataDir()
	}
	return filepath.Abs(dir)
}

// logLevel is the --log-level flag, else general.loglevel. Running with no
// configuration is running with the built-in one (loglevel = "info"), so
// the logs are the same as with the file print-default-config writes.
func logLevel(flag string, cfg *config.Config) string {
	if flag != "" {
		return flag
	}
	return cfg.General.LogLevel
}

func logger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "info", "notice":
		l = slog.LevelInfo
	case "error", "critical", "alert", "emergency", "none":
		l = slog.LevelError
	default:
		l = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func serve(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.flags(fs)
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile (go tool pprof) to this file until shutdown")
	memprofile := fs.String("memprofile", "", "write a heap profile (go tool pprof; -sample_index=alloc_space for what was allocated since start) to this file at shutdown")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	cfg, err := c.load()
	if err != nil {
		fmt.Fprintf(stderr, "gander: %v\n", err)
		return 1
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintf(stderr, "gander: --cpuprofile: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "gander: --cpuprofile: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		if err != nil {
			fmt.Fprintf(stderr, "gander: --memprofile: %v\n", err)
			return 1
		}
		defer func() {
			if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				fmt.Fprintf(stderr, "gander: --memprofile: %v\n", err)
			}
			_ = f.Close()
		}()
	}
	log := logger(stderr, logLevel(c.level, cfg))
	dataDir, err := c.resolveDataDir(cfg)
	if err != nil {
		log.Error("start failed", "err", err)
		return 1
	}
	source := c.config
	if source == "" {
		source = "built-in (gander print-default-config)"
	}
	log.Info("gander starting", "version", server.Version, "config", source, "data_dir", dataDir)
	for _, w := range cfg.Warnings {
		log.Warn("configuration: "+w.Msg, "key", w.Key, "file", w.File, "line", w.Line)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, cfg, server.Options{DataDir: dataDir, Log: log})
	if err != nil {
		log.Error("start failed", "err", err)
		return 1
	}
	if err := srv.Start(ctx); err != nil {
		log.Error("start failed", "err", err)
		srv.Stop(context.Background())
		return 1
	}
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Stop(sctx); err != nil {
		log.Error("stop", "err", err)
		return 1
	}
	return 0
}

func checkConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "Usage: gander check-config FILE") }
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	cfg, err := config.Load(fs.Arg(0))
	if err == nil {
		// The checks serve makes before it opens the database or a socket.
		err = server.Validate(cfg)
	}
	if cfg != nil {
		for _, w := range cfg.Warnings {
			fmt.Fprintln(stderr, w)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if n := len(cfg.Warnings); n > 0 {
		fmt.Fprintf(stdout, "%s: OK, with %d warning(s)\n", fs.Arg(0), n)
		return 0
	}
	fmt.Fprintf(stdout, "%s: OK\n", fs.Arg(0))
	return 0
}

func register(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("register", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.flags(fs)
	domain := fs.String("domain", "", "XMPP `domain` of the account (default: general.default_server_domain)")
	user := fs.String("username", "", "`localpart` of the account (required unless --count)")
	pass := fs.String("password", "", "`password` of the account (required)")
	prefix := fs.String("prefix", "", "bulk mode: localpart `prefix` of the accounts PREFIX<first>..PREFIX<first+count-1>")
	count := fs.Int("count", 0, "bulk mode: `number` of accounts to create with --prefix (existing ones are skipped)")
	first := fs.Int("first", 1, "bulk mode: `number` of the first account")
	workers := fs.Int("workers", 0, "bulk mode: goroutines deriving the SCRAM credentials (0 = one per CPU)")
	create := fs.Bool("create", false, "create the embedded database if it does not exist yet (without it, a missing database is an error: the server has not run with this data directory)")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	bulk := *count > 0 || *prefix != ""
	switch {
	case *pass == "":
		fmt.Fprintln(stderr, "gander register: --password is required")
		return 2
	case bulk && (*count <= 0 || *prefix == "" || *user != ""):
		fmt.Fprintln(stderr, "gander register: bulk mode takes --prefix and a positive --count, not --username")
		return 2
	case !bulk && *user == "":
		fmt.Fprintln(stderr, "gander register: --username (or --prefix and --count) is required")
		return 2
	}
	cfg, err := c.load()
	if err != nil {
		fmt.Fprintf(stderr, "gander: %v\n", err)
		return 1
	}
	if *domain == "" {
		*domain = cfg.General.DefaultServerDomain
	}
	dataDir, err := c.resolveDataDir(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "gander register: %v\n", err)
		return 1
	}
	ctx := context.Background()
	srv, err := server.New(ctx, cfg, server.Options{DataDir: dataDir, Log: logger(stderr, "warning"), MustExist: !*create})
	if errors.Is(err, server.ErrNoDatabase) {
		fmt.Fprintf(stderr, "gander register: %v\n"+
			"The server creates its database when it first starts, in its data directory (here %s).\n"+
			"Run gander register with the same --config and --data-dir as the server, or add --create to create a new database here.\n",
			err, dataDir)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "gander: %v\n", err)
		return 1
	}
	defer srv.Stop(ctx)
	if bulk {
		return registerMany(ctx, srv.Accounts(), *domain, *prefix, *first, *count, *pass, *workers, stdout, stderr)
	}
	j, err := srv.Accounts().Register(ctx, *domain, *user, *pass)
	if err != nil {
		fmt.Fprintf(stderr, "gander register: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "User %s successfully registered\n", j)
	return 0
}

// registerMany creates PREFIX<first> .. PREFIX<first+count-1> in bulk and
// prints how many were created and how long it took.
func registerMany(ctx context.Context, acc *auth.Accounts, domain, prefix string, first, count int, pass string, workers int, stdout, stderr io.Writer) int {
	names := make([]string, count)
	for i := range names {
		names[i] = prefix + strconv.Itoa(first+i)
	}
	start := time.Now()
	created, existed, err := acc.RegisterMany(ctx, domain, names, pass, workers)
	took := time.Since(start)
	if err != nil {
		fmt.Fprintf(stderr, "gander register: after %d created: %v\n", created, err)
		return 1
	}
	fmt.Fprintf(stdout, "Registered %d accounts %s..%s@%s (%d already existed) in %.1fs\n",
		created, names[0], names[len(names)-1], domain, existed, took.Seconds())
	return 0
}

func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
