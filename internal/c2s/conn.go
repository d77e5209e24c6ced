package c2s

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// streamErr is a stream-level failure: the connection ends with this
// condition.
type streamErr struct {
	cond, text string
}

func (e *streamErr) Error() string { return "stream error " + e.cond + ": " + e.text }

func serr(cond, text string) error { return &streamErr{cond, text} }

// conn is one client connection through negotiation; once bound it owns a
// Session.
type conn struct {
	l      *Listener
	raw    net.Conn // the accepted TCP connection; closing it ends everything
	nc     net.Conn // raw, or the TLS connection over it; swapped under wmu
	br     *bufio.Reader
	dec    *xmlstream.Decoder
	domain string
	lang   string
	secure bool
	user   string   // authenticated localpart
	sess   *Session // set under wmu once bound
	// headerSent is set under wmu once the server sent a stream header.
	headerSent bool

	wmu sync.Mutex // serialises writes before the writer goroutine runs; guards nc and sess swaps
	// ctx ends when the connection ends (shutdown, or serve returning), or
	// the listener stops: every wait of the connection is bounded by it.
	ctx       context.Context
	cancel    context.CancelFunc
	closeOnce sync.Once
	stopCh    chan struct{}
	stopCond  string
	// closeStatus is the status text of the unavailable presence sent for
	// the session when it ends (spec/last.md §4.1); set with closeOnce.
	closeStatus string
}

func newConn(l *Listener, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(l.ctx)
	return &conn{l: l, raw: nc, nc: nc, stopCh: make(chan struct{}), ctx: ctx, cancel: cancel}
}

// shutdown asks the connection to end with a stream error; safe to call
// from any goroutine.
func (c *conn) shutdown(cond, text string) {
	c.closeOnce.Do(func() {
		c.stopCond = cond
		c.closeStatus = closeStatus(cond, text)
		close(c.stopCh)
		// Wake a reader waiting for the rate limiter; the writer still
		// sends the stream error.
		c.cancel()
		c.wmu.Lock()
		sess := c.sess
		c.wmu.Unlock()
		if sess != nil {
			sess.terminate(cond, text)
			return
		}
		// Still negotiating: write the error directly and close; before
		// the server's stream header, open the stream first (RFC 6120
		// §4.9.1.2).
		c.wmu.Lock()
		b := streamErrorBytes(cond, text)
		if !c.headerSent {
			b = streamHeader(c.l.deps.Domains[0], "") + b
		}
		c.nc.SetWriteDeadline(time.Now().Add(c.l.opts.StateTimeout))
		c.nc.Write([]byte(b))
		c.wmu.Unlock()
		c.raw.Close()
	})
}

// refuse answers a connection over the listener's cap: a stream header
// (RFC 6120 §4.9.1.3 lets the server open the stream first when it must
// fail it), the stream error resource-constraint, and the close. On a
// direct-TLS port it just closes: there is no stream to speak on yet.
func (c *conn) refuse() {
	defer c.nc.Close()
	if c.l.opts.TLSMode == TLSDirect {
		return
	}
	id := make([]byte, 8)
	rand.Read(id)
	h := fmt.Sprintf(`<?xml version='1.0'?><stream:stream xmlns='%s' xmlns:stream='%s' id='%s' version='1.0'>`,
		stanza.NSClient, stanza.NSStream, hex.EncodeToString(id))
	c.writeRaw([]byte(h + streamErrorBytes("resource-constraint", "too many connections")))
}

// closeStatus maps why a stream ends to the status text of the session's
// final unavailable presence, the reference's wording (spec/last.md §4.1).
func closeStatus(cond, text string) string {
	switch {
	case cond == "":
		return "Shutdown by reason: stream_end" // the client closed its stream
	case cond == "conflict" && text != "":
		return text // "Replaced by new connection"
	case text != "":
		return "Shutdown by reason: " + text // e.g. an admin kick with a reason
	default:
		return "Shutdown by reason: " + strings.ReplaceAll(cond, "-", "_")
	}
}

// status returns the close status once the connection is ending.
func (c *conn) status() string {
	c.closeOnce.Do(func() {
		c.closeStatus = "Unknown condition"
		close(c.stopCh)
	})
	return c.closeStatus
}

func streamErrorBytes(cond, text string) string {
	if cond == "" {
		return "</stream:stream>"
	}
	return string(stanza.StreamError(cond, text).BytesPrefixed("stream")) + "</stream:stream>"
}

// setNC swaps the connection for its TLS wrapper.
func (c *conn) setNC(nc net.Conn) {
	c.wmu.Lock()
	c.nc = nc
	c.wmu.Unlock()
}

func (c *conn) writeRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(c.l.opts.StateTimeout))
	_, err := c.nc.Write(b)
	return err
}

