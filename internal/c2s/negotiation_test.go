package c2s

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/router"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/wait"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// These tests drive the negotiation state machine (RFC 6120 §4-§7) over
// real loopback TCP connections, with a client written here on top of
// encoding/xml: each state, its timeout and its limits. The end-to-end
// suite in internal/server covers the same paths with real client
// libraries; these pin the states one by one and fail at the state that
// broke.

const password = "secret"

// testAuth is an authenticator with two mechanisms: PLAIN (password
// "secret" for everybody) and X-TWO-STEP, which sends one challenge and
// succeeds when the response is "ok".
type testAuth struct{}

func (testAuth) NewExchange(mech, _ string) (Exchange, error) {
	switch mech {
	case "PLAIN":
		return &plainExchange{}, nil
	case "X-TWO-STEP":
		return &twoStep{}, nil
	}
	return nil, errors.New("unknown mechanism")
}

func (testAuth) Condition(error) string { return "not-authorized" }

type plainExchange struct{ user string }

func (p *plainExchange) Step(_ context.Context, in []byte) ([]byte, bool, error) {
	parts := bytes.Split(in, []byte{0})
	if len(parts) != 3 || string(parts[2]) != password {
		return nil, false, errors.New("bad credentials")
	}
	p.user = string(parts[1])
	return nil, true, nil
}

func (p *plainExchange) Username() string { return p.user }

type twoStep struct{ step int }

func (s *twoStep) Step(_ context.Context, in []byte) ([]byte, bool, error) {
	s.step++
	if s.step == 1 {
		return []byte("more"), false, nil
	}
	if string(in) != "ok" {
		return nil, false, errors.New("wrong answer")
	}
	return nil, true, nil
}

func (s *twoStep) Username() string { return "two" }

// testMetrics counts what the listener reports.
type testMetrics struct {
	nopMetrics
	ok, failed, refused atomic.Int32
}

func (m *testMetrics) Login(_ string, ok bool) {
	if ok {
		m.ok.Add(1)
	} else {
		m.failed.Add(1)
	}
}

func (m *testMetrics) Refused() { m.refused.Add(1) }

type env struct {
	l       *Listener
	r       *router.Router
	metrics *testMetrics
	tls     *tls.Config // the server's; clients skip verification
}

// start runs a listener on 127.0.0.1:0 with opts (addresses, timeouts and
// mechanisms filled in when zero) and stops it when the test ends.
func start(t *testing.T, opts Options) *env {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	h := &hooks.Hooks{}
	reg := iq.NewRegistry(log)
	t.Cleanup(reg.Close)
	e := &env{r: router.New(log, []string{"localhost"}, h, reg, nil, nil), metrics: &testMetrics{}}
	opts.Addr = "127.0.0.1:0"
	if opts.StateTimeout == 0 {
		opts.StateTimeout = 5 * time.Second
	}
	if opts.Mechanisms == nil {
		opts.Mechanisms = []string{"PLAIN", "X-TWO-STEP"}
	}
	if opts.TLSMode != TLSNone {
		e.tls = serverTLS(t)
		opts.TLSConfig = e.tls
	}
	e.l = New(opts, Deps{Log: log, Domains: []string{"localhost"}, Auth: testAuth{}, Router: e.r, Hooks: h, Metrics: e.metrics})
	require.NoError(t, e.l.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, e.l.Stop(ctx))
	})
	return e
}

// serverTLS is a self-signed certificate for localhost.
func serverTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
}

// client is a minimal XMPP client over one connection.
type client struct {
	t    *testing.T
	conn net.Conn
	dec  *xml.Decoder
}

// element is one top-level element the server sent.
type element struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Inner   string     `xml:",innerxml"`
}

