package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// errStream is returned when the server sends a stream error or closes the
// stream during the handshake.
var errStream = errors.New("stream closed by server")

// account names one benchmark account.
type account struct {
	user, domain, pass string
}

func (a account) bare() string { return a.user + "@" + a.domain }

// dialOpts is what a connection needs from the command line.
type dialOpts struct {
	server string
	tls    bool
	mech   string
	cache  *scramCache
}

// conn is one client connection. Writes may come from several goroutines
// (the senders and the reader answering pings), so they take wmu; reads
// happen only on the reader goroutine after the handshake.
type conn struct {
	nc  net.Conn
	er  *elemReader
	wmu sync.Mutex
	idx int    // account number (0-based)
	jid string // bound full JID
}

// write sends b in one write call.
func (c *conn) write(b []byte) error {
	c.wmu.Lock()
	_, err := c.nc.Write(b)
	c.wmu.Unlock()
	return err
}

// close ends the stream politely and closes the socket.
func (c *conn) close() {
	c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	c.write([]byte("</stream:stream>"))
	c.nc.Close()
}

// dial opens a TCP connection from src (nil: any) to the server.
func dial(ctx context.Context, o dialOpts, src net.IP) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	return d.DialContext(ctx, "tcp", o.server)
}

// openStream sends a stream header and reads the server's header and
// features.
func (c *conn) openStream(domain string) ([]byte, error) {
	if err := c.write([]byte("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='" +
		escape(domain) + "' version='1.0'>")); err != nil {
		return nil, err
	}
	ev, _, err := c.er.next()
	if err != nil {
		return nil, err
	}
	if ev != evHeader {
		return nil, errStream
	}
	return c.expect("features")
}

// expect reads the next element and fails unless it is named name.
func (c *conn) expect(name string) ([]byte, error) {
	ev, el, err := c.er.next()
	if err != nil {
		return nil, err
	}
	if ev != evElem {
		return nil, errStream
	}
	if n := elemName(el); n != name {
		return nil, fmt.Errorf("expected <%s>, got %s", name, truncate(el))
	}
	return el, nil
}

// nextElem reads the next element, failing on the stream's end.
func (c *conn) nextElem() ([]byte, error) {
	ev, el, err := c.er.next()
	if err != nil {
		return nil, err
	}
	if ev != evElem {
		return nil, errStream
	}
	if elemName(el) == "error" {
		return nil, fmt.Errorf("%w: %s", errStream, truncate(el))
	}
	return el, nil
}

func truncate(el []byte) string {
	if len(el) > 300 {
		return string(el[:300]) + "…"
	}
	return string(el)
}

// connect dials and opens a stream, negotiating STARTTLS when asked, and
// returns the connection with the features to use next.
func connect(ctx context.Context, o dialOpts, domain string, src net.IP) (*conn, []byte, error) {
	nc, err := dial(ctx, o, src)
	if err != nil {
		return nil, nil, err
	}
	c := &conn{nc: nc, er: newElemReader(nc)}
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	feats, err := c.openStream(domain)
	if err == nil && o.tls {
		feats, err = c.starttls(domain, feats)
	}
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return c, feats, nil
}

func (c *conn) starttls(domain string, feats []byte) ([]byte, error) {
	if !has(feats, "starttls") {
		return nil, errors.New("server does not offer STARTTLS")
	}
	if err := c.write([]byte("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")); err != nil {
		return nil, err
	}
	if _, err := c.expect("proceed"); err != nil {
		return nil, err
	}
	// Loopback benchmark: the server's certificate is not verified.
	tc := tls.Client(c.nc, &tls.Config{ServerName: domain, InsecureSkipVerify: true, //nolint:gosec
		// Classical X25519 only, as most deployed XMPP clients still offer: the
		// hybrid post-quantum share costs the generator more than the server.
		CurvePreferences: []tls.CurveID{tls.X25519}})
	if err := tc.Handshake(); err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	c.nc = tc
	c.er = newElemReader(tc)
	return c.openStream(domain)
}

// login connects, authenticates, binds a resource and, if presence is set,
// sends initial presence. The returned connection has no deadline and no
// reader goroutine yet.
func login(ctx context.Context, o dialOpts, a account, src net.IP, presence bool) (*conn, error) {
	c, feats, err := connect(ctx, o, a.domain, src)
	if err != nil {
		return nil, err
	}
	if err := c.auth(o.mech, o.cache, a, feats); err != nil {
		c.nc.Close()
		return nil, err
	}
	if err := c.bind(a.domain, presence); err != nil {
		c.nc.Close()
		return nil, err
	}
	c.nc.SetDeadline(time.Time{})
	return c, nil
}

const nsSASL = "urn:ietf:params:xml:ns:xmpp-sasl"

