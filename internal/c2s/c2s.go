// Package c2s accepts XMPP client connections (RFC 6120): stream
// negotiation, STARTTLS, SASL, resource binding, and then one reader and one
// writer goroutine per connection with a bounded outbound queue.
package c2s

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/router"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// TLS modes of a listener (spec/server.md §5.2).
const (
	TLSNone             = ""
	TLSStartTLS         = "starttls"
	TLSStartTLSRequired = "starttls_required"
	TLSDirect           = "tls"
)

// Options configure one listener.
type Options struct {
	// Addr is the address to listen on, e.g. "127.0.0.1:5222".
	Addr string
	// TLSMode is one of the TLS constants; TLSConfig is needed unless
	// TLSMode is TLSNone.
	TLSMode   string
	TLSConfig *tls.Config
	// MaxStanzaSize caps one stanza in bytes (0: no cap).
	MaxStanzaSize int
	// StateTimeout bounds each step of stream negotiation and SASL.
	StateTimeout time.Duration
	// QueueSize bounds a session's outbound queue.
	QueueSize int
	// Mechanisms are the SASL mechanisms offered, in order.
	Mechanisms []string
	// AllowPlainWithoutTLS offers PLAIN on unencrypted streams too.
	AllowPlainWithoutTLS bool
	// MaxAuthFailures is the number of failed SASL attempts after which
	// the stream is closed (RFC 6120 §6.4.5 asks for 2 to 5 retries).
	MaxAuthFailures int
	// BytesPerSecond limits how fast one connection's input is read (0: no
	// limit); the reader slows down, it never drops the connection.
	BytesPerSecond int
	// MaxConnections caps concurrent connections on this listener (0: no
	// cap). A connection over the cap gets the stream error
	// resource-constraint and is closed at once.
	MaxConnections int
}

// Presence is the presence feature as the c2s needs it.
type Presence interface {
	// FromClient handles presence a session sent without a to address
	// (broadcast) or with one (directed).
	FromClient(ctx context.Context, s router.Session, el *xmlstream.Element)
	// Gone handles a session that ends while available: unavailable
	// presence to contacts and to directed recipients.
	Gone(ctx context.Context, s router.Session, status string)
}

// Metrics receives connection-level counts. Implementations must be safe
// for concurrent use.
type Metrics interface {
	Connected(delta int)
	Login(mechanism string, ok bool)
	XMLError()
	QueueDropped()
	SessionCount(delta int)
	// Refused counts connections closed because the listener was full.
	Refused()
}

// Authenticator starts SASL exchanges. Implementations must be safe for
// concurrent use; an Exchange is used by one connection only.
type Authenticator interface {
	// NewExchange starts mechanism mech for a user of domain server.
	NewExchange(mech, server string) (Exchange, error)
	// Condition maps an error from an exchange to a SASL failure
	// condition of RFC 6120 §6.5 (e.g. "not-authorized").
	Condition(err error) string
}

// Exchange is one SASL authentication in progress.
type Exchange interface {
	// Step consumes the client's decoded response and returns the next
	// challenge or, when done, the additional data for <success/>.
	Step(ctx context.Context, in []byte) (out []byte, done bool, err error)
	// Username is the authenticated localpart once done.
	Username() string
}

// Deps are the collaborators of the listeners.
type Deps struct {
	Log      *slog.Logger
	Domains  []string
	Auth     Authenticator
	Router   *router.Router
	Hooks    *hooks.Hooks
	Presence Presence
	Metrics  Metrics
}

// Listener is one client listener.
type Listener struct {
	opts Options
	deps Deps
	ln   net.Listener

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[*conn]struct{}

	// writeBufs holds the write buffers of sessions that are writing; an
	// idle session holds none (see Session.writer).
	writeBufs sync.Pool
}

// New returns a listener; Start binds it.
func New(opts Options, deps Deps) *Listener {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1000
	}
	if opts.StateTimeout <= 0 {
		opts.StateTimeout = 5 * time.Second
	}
	if opts.MaxAuthFailures <= 0 {
		opts.MaxAuthFailures = 3
	}
	if deps.Metrics == nil {
		deps.Metrics = nopMetrics{}
	}
	l := &Listener{opts: opts, deps: deps, conns: map[*conn]struct{}{}}
	l.writeBufs.New = func() any { return bufio.NewWriterSize(nil, 8192) }
	return l
}

// Addr is the bound address, nil before Start.
func (l *Listener) Addr() net.Addr {
	if l.ln == nil {
		return nil
	}
	return l.ln.Addr()
}

// Start binds the port and accepts connections until Stop.
func (l *Listener) Start(ctx context.Context) error {
	if l.opts.TLSMode != TLSNone && l.opts.TLSConfig == nil {
		return errors.New("c2s: TLS mode without TLS configuration")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", l.opts.Addr)
	if err != nil {
		return err
	}
	l.ln = ln
	l.ctx, l.cancel = context.WithCancel(context.WithoutCancel(ctx))
	l.wg.Add(1)
	go l.accept()
	l.deps.Log.Info("c2s listening", "addr", ln.Addr().String(), "tls", l.opts.TLSMode)
	return nil
}

func (l *Listener) accept() {
	defer l.wg.Done()
	backoff := 5 * time.Millisecond
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if l.ctx.Err() != nil {
				return
			}
			// Back off on errors such as EMFILE instead of spinning.
			l.deps.Log.Warn("c2s accept failed", "err", err, "backoff", backoff)
			select {
			case <-time.After(backoff):
			case <-l.ctx.Done():
				return
			}
			backoff = min(backoff*2, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		c := newConn(l, nc)
		l.mu.Lock()
		full := l.opts.MaxConnections > 0 && len(l.conns) >= l.opts.MaxConnections
		if !full {
			l.conns[c] = struct{}{}
		}
		l.mu.Unlock()
		if full {
			l.deps.Metrics.Refused()
			l.deps.Log.Warn("c2s connection refused: max_connections reached",
				"addr", l.ln.Addr().String(), "remote", nc.RemoteAddr().String(), "max_connections", l.opts.MaxConnections)
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				c.refuse()
			}()
			continue
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			c.serve()
			l.mu.Lock()
			delete(l.conns, c)
			l.mu.Unlock()
		}()
	}
}

// Stop closes the listener and every connection with the stream error
// system-shutdown, then waits for them to finish or ctx to end.
func (l *Listener) Stop(ctx context.Context) error {
	if l.ln == nil {
		return nil
	}
	l.cancel()
	l.ln.Close()
	l.mu.Lock()
	conns := make([]*conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.shutdown("system-shutdown", "")
	}
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		for c := range l.conns {
			c.nc.Close()
		}
		l.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

type nopMetrics struct{}

func (nopMetrics) Connected(int)      {}
func (nopMetrics) Login(string, bool) {}
func (nopMetrics) XMLError()          {}
func (nopMetrics) QueueDropped()      {}
func (nopMetrics) SessionCount(int)   {}
func (nopMetrics) Refused()           {}