func (e element) attr(name string) string {
	for _, a := range e.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// has reports whether the element's content mentions s (a child's name,
// a namespace, a text).
func (e element) has(s string) bool { return strings.Contains(e.Inner, s) }

func (e *env) dial(t *testing.T) *client {
	t.Helper()
	conn, err := net.Dial("tcp", e.l.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	return &client{t: t, conn: conn, dec: xml.NewDecoder(conn)}
}

func (c *client) send(s string) {
	c.t.Helper()
	_, err := io.WriteString(c.conn, s)
	require.NoError(c.t, err)
}

// open sends a stream header to domain and returns the server's header.
func (c *client) open(domain string) xml.StartElement {
	c.t.Helper()
	c.send(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='` + domain + `' version='1.0'>`)
	return c.header()
}

// header reads the server's stream header.
func (c *client) header() xml.StartElement {
	c.t.Helper()
	for {
		tok, err := c.dec.Token()
		require.NoError(c.t, err, "reading the stream header")
		if se, ok := tok.(xml.StartElement); ok {
			require.Equal(c.t, xml.Name{Space: stanza.NSStream, Local: "stream"}, se.Name)
			return se
		}
	}
}

// next reads the next top-level element; ok is false when the server
// closed its stream (</stream:stream>) or the connection.
func (c *client) next() (el element, ok bool) {
	c.t.Helper()
	for {
		tok, err := c.dec.Token()
		if err != nil {
			return element{}, false
		}
		switch x := tok.(type) {
		case xml.StartElement:
			require.NoError(c.t, c.dec.DecodeElement(&el, &x))
			return el, true
		case xml.EndElement:
			return element{}, false
		}
	}
}

// expect reads the next element and checks its namespace and name.
func (c *client) expect(space, local string) element {
	c.t.Helper()
	el, ok := c.next()
	require.True(c.t, ok, "stream ended, expected <%s xmlns='%s'>", local, space)
	require.Equal(c.t, xml.Name{Space: space, Local: local}, el.XMLName, "element: %s", el.Inner)
	return el
}

// expectStreamError reads a stream error with cond, then the end of the
// stream and of the connection.
func (c *client) expectStreamError(cond string) element {
	c.t.Helper()
	el := c.expect(stanza.NSStream, "error")
	require.True(c.t, el.has("<"+cond+" xmlns=\""+stanza.NSStreams+"\""), "stream error %s, got %s", cond, el.Inner)
	c.expectClosed()
	return el
}

// expectClosed checks that the server ends its stream and the connection.
func (c *client) expectClosed() {
	c.t.Helper()
	_, ok := c.next()
	require.False(c.t, ok, "more after the end of the stream")
	_, err := c.conn.Read(make([]byte, 1))
	require.Error(c.t, err, "the connection stays open")
}

func plain(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

// login authenticates with PLAIN and restarts the stream; it returns the
// features offered after authentication.
func (c *client) login(user string) element {
	c.t.Helper()
	c.expect(stanza.NSStream, "features")
	c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>` + plain(user, password) + `</auth>`)
	c.expect(stanza.NSSASL, "success")
	c.open("localhost")
	return c.expect(stanza.NSStream, "features")
}

// session waits for the session of full to be in the routing table (the
// bind result is written before the session is added).
func (e *env) session(t *testing.T, full string) router.Session {
	t.Helper()
	var s router.Session
	wait.Until(t, 5*time.Second, func() error {
		if s = e.r.Session(jid.MustParse(full)); s == nil {
			return fmt.Errorf("%s is not in the routing table", full)
		}
		return nil
	})
	return s
}

// bind binds resource and returns the bound JID.
func (c *client) bind(resource string) string {
	c.t.Helper()
	c.send(`<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>` + resource + `</resource></bind></iq>`)
	res := c.expect(stanza.NSClient, "iq")
	require.Equal(c.t, "result", res.attr("type"), res.Inner)
	require.Equal(c.t, "b1", res.attr("id"))
	var b struct {
		JID string `xml:"bind>jid"`
	}
	require.NoError(c.t, xml.Unmarshal([]byte("<x>"+res.Inner+"</x>"), &b))
	return b.JID
}

func TestStreamOpen(t *testing.T) {
	e := start(t, Options{AllowPlainWithoutTLS: true})
	c := e.dial(t)
	h := c.open("LocalHost")
	attrs := map[string]string{}
	for _, a := range h.Attr {
		attrs[a.Name.Local] = a.Value
	}
	require.Equal(t, "localhost", attrs["from"], "the domain, normalised")
	require.Equal(t, "1.0", attrs["version"])
	require.NotEmpty(t, attrs["id"])
	f := c.expect(stanza.NSStream, "features")
	require.True(t, f.has(`<mechanisms xmlns="`+stanza.NSSASL+`"><mechanism>PLAIN</mechanism>`), f.Inner)
	require.True(t, f.has(">X-TWO-STEP<"), f.Inner)
	require.False(t, f.has("starttls"), "no TLS configured")
}

func TestStreamHeaderErrors(t *testing.T) {
	e := start(t, Options{AllowPlainWithoutTLS: true})
	for _, tc := range []struct {
		name, header, cond string
	}{
		{"unknown host", `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='elsewhere.example' version='1.0'>`, "host-unknown"},
		{"wrong default namespace", `<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`, "invalid-namespace"},
		{"wrong stream namespace", `<stream:stream xmlns='jabber:client' xmlns:stream='urn:example' to='localhost' version='1.0'>`, "invalid-namespace"},
		{"version 2", `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='2.0'>`, "unsupported-version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dial(t)
			c.send(tc.header)
			// RFC 6120 §4.9.1.2: the server opens its stream, then fails it.
			c.header()
			c.expectStreamError(tc.cond)
		})
	}
}

func TestStanzaBeforeAuthentication(t *testing.T) {
	e := start(t, Options{AllowPlainWithoutTLS: true})
	c := e.dial(t)
	c.open("localhost")
	c.expect(stanza.NSStream, "features")
	c.send(`<message to='a@localhost'><body>hi</body></message>`)
	c.expectStreamError("not-authorized") // RFC 6120 §6.4.1
}

func TestStartTLSRequired(t *testing.T) {
	e := start(t, Options{TLSMode: TLSStartTLSRequired})
	c := e.dial(t)
	c.open("localhost")
	f := c.expect(stanza.NSStream, "features")
	require.True(t, f.has("<starttls xmlns=\""+stanza.NSTLS+"\"><required"), f.Inner)
	require.False(t, f.has("mechanism"), "no SASL before TLS when TLS is required")
	c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>` + plain("alice", password) + `</auth>`)
	c.expectStreamError("policy-violation")
}

func TestStartTLSThenPlainIsOffered(t *testing.T) {
	e := start(t, Options{TLSMode: TLSStartTLS})
	c := e.dial(t)
	c.open("localhost")
	f := c.expect(stanza.NSStream, "features")
	require.True(t, f.has("starttls"), f.Inner)
	require.False(t, f.has(">PLAIN<"), "PLAIN is not offered on a plain stream")
	require.True(t, f.has(">X-TWO-STEP<"), f.Inner)
	c.send(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`)
	c.expect(stanza.NSTLS, "proceed")
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
	require.NoError(t, tc.Handshake())
	c.conn, c.dec = tc, xml.NewDecoder(tc)
	require.NoError(t, tc.SetDeadline(time.Now().Add(10*time.Second)))
	c.open("localhost")
	f = c.login("alice")
	require.True(t, f.has("<bind xmlns=\""+stanza.NSBind+"\""), f.Inner)
	full := c.bind("phone")
	s := e.session(t, full)
	require.Equal(t, "c2s_tls", s.Info().Connection, "the session knows it is encrypted")
}