func (c *conn) write(el *xmlstream.Element) error {
	return c.writeRaw(el.Bytes(stanza.NSClient))
}

// serve runs the connection to its end.
func (c *conn) serve() {
	m := c.l.deps.Metrics
	m.Connected(1)
	defer m.Connected(-1)
	defer c.cancel()
	defer func() {
		if p := recover(); p != nil {
			c.l.deps.Log.Error("c2s connection crashed", "remote", c.nc.RemoteAddr().String(), "panic", p)
			c.shutdown("internal-server-error", "")
		}
		if c.sess != nil {
			c.sess.finish()
		}
		c.nc.Close()
	}()
	if c.l.opts.TLSMode == TLSDirect {
		tc := tls.Server(c.nc, c.l.opts.TLSConfig)
		c.nc.SetDeadline(time.Now().Add(c.l.opts.StateTimeout))
		if err := tc.Handshake(); err != nil {
			c.l.deps.Log.Debug("tls handshake failed", "remote", c.nc.RemoteAddr().String(), "err", err)
			return
		}
		c.setNC(tc)
		c.secure = true
	}
	c.resetReader()
	err := c.negotiate()
	if err == nil {
		err = c.sess.readLoop()
	}
	c.end(err)
}

// end turns the error that ended the reader into what the client sees.
func (c *conn) end(err error) {
	var se *streamErr
	switch {
	case err == nil:
	case errors.As(err, &se):
		c.shutdown(se.cond, se.text)
	case errors.Is(err, xmlstream.ErrStreamClosed):
		// The client closed its stream: close ours (RFC 6120 §4.4).
		c.shutdown("", "")
	case errors.Is(err, xmlstream.ErrStanzaTooBig):
		c.l.deps.Metrics.XMLError()
		c.shutdown("policy-violation", "stanza too big")
	case errors.Is(err, xmlstream.ErrRestricted):
		c.l.deps.Metrics.XMLError()
		c.shutdown("restricted-xml", "")
	case errors.Is(err, xmlstream.ErrNotWellFormed), errors.Is(err, xmlstream.ErrUnboundPrefix):
		c.l.deps.Metrics.XMLError()
		c.shutdown("not-well-formed", "")
	default:
		// I/O error, timeout or EOF: nothing to tell the client.
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && c.sess == nil {
			c.shutdown("connection-timeout", "")
			return
		}
		c.closeOnce.Do(func() {
			c.closeStatus = "Shutdown by reason: socket_error"
			close(c.stopCh)
		})
		if c.sess != nil {
			c.sess.terminate("", "")
		}
	}
}

// rateReader slows a connection's reads down to its shaper's rate: after a
// read it waits until the bytes read are within the rate. The wait ends
// early, with ctx's error, when the connection ends.
type rateReader struct {
	ctx context.Context
	r   io.Reader
	lim *rate.Limiter
}

