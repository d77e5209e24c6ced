package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/sasl"
	mxs "mellium.im/xmlstream"
	"mellium.im/xmpp"
	mjid "mellium.im/xmpp/jid"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/server"
	"github.com/gander-xmpp/gander/internal/server/servertest"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// testServer is a Gander node on random loopback ports, with the XMPP
// client helpers below.
type testServer struct {
	*server.Server
	addr string
}

const password = "s3cret pässword"

// startServer runs servertest.Config() over d, with edit applied to the
// configuration first.
func startServer(t *testing.T, d *db.DB, edit func(*config.Config)) *testServer {
	t.Helper()
	cfg := servertest.Config()
	if edit != nil {
		edit(cfg)
	}
	s := servertest.Start(t, cfg, d)
	return &testServer{Server: s.Server, addr: s.Addr}
}

func (s *testServer) register(t *testing.T, users ...string) {
	t.Helper()
	for _, u := range users {
		_, err := s.Accounts().Register(context.Background(), "localhost", u, password)
		require.NoError(t, err)
	}
}

// client is a session of the independent mellium XMPP library with the
// stanzas it received collected as XML text.
type client struct {
	t       *testing.T
	jid     string   // the bound full JID
	backlog []string // received but not yet matched
	sess    *xmpp.Session
	in      chan string
	done    chan error
}

type dialOpts struct {
	resource string
	mech     sasl.Mechanism
	noTLS    bool
	password string
}

func (s *testServer) dial(t *testing.T, user string, o dialOpts) (*client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := net.Dial("tcp", s.addr)
	require.NoError(t, err)
	if o.mech.Name == "" {
		o.mech = sasl.ScramSha256
	}
	if o.password == "" {
		o.password = password
	}
	addr := mjid.MustParse(user + "@localhost")
	if o.resource != "" {
		addr = mjid.MustParse(user + "@localhost/" + o.resource)
	}
	var feats []xmpp.StreamFeature
	if !o.noTLS {
		feats = append(feats, xmpp.StartTLS(&tls.Config{ServerName: "localhost", InsecureSkipVerify: true}))
	}
	feats = append(feats, xmpp.SASL("", o.password, o.mech), xmpp.BindResource())
	sess, err := xmpp.NewClientSession(ctx, addr, conn, feats...)
	if err != nil {
		conn.Close()
		return nil, err
	}
	c := &client{t: t, sess: sess, jid: sess.LocalAddr().String(), in: make(chan string, 1000), done: make(chan error, 1)}
	go func() {
		c.done <- sess.Serve(xmpp.HandlerFunc(func(tr mxs.TokenReadEncoder, start *xml.StartElement) error {
			var b bytes.Buffer
			enc := xml.NewEncoder(&b)
			if err := enc.EncodeToken(*start); err != nil {
				return err
			}
			// Copy the element's content up to and including its end tag.
			depth := 1
			for depth > 0 {
				tok, err := tr.Token()
				if err != nil {
					return err
				}
				switch tok.(type) {
				case xml.StartElement:
					depth++
				case xml.EndElement:
					depth--
				}
				if err := enc.EncodeToken(xml.CopyToken(tok)); err != nil {
					return err
				}
			}
			if err := enc.Flush(); err != nil {
				return err
			}
			if isPing(start, b.String()) {
				// Like every client, answer the server's pings (XEP-0199):
				// the answer confirms offline deliveries
				// (docs/security.md).
				return answerPing(tr, start)
			}
			c.in <- b.String()
			return nil
		}))
	}()
	t.Cleanup(func() { sess.Close(); sess.Conn().Close() })
	return c, nil
}

func (s *testServer) login(t *testing.T, user, resource string) *client {
	t.Helper()
	c, err := s.dial(t, user, dialOpts{resource: resource})
	require.NoError(t, err)
	return c
}

// send writes raw XML (in the jabber:client namespace) to the stream.
func (c *client) send(raw string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d := xml.NewDecoder(strings.NewReader(raw))
	require.NoError(c.t, c.sess.Send(ctx, mxs.ReaderFunc(func() (xml.Token, error) {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		return xml.CopyToken(tok), nil
	})))
}

// sendIQ sends an IQ and returns the response as a parsed element.
func (c *client) sendIQ(raw string) *xmlstream.Element {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d := xml.NewDecoder(strings.NewReader(raw))
	resp, err := c.sess.SendIQ(ctx, mxs.ReaderFunc(func() (xml.Token, error) {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		return xml.CopyToken(tok), nil
	}))
	require.NoError(c.t, err)
	defer resp.Close()
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	_, err = mxs.Copy(enc, resp)
	require.NoError(c.t, err)
	require.NoError(c.t, enc.Flush())
	return parse(c.t, b.String())
}

// expect waits for a received stanza for which match returns true and
// returns it parsed; other stanzas are skipped.
func (c *client) expect(what string, match func(*xmlstream.Element) bool) *xmlstream.Element {
	c.t.Helper()
	for i, raw := range c.backlog {
		if el := parse(c.t, raw); match(el) {
			c.backlog = append(c.backlog[:i:i], c.backlog[i+1:]...)
			return el
		}
	}
	deadline := time.After(15 * time.Second)
	seen := c.backlog
	for {
		select {
		case raw := <-c.in:
			el := parse(c.t, raw)
			if match(el) {
				return el
			}
			c.backlog = append(c.backlog, raw)
			seen = c.backlog
		case err := <-c.done:
			c.t.Fatalf("waiting for %s: session ended: %v (seen %v)", what, err, seen)
		case <-deadline:
			c.t.Fatalf("waiting for %s: timed out; seen %v", what, seen)
		}
	}
}

// barrierSeq numbers barrier IQs.
var barrierSeq atomic.Int64