func TestDataAfterStartTLSIsRefused(t *testing.T) {
	e := start(t, Options{TLSMode: TLSStartTLS})
	c := e.dial(t)
	c.open("localhost")
	c.expect(stanza.NSStream, "features")
	// Plaintext pipelined after <starttls/> could be injected by a man in
	// the middle; the server must not carry it into the TLS session.
	c.send(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><message/>`)
	c.expect(stanza.NSTLS, "proceed")
	c.expectStreamError("policy-violation")
}

func TestSASLSuccessBindAndSession(t *testing.T) {
	e := start(t, Options{AllowPlainWithoutTLS: true})
	c := e.dial(t)
	c.open("localhost")
	f := c.login("alice")
	require.True(t, f.has("<bind"), f.Inner)
	require.True(t, f.has("<session xmlns=\""+stanza.NSSession+"\"><optional"), f.Inner)
	require.False(t, f.has("mechanism"), "no SASL after authentication")
	// Only binding is allowed before a resource is bound.
	c.send(`<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>`)
	res := c.expect(stanza.NSClient, "iq")
	require.Equal(t, "error", res.attr("type"))
	require.True(t, res.has("not-authorized"), res.Inner)
	full := c.bind("phone")
	require.Equal(t, "alice@localhost/phone", full)
	info := e.session(t, full).Info()
	require.Equal(t, "c2s", info.Connection)
	require.Equal(t, "127.0.0.1", info.Addr.Addr().String())
	require.NotZero(t, info.Addr.Port())
	require.False(t, info.Available, "no presence sent yet")
	require.EqualValues(t, 1, e.metrics.ok.Load())
	// Legacy session establishment answers at once (RFC 3921 §3).
	c.send(`<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>`)
	require.Equal(t, "result", c.expect(stanza.NSClient, "iq").attr("type"))
}

func TestBindGeneratesAResource(t *testing.T) {
	e := start(t, Options{AllowPlainWithoutTLS: true})
	c := e.dial(t)
	c.open("localhost")
	c.login("alice")
	c.send(`<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>`)
	res := c.expect(stanza.NSClient, "iq")
	require.Equal(t, "result", res.attr("type"))
	require.Regexp(t, `<jid>alice@localhost/[0-9a-f]{16}</jid>`, res.Inner)
}

func TestSASLFailures(t *testing.T) {
	e := start(t, Options{AllowPlainWithoutTLS: true, MaxAuthFailures: 3})
	c := e.dial(t)
	c.open("localhost")
	c.expect(stanza.NSStream, "features")
	c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'/>`)
	require.True(t, c.expect(stanza.NSSASL, "failure").has("invalid-mechanism"))
	c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>***</auth>`)
	require.True(t, c.expect(stanza.NSSASL, "failure").has("incorrect-encoding"))
	// The third failure reaches the limit: the failure, then the stream
	// error (RFC 6120 §6.4.5 asks for a limited number of retries).
	c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>` + plain("alice", "wrong") + `</auth>`)
	require.True(t, c.expect(stanza.NSSASL, "failure").has("not-authorized"))
	el := c.expectStreamError("policy-violation")
	require.True(t, el.has("too many failed authentication attempts"), el.Inner)
	require.EqualValues(t, 3, e.metrics.failed.Load())
	require.Zero(t, e.metrics.ok.Load())
}