func (r rateReader) Read(p []byte) (int, error) {
	if len(p) > r.lim.Burst() {
		p = p[:r.lim.Burst()]
	}
	n, err := r.r.Read(p)
	if n > 0 {
		if werr := r.lim.WaitN(r.ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

func (c *conn) resetReader() {
	var r io.Reader = c.nc
	if bps := c.l.opts.BytesPerSecond; bps > 0 {
		r = rateReader{ctx: c.ctx, r: c.nc, lim: rate.NewLimiter(rate.Limit(bps), max(bps, 4096))}
	}
	c.br = bufio.NewReaderSize(r, 4096)
}

// restart reads a new stream header on the same reader.
func (c *conn) restart() error {
	c.wmu.Lock()
	c.headerSent = false // a new stream: an error before its header needs one
	c.wmu.Unlock()
	c.dec = xmlstream.NewDecoder(c.br, c.l.opts.MaxStanzaSize)
	c.nc.SetReadDeadline(time.Now().Add(c.l.opts.StateTimeout))
	h, err := c.dec.Header()
	if err != nil {
		if errors.Is(err, xmlstream.ErrNotWellFormed) || errors.Is(err, xmlstream.ErrRestricted) || errors.Is(err, xmlstream.ErrUnboundPrefix) {
			c.sendHeader(c.l.deps.Domains[0], "")
		}
		return err
	}
	domain := strings.ToLower(h.To)
	if c.domain != "" {
		domain = c.domain
	}
	c.lang = h.Lang
	if c.lang == "" {
		c.lang = "en"
	}
	ok := slices.Contains(c.l.deps.Domains, domain)
	headerDomain := domain
	if !ok {
		headerDomain = c.l.deps.Domains[0]
	}
	if err := c.sendHeader(headerDomain, c.lang); err != nil {
		return err
	}
	switch {
	case h.Local != "stream" || h.Space != stanza.NSStream:
		return serr("invalid-namespace", "")
	case h.DefaultNS != stanza.NSClient:
		return serr("invalid-namespace", "")
	case !ok:
		return serr("host-unknown", "")
	case !versionOK(h.Version):
		return serr("unsupported-version", "")
	}
	c.domain = domain
	return nil
}

func versionOK(v string) bool {
	major, _, _ := strings.Cut(v, ".")
	return major == "1"
}

// streamHeader is the server's stream header from domain, with a new id.
func streamHeader(domain, lang string) string {
	if lang == "" {
		lang = "en"
	}
	id := make([]byte, 8)
	rand.Read(id)
	return fmt.Sprintf(`<?xml version='1.0'?><stream:stream xmlns='%s' xmlns:stream='%s' id='%s' from='%s' version='1.0' xml:lang='%s'>`,
		stanza.NSClient, stanza.NSStream, hex.EncodeToString(id), xmlstream.EscapeAttr(domain), xmlstream.EscapeAttr(lang))
}

func (c *conn) sendHeader(domain, lang string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.headerSent = true
	c.nc.SetWriteDeadline(time.Now().Add(c.l.opts.StateTimeout))
	_, err := c.nc.Write([]byte(streamHeader(domain, lang)))
	return err
}

// negotiate runs the stream up to a bound resource.
func (c *conn) negotiate() error {
	o := c.l.opts
	failures := 0
	for {
		if err := c.restart(); err != nil {
			return err
		}
		tlsOffered := !c.secure && (o.TLSMode == TLSStartTLS || o.TLSMode == TLSStartTLSRequired)
		tlsRequired := tlsOffered && o.TLSMode == TLSStartTLSRequired
		feats := xmlstream.New(stanza.NSStream, "features")
		switch {
		case c.user == "":
			if tlsOffered {
				st := xmlstream.New(stanza.NSTLS, "starttls")
				if tlsRequired {
					st.Append(xmlstream.New(stanza.NSTLS, "required"))
				}
				feats.Append(st)
			}
			if !tlsRequired {
				mechs := xmlstream.New(stanza.NSSASL, "mechanisms")
				for _, m := range c.mechanisms() {
					mechs.Append(xmlstream.New(stanza.NSSASL, "mechanism").AppendText(m))
				}
				feats.Append(mechs)
			}
		default:
			feats.Append(xmlstream.New(stanza.NSBind, "bind"))
			feats.Append(xmlstream.New(stanza.NSSession, "session").Append(xmlstream.New(stanza.NSSession, "optional")))
		}
		if err := c.writeRaw(feats.BytesPrefixed("stream")); err != nil {
			return err
		}
		if c.user != "" {
			return c.bind()
		}
		// Before authentication: STARTTLS or SASL.
	steps:
		for {
			el, err := c.next()
			if err != nil {
				return err
			}
			switch {
			case el.Space == stanza.NSTLS && el.Local == "starttls" && tlsOffered:
				if err := c.writeRaw([]byte(`<proceed xmlns='` + stanza.NSTLS + `'/>`)); err != nil {
					return err
				}
				if c.br.Buffered() > 0 {
					return serr("policy-violation", "data after starttls")
				}
				tc := tls.Server(c.nc, o.TLSConfig)
				c.nc.SetDeadline(time.Now().Add(o.StateTimeout))
				if err := tc.Handshake(); err != nil {
					return err
				}
				c.nc.SetDeadline(time.Time{})
				c.setNC(tc)
				c.secure = true
				c.resetReader()
				break steps
			case el.Space == stanza.NSSASL && el.Local == "auth" && !tlsRequired:
				ok, err := c.authenticate(el)
				if err != nil {
					return err
				}
				if ok {
					break steps
				}
				failures++
				if failures >= o.MaxAuthFailures {
					return serr("policy-violation", "too many failed authentication attempts")
				}
			case tlsRequired:
				return serr("policy-violation", "STARTTLS is required")
			default:
				// RFC 6120 §6.4.1: stanzas before authentication.
				return serr("not-authorized", "")
			}
		}
	}
}

// next reads one element with the negotiation deadline.
func (c *conn) next() (*xmlstream.Element, error) {
	c.nc.SetReadDeadline(time.Now().Add(c.l.opts.StateTimeout))
	return c.dec.Next()
}

func (c *conn) mechanisms() []string {
	var out []string
	for _, m := range c.l.opts.Mechanisms {
		if m == "PLAIN" && !c.secure && !c.l.opts.AllowPlainWithoutTLS {
			continue
		}
		out = append(out, m)
	}
	return out
}

func saslFailure(cond, text string) *xmlstream.Element {
	f := xmlstream.New(stanza.NSSASL, "failure")
	f.Append(xmlstream.New(stanza.NSSASL, cond))
	if text != "" {
		t := xmlstream.New(stanza.NSSASL, "text")
		t.Attrs = append(t.Attrs, xmlstream.Attr{Space: xmlstream.NSXML, Local: "lang", Value: "en"})
		f.Append(t.AppendText(text))
	}
	return f
}

// authenticate runs one SASL exchange (RFC 6120 §6.4); it reports success,
// or an error that ends the stream.
func (c *conn) authenticate(first *xmlstream.Element) (bool, error) {
	mech := first.Attr("mechanism")
	m := c.l.deps.Metrics
	if !slices.Contains(c.mechanisms(), mech) {
		m.Login(mech, false)
		return false, c.write(saslFailure("invalid-mechanism", ""))
	}
	ex, err := c.l.deps.Auth.NewExchange(mech, c.domain)
	if err != nil {
		m.Login(mech, false)
		return false, c.write(saslFailure("invalid-mechanism", ""))
	}
	in, ok := decodeSASL(first.Text())
	if !ok {
		m.Login(mech, false)
		return false, c.write(saslFailure("incorrect-encoding", ""))
	}
	for {
		out, done, err := ex.Step(c.ctx, in)
		if err != nil {
			m.Login(mech, false)
			c.l.deps.Log.Info("authentication failed", "mechanism", mech, "domain", c.domain, "remote", c.nc.RemoteAddr().String(), "err", err)
			return false, c.write(saslFailure(c.l.deps.Auth.Condition(err), ""))
		}
		if done {
			s := xmlstream.New(stanza.NSSASL, "success")
			if len(out) > 0 {
				s.AppendText(base64.StdEncoding.EncodeToString(out))
			}
			if err := c.write(s); err != nil {
				return false, err
			}
			c.user = ex.Username()
			m.Login(mech, true)
			return true, nil
		}
		ch := xmlstream.New(stanza.NSSASL, "challenge")
		if len(out) > 0 {
			ch.AppendText(base64.StdEncoding.EncodeToString(out))
		}
		if err := c.write(ch); err != nil {
			return false, err
		}
		resp, err := c.next()
		if err != nil {
			return false, err
		}
		if resp.Space != stanza.NSSASL {
			return false, serr("not-authorized", "")
		}
		switch resp.Local {
		case "abort":
			m.Login(mech, false)
			return false, c.write(saslFailure("aborted", ""))
		case "response":
			if in, ok = decodeSASL(resp.Text()); !ok {
				m.Login(mech, false)
				return false, c.write(saslFailure("incorrect-encoding", ""))
			}
		default:
			return false, serr("not-authorized", "")
		}
	}
}

func decodeSASL(s string) ([]byte, bool) {
	s = strings.TrimSpace(s)
	if s == "" || s == "=" {
		return nil, true
	}
	b, err := base64.StdEncoding.DecodeString(s)
	return b, err == nil
}

// bind waits for the resource binding IQ (RFC 6120 §7) and creates the
// session.
func (c *conn) bind() error {
	for {
		el, err := c.next()
		if err != nil {
			return err
		}
		if el.Local != "iq" || el.Space != stanza.NSClient {
			return serr("not-authorized", "")
		}
		p := stanza.Payload(el)
		if el.Attr("type") != "set" || p == nil || p.Space != stanza.NSBind || p.Local != "bind" {
			// Only binding is allowed before a resource is bound.
			reply := stanza.ErrorReply(el, stanza.Error{Condition: stanza.NotAuthorized})
			reply.SetAttr("from", "")
			if err := c.write(reply); err != nil {
				return err
			}
			continue
		}
		res := strings.TrimSpace(p.ChildText(stanza.NSBind, "resource"))
		if res == "" {
			b := make([]byte, 8)
			rand.Read(b)
			res = hex.EncodeToString(b)
		}
		full, err := jid.New(c.user, c.domain, res)
		if err != nil {
			reply := stanza.ErrorReply(el, stanza.Error{Condition: stanza.BadRequest, Text: "invalid resource"})
			reply.SetAttr("from", "")
			if err := c.write(reply); err != nil {
				return err
			}
			continue
		}
		r := xmlstream.New(stanza.NSClient, "iq", "type", "result", "id", el.Attr("id"))
		r.Append(xmlstream.New(stanza.NSBind, "bind").Append(xmlstream.New(stanza.NSBind, "jid").AppendText(full.String())))
		if err := c.write(r); err != nil {
			return err
		}
		c.nc.SetReadDeadline(time.Time{})
		sess := newSession(c, full)
		c.wmu.Lock()
		c.sess = sess
		c.wmu.Unlock()
		sess.start()
		return nil
	}
}