// barrier sends c's session a disco#info IQ to the address to and waits for
// the answer, whatever it is. When it returns, the entity at to has handled
// everything c sent it before, and everything queued for c before the
// answer has arrived: the server reads a session's stanzas in order, a
// session's stanzas leave in order, and the client library hands them over
// in order. barrier(host) covers what the server does for c's stanzas on
// the way (routing, hooks, IQ handlers); a classic MUC room handles its
// stanzas on a goroutine of its own, so barrier(room) covers the room.
func (c *client) barrier(to string) {
	c.t.Helper()
	c.sendIQ(fmt.Sprintf(`<iq type='get' to='%s' id='barrier-%d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`, to, barrierSeq.Add(1)))
}

// expectNone checks that nothing matching has reached c by the end of a
// barrier (to the server), nor before. A negative check needs the barrier
// of whatever would have sent the stanza: here c's own, so the stanzas the
// server queued for c before have arrived; call barrier on the session that
// caused them first when the server would send them while handling that
// session's stanza.
func (c *client) expectNone(what string, match func(*xmlstream.Element) bool) {
	c.t.Helper()
	c.barrier("localhost")
	for drained := false; !drained; {
		select {
		case raw := <-c.in:
			c.backlog = append(c.backlog, raw)
		default:
			drained = true
		}
	}
	for _, raw := range c.backlog {
		if match(parse(c.t, raw)) {
			c.t.Fatalf("unexpected %s: %s", what, raw)
		}
	}
}

func parse(t *testing.T, raw string) *xmlstream.Element {
	t.Helper()
	d := xmlstream.NewDecoder(strings.NewReader(`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`+raw), 0)
	_, err := d.Header()
	require.NoError(t, err)
	el, err := d.Next()
	require.NoError(t, err, "parsing %s", raw)
	return el
}

func isMessage(body string) func(*xmlstream.Element) bool {
	return func(el *xmlstream.Element) bool {
		return el.Local == "message" && el.ChildText("", "body") == body
	}
}

// rawConn is a plain TCP connection for protocol-level checks.
type rawConn struct {
	t  *testing.T
	nc net.Conn
}

func (s *testServer) raw(t *testing.T) *rawConn {
	nc, err := net.Dial("tcp", s.addr)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc}
}

func (r *rawConn) write(s string) {
	r.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := io.WriteString(r.nc, s)
	require.NoError(r.t, err)
}

// readUntilClosed returns everything the server sent until it closed the
// connection, failing if it does not close within the deadline.
func (r *rawConn) readUntilClosed() string {
	r.t.Helper()
	r.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(r.nc)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		r.t.Fatalf("server did not close the connection; got %q", b)
	}
	return string(b)
}

const streamOpen = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`

func forEachDB(t *testing.T, fn func(t *testing.T, d *db.DB)) { dbtest.ForEach(t, fn) }

// readUntil reads from r until the accumulated text contains marker.
func readUntil(t *testing.T, r io.Reader, setDeadline func(time.Time) error, marker string) string {
	t.Helper()
	setDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(b.String(), marker) {
		n, err := r.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			t.Fatalf("reading until %q: %v (got %q)", marker, err, b.String())
		}
	}
	return b.String()
}

// loginRaw binds the resource of full (user@localhost/res) by hand over
// STARTTLS and PLAIN: the mellium client always lets the server pick the
// resource, and resource conflicts need a chosen one. It returns the
// connection; the caller reads from it.
func (s *testServer) loginRaw(t *testing.T, user, full string) *rawConn {
	t.Helper()
	res := full[strings.Index(full, "/")+1:]
	r := s.raw(t)
	r.write(streamOpen)
	readUntil(t, r.nc, r.nc.SetReadDeadline, "</stream:features>")
	r.write(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`)
	readUntil(t, r.nc, r.nc.SetReadDeadline, "<proceed")
	tc := tls.Client(r.nc, &tls.Config{ServerName: "localhost", InsecureSkipVerify: true})
	require.NoError(t, tc.Handshake())
	r.nc = tc
	r.write(streamOpen)
	readUntil(t, r.nc, r.nc.SetReadDeadline, "</stream:features>")
	r.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>` + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+password)) + `</auth>`)
	readUntil(t, r.nc, r.nc.SetReadDeadline, "<success")
	r.write(streamOpen)
	readUntil(t, r.nc, r.nc.SetReadDeadline, "</stream:features>")
	r.write(`<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>` + res + `</resource></bind></iq>`)
	got := readUntil(t, r.nc, r.nc.SetReadDeadline, "</iq>")
	require.Contains(t, got, "<jid>"+full+"</jid>")
	return r
}

// isPing reports whether start (serialised as raw) is an IQ get ping.
func isPing(start *xml.StartElement, raw string) bool {
	if start.Name.Local != "iq" || !strings.Contains(raw, "urn:xmpp:ping") {
		return false
	}
	for _, a := range start.Attr {
		if a.Name.Local == "type" {
			return a.Value == "get"
		}
	}
	return false
}

// answerPing writes the result of the ping start.
func answerPing(w mxs.TokenWriter, start *xml.StartElement) error {
	attrs := []xml.Attr{{Name: xml.Name{Local: "type"}, Value: "result"}}
	for _, a := range start.Attr {
		switch a.Name.Local {
		case "id":
			attrs = append(attrs, a)
		case "from":
			attrs = append(attrs, xml.Attr{Name: xml.Name{Local: "to"}, Value: a.Value})
		}
	}
	iq := xml.StartElement{Name: xml.Name{Space: "jabber:client", Local: "iq"}, Attr: attrs}
	if err := w.EncodeToken(iq); err != nil {
		return err
	}
	if err := w.EncodeToken(iq.End()); err != nil {
		return err
	}
	if f, ok := w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}