func TestSASLRetryAfterFailureSucceeds(t *testing.T) {
	e := start(t, Options{AllowPlainWithoutTLS: true})
	c := e.dial(t)
	c.open("localhost")
	c.expect(stanza.NSStream, "features")
	c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>` + plain("alice", "wrong") + `</auth>`)
	require.True(t, c.expect(stanza.NSSASL, "failure").has("not-authorized"))
	c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>` + plain("alice", password) + `</auth>`)
	c.expect(stanza.NSSASL, "success")
}

func TestSASLChallengeAbortAndResponse(t *testing.T) {
	e := start(t, Options{AllowPlainWithoutTLS: true})
	c := e.dial(t)
	c.open("localhost")
	c.expect(stanza.NSStream, "features")
	c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='X-TWO-STEP'/>`)
	ch := c.expect(stanza.NSSASL, "challenge")
	require.Equal(t, base64.StdEncoding.EncodeToString([]byte("more")), strings.TrimSpace(ch.Inner))
	c.send(`<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>`)
	require.True(t, c.expect(stanza.NSSASL, "failure").has("aborted"))
	// A new exchange on the same stream, answered this time.
	c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='X-TWO-STEP'/>`)
	c.expect(stanza.NSSASL, "challenge")
	c.send(`<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>` + base64.StdEncoding.EncodeToString([]byte("ok")) + `</response>`)
	c.expect(stanza.NSSASL, "success")
	c.open("localhost")
	c.expect(stanza.NSStream, "features")
	require.Equal(t, "two@localhost/r", c.bind("r"))
}