func (c *conn) auth(mech string, cache *scramCache, a account, feats []byte) error {
	offered := allText(feats, "mechanism")
	found := false
	for _, m := range offered {
		found = found || m == mech
	}
	if !found {
		return fmt.Errorf("server does not offer %s (offers %s)", mech, strings.Join(offered, " "))
	}
	b64 := base64.StdEncoding
	if mech == "PLAIN" {
		msg := "\x00" + a.user + "\x00" + a.pass
		if err := c.write([]byte("<auth xmlns='" + nsSASL + "' mechanism='PLAIN'>" + b64.EncodeToString([]byte(msg)) + "</auth>")); err != nil {
			return err
		}
		return c.saslOutcome(nil)
	}
	var nonce [18]byte
	rand.Read(nonce[:])
	s, err := newSCRAM(mech, a.user, a.pass, base64.RawStdEncoding.EncodeToString(nonce[:]))
	if err != nil {
		return err
	}
	s.cache = cache
	if err := c.write([]byte("<auth xmlns='" + nsSASL + "' mechanism='" + mech + "'>" + b64.EncodeToString([]byte(s.first())) + "</auth>")); err != nil {
		return err
	}
	el, err := c.nextElem()
	if err != nil {
		return err
	}
	if elemName(el) != "challenge" {
		return fmt.Errorf("auth failed: %s", truncate(el))
	}
	sf, err := saslData(el)
	if err != nil {
		return err
	}
	final, err := s.final(sf)
	if err != nil {
		return err
	}
	if err := c.write([]byte("<response xmlns='" + nsSASL + "'>" + b64.EncodeToString([]byte(final)) + "</response>")); err != nil {
		return err
	}
	return c.saslOutcome(s)
}

// saslOutcome waits for <success/>, verifying SCRAM's server signature
// whether it comes in the success or in a last challenge.
func (c *conn) saslOutcome(s *scram) error {
	for {
		el, err := c.nextElem()
		if err != nil {
			return err
		}
		switch elemName(el) {
		case "success":
			if s != nil {
				d, err := saslData(el)
				if err != nil {
					return err
				}
				if d != "" {
					return s.verify(d)
				}
			}
			return nil
		case "challenge":
			d, err := saslData(el)
			if err != nil {
				return err
			}
			if s == nil {
				return errors.New("unexpected SASL challenge")
			}
			if err := s.verify(d); err != nil {
				return err
			}
			if err := c.write([]byte("<response xmlns='" + nsSASL + "'/>")); err != nil {
				return err
			}
		default:
			return fmt.Errorf("auth failed: %s", truncate(el))
		}
	}
}

// saslData decodes the base64 text of a SASL element.
func saslData(el []byte) (string, error) {
	t, _ := childText(el, elemName(el))
	if t == "" || t == "=" {
		// Prefixed root (<sasl:success>) or no data.
		if i := strings.IndexByte(string(rootTag(el)), '>'); i >= 0 && len(el) > i+1 {
			if j := strings.IndexByte(string(el[i+1:]), '<'); j > 0 {
				t = string(el[i+1 : i+1+j])
			}
		}
	}
	if t == "=" {
		t = ""
	}
	d, err := base64.StdEncoding.DecodeString(strings.TrimSpace(t))
	if err != nil {
		return "", fmt.Errorf("sasl: bad base64: %w", err)
	}
	return string(d), nil
}

func (c *conn) bind(domain string, presence bool) error {
	// RFC 6120 §6.4.6: restart the stream after SASL success.
	c.er = newElemReader(c.nc)
	feats, err := c.openStream(domain)
	if err != nil {
		return err
	}
	if !has(feats, "bind") {
		return errors.New("server does not offer resource binding")
	}
	if err := c.write([]byte("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>bench</resource></bind></iq>")); err != nil {
		return err
	}
	el, err := c.iqResult("bind1")
	if err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	c.jid, _ = childText(el, "jid")
	// RFC 3921 sessions: only when advertised and not marked optional.
	if has(feats, "session") && !has(feats, "optional") {
		if err := c.write([]byte("<iq type='set' id='sess1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>")); err != nil {
			return err
		}
		if _, err := c.iqResult("sess1"); err != nil {
			return fmt.Errorf("session: %w", err)
		}
	}
	if presence {
		return c.write([]byte("<presence/>"))
	}
	return nil
}

// iqResult reads until the iq with id arrives (skipping anything else) and
// returns it, or an error for an error reply.
func (c *conn) iqResult(id string) ([]byte, error) {
	for {
		el, err := c.nextElem()
		if err != nil {
			return nil, err
		}
		if elemName(el) != "iq" || attr(el, "id") != id {
			continue
		}
		if attr(el, "type") != "result" {
			return nil, fmt.Errorf("iq error: %s", truncate(el))
		}
		return el, nil
	}
}

// register performs XEP-0077 in-band registration before authentication.
// It reports whether the account already existed (conflict).
func register(ctx context.Context, o dialOpts, a account, src net.IP) (existed bool, err error) {
	c, _, err := connect(ctx, o, a.domain, src)
	if err != nil {
		return false, err
	}
	defer c.close()
	if err := c.write([]byte("<iq type='set' id='reg1'><query xmlns='jabber:iq:register'><username>" + escape(a.user) +
		"</username><password>" + escape(a.pass) + "</password></query></iq>")); err != nil {
		return false, err
	}
	_, err = c.iqResult("reg1")
	if err != nil && strings.Contains(err.Error(), "<conflict") {
		return true, nil
	}
	return false, err
}

// reply answers an iq get/set the generator does not implement: ping
// (XEP-0199) gets a result, anything else service-unavailable, so that a
// server probing its clients does not drop them.
func (c *conn) reply(el []byte) {
	typ := attr(el, "type")
	if typ != "get" && typ != "set" {
		return
	}
	id := escape(attr(el, "id"))
	to := ""
	if f := attr(el, "from"); f != "" {
		to = " to='" + escape(f) + "'"
	}
	if has(el, "ping") {
		c.write([]byte("<iq type='result' id='" + id + "'" + to + "/>"))
		return
	}
	c.write([]byte("<iq type='error' id='" + id + "'" + to +
		"><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"))
}