func TestNegotiationTimeouts(t *testing.T) {
	e := start(t, Options{AllowPlainWithoutTLS: true, StateTimeout: 300 * time.Millisecond})
	t.Run("no stream header", func(t *testing.T) {
		c := e.dial(t)
		// RFC 6120 §4.9.1.2: the server opens a stream to send the error.
		c.header()
		c.expectStreamError("connection-timeout")
	})
	t.Run("no authentication", func(t *testing.T) {
		c := e.dial(t)
		c.open("localhost")
		c.expect(stanza.NSStream, "features")
		c.expectStreamError("connection-timeout")
	})
	t.Run("no bind", func(t *testing.T) {
		c := e.dial(t)
		c.open("localhost")
		c.login("alice")
		c.expectStreamError("connection-timeout")
	})
	t.Run("a bound session has no negotiation deadline", func(t *testing.T) {
		c := e.dial(t)
		c.open("localhost")
		c.login("alice")
		full := c.bind("r")
		// Three state timeouts later the session still answers.
		time.Sleep(900 * time.Millisecond) // the absence of a timeout is what is tested
		c.send(`<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>`)
		require.Equal(t, "result", c.expect(stanza.NSClient, "iq").attr("type"))
		e.session(t, full)
	})
}

func TestMaxConnections(t *testing.T) {
	e := start(t, Options{AllowPlainWithoutTLS: true, MaxConnections: 1})
	first := e.dial(t)
	first.open("localhost")
	first.expect(stanza.NSStream, "features") // the first is being served
	second := e.dial(t)
	second.header()
	second.expectStreamError("resource-constraint")
	require.EqualValues(t, 1, e.metrics.refused.Load())
}

func TestKickAndReplace(t *testing.T) {
	e := start(t, Options{AllowPlainWithoutTLS: true})
	login := func(res string) (*client, router.Session) {
		c := e.dial(t)
		c.open("localhost")
		c.login("alice")
		return c, e.session(t, c.bind(res))
	}
	c, s := login("one")
	s.Kick("maintenance")
	el := c.expectStreamError("policy-violation")
	require.True(t, el.has(">maintenance<"), el.Inner)
	wait.Until(t, 5*time.Second, func() error {
		if e.r.Session(jid.MustParse("alice@localhost/one")) != nil {
			return errors.New("the kicked session is still in the routing table")
		}
		return nil
	})

	old, _ := login("two")
	newer := e.dial(t)
	newer.open("localhost")
	newer.login("alice")
	newer.bind("two")
	el = old.expectStreamError("conflict")
	require.True(t, el.has("Replaced by new connection"), el.Inner)
	newer.send(`<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>`)
	require.Equal(t, "result", newer.expect(stanza.NSClient, "iq").attr("type"))
}

// TestStopWakesARateLimitedReader: a connection whose reader waits for its
// shaper (a few bytes per second) does not hold the listener's Stop: the
// wait ends with the connection. It used to wait on context.Background()
// for as long as the shaper said.
func TestStopWakesARateLimitedReader(t *testing.T) {
	e := start(t, Options{AllowPlainWithoutTLS: true, BytesPerSecond: 10})
	c := e.dial(t)
	c.open("localhost")
	c.expect(stanza.NSStream, "features")
	// 8 KiB of whitespace: the limiter's burst is 4 KiB, of which the
	// stream header took some, so the reader waits some 15 s for the
	// shaper before it may go on.
	c.send(strings.Repeat(" ", 8192))
	time.Sleep(200 * time.Millisecond) // let the reader reach the wait (a later Stop is what is tested)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	begin := time.Now()
	require.NoError(t, e.l.Stop(ctx), "Stop waited for the shaper")
	require.Less(t, time.Since(begin), 3*time.Second)
}

// TestSendTrackedIsDeliveredByThePingAnswer: a stanza queued with
// SendTracked is delivered only when the client answers the ping the
// server writes after it (a result or an error both prove the client read
// the stream up to there); the answer is consumed by the session.
func TestSendTrackedIsDeliveredByThePingAnswer(t *testing.T) {
	e := start(t, Options{AllowPlainWithoutTLS: true})
	for _, answer := range []string{"result", "error"} {
		t.Run(answer, func(t *testing.T) {
			c := e.dial(t)
			c.open("localhost")
			c.login("alice")
			s := e.session(t, c.bind(answer))
			fate := make(chan bool, 2)
			msg := func(id string) *xmlstream.Element {
				return xmlstream.New(stanza.NSClient, "message", "id", id, "from", "bob@localhost/x", "to", "alice@localhost/"+answer)
			}
			require.True(t, s.SendTracked(msg("t1"), func(ok bool) { fate <- ok }))
			require.True(t, s.SendTracked(msg("t2"), func(ok bool) { fate <- ok }))
			// The writer may flush between the two (a ping after each) or
			// once: read up to the ping that follows t2.
			var ping element
			var msgs []string
			for ping.attr("id") == "" || len(msgs) < 2 {
				el, ok := c.next()
				require.True(t, ok, "stream ended")
				switch el.XMLName.Local {
				case "message":
					msgs = append(msgs, el.attr("id"))
					ping = element{}
				case "iq":
					ping = el
				}
			}
			require.Equal(t, []string{"t1", "t2"}, msgs)
			require.Equal(t, "get", ping.attr("type"))
			require.Equal(t, "localhost", ping.attr("from"))
			require.True(t, ping.has("urn:xmpp:ping"), ping.Inner)
			select {
			case ok := <-fate:
				t.Fatalf("fate %v before the client answered", ok)
			default:
			}
			c.send(`<iq type='` + answer + `' id='` + ping.attr("id") + `' to='localhost'/>`)
			require.True(t, <-fate)
			require.True(t, <-fate)
			// The answer went no further: the next stanza is the answer to
			// this IQ, not an error about the consumed one.
			c.send(`<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>`)
			res := c.expect(stanza.NSClient, "iq")
			require.Equal(t, "s1", res.attr("id"))
		})
	}
}

// TestSendTrackedFailsWhenTheClientGoes: a client that drops its
// connection without answering the ping (without reading, or after
// reading) does not get its tracked stanzas counted as delivered, and a
// session that ended refuses new ones.
func TestSendTrackedFailsWhenTheClientGoes(t *testing.T) {
	e := start(t, Options{AllowPlainWithoutTLS: true})
	c := e.dial(t)
	c.open("localhost")
	c.login("alice")
	s := e.session(t, c.bind("r"))
	fate := make(chan bool, 1)
	require.True(t, s.SendTracked(xmlstream.New(stanza.NSClient, "message", "id", "t1"), func(ok bool) { fate <- ok }))
	c.expect(stanza.NSClient, "message")
	c.expect(stanza.NSClient, "iq") // the ping, left unanswered
	c.conn.Close()
	require.False(t, <-fate)
	require.False(t, s.SendTracked(xmlstream.New(stanza.NSClient, "message"), func(bool) { t.Error("done called for a refused stanza") }))
}
