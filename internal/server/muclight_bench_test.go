package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/mod/muclight"
	"github.com/gander-xmpp/gander/internal/server/servertest"
)

// BenchmarkMucLightFanOutSockets measures room fan-out end to end: one
// member sends groupchat messages over TCP, and the benchmark waits until
// every member's connection (sender included) has read each one. It
// reports deliveries/s = members × messages/s. Clients use plain TCP with
// PLAIN (allow_plain_without_tls) so the figure is the server's cost, not
// TLS's.
func BenchmarkMucLightFanOutSockets(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			d := dbtest.Open(b, db.SQLite)
			cfg := servertest.Config()
			cfg.Listen.C2S[0].TLS = nil
			cfg.Auth.AllowPlainWithoutTLS = true
			parsed, err := config.Parse([]byte(config.WithoutModules(config.DefaultTOML, "mod_muc_light")+"\n[modules.mod_muc_light]\nbackend = \"rdbms\"\n[modules.mod_muc_light.cache_affs]\n"), "b.toml")
			if err != nil {
				b.Fatal(err)
			}
			cfg.Modules.MucLight = parsed.Modules.MucLight
			ctx := context.Background()
			srv := servertest.Start(b, cfg, d)
			addr := srv.Addr
			var occs []muclight.Occupant
			for i := range n {
				u := fmt.Sprintf("b%03d", i)
				if _, err := srv.Accounts().Register(ctx, "localhost", u, password); err != nil {
					b.Fatal(err)
				}
				if i > 0 {
					occs = append(occs, muclight.Occupant{User: jid.MustParse(u + "@localhost"), Aff: muclight.AffMember})
				}
			}
			room := "bench@muclight.localhost"
			if _, err := srv.MucLight().CreateRoom(ctx, muclight.CreateRequest{Creator: jid.MustParse("b000@localhost"), Room: jid.MustParse(room), Occupants: occs}); err != nil {
				b.Fatal(err)
			}
			conns := make([]net.Conn, n)
			counts := make([]chan struct{}, n)
			var wg sync.WaitGroup
			for i := range n {
				conns[i] = benchLogin(b, addr, fmt.Sprintf("b%03d", i))
				defer conns[i].Close()
				counts[i] = make(chan struct{}, 1<<16)
				wg.Add(1)
				go func(c net.Conn, ch chan struct{}) {
					defer wg.Done()
					countMarker(c, []byte("<body>hello</body>"), ch)
				}(conns[i], counts[i])
			}
			msg := []byte("<message type='groupchat' to='" + room + "'><body>hello</body></message>")
			// At most window messages are in flight, so that no member's
			// bounded outbound queue overflows (a full queue drops copies).
			const window = 64
			got := func(i, want int) {
				for range want {
					select {
					case <-counts[i]:
					case <-time.After(time.Minute):
						b.Fatalf("member %d did not receive every message", i)
					}
				}
			}
			b.ResetTimer()
			start := time.Now()
			for k := range b.N {
				if _, err := conns[0].Write(msg); err != nil {
					b.Fatal(err)
				}
				if k%window == window-1 {
					for i := range n {
						got(i, window)
					}
				}
			}
			for i := range n {
				got(i, b.N%window)
			}
			b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "deliveries/s")
			b.StopTimer()
			for _, c := range conns {
				c.Close()
			}
			wg.Wait()
		})
	}
}

// benchLogin opens a plain stream, authenticates with PLAIN, binds and
// sends available presence.
func benchLogin(b *testing.B, addr, user string) net.Conn {
	b.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	r := bufio.NewReader(c)
	step := func(send, until string) {
		if _, err := io.WriteString(c, send); err != nil {
			b.Fatal(err)
		}
		var got strings.Builder
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for !strings.Contains(got.String(), until) || !strings.HasSuffix(strings.TrimSpace(got.String()), ">") {
			buf := make([]byte, 4096)
			k, err := r.Read(buf)
			got.Write(buf[:k])
			if err != nil {
				b.Fatalf("login %s: waiting for %q: %v (got %q)", user, until, err, got.String())
			}
		}
		c.SetReadDeadline(time.Time{})
	}
	open := `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`
	step(open, "</stream:features>")
	step(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>`+base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+password))+`</auth>`, "<success")
	step(open, "</stream:features>")
	step(`<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>`, "</iq>")
	step(`<presence/>`, "<presence")
	if r.Buffered() > 0 {
		b.Fatalf("login %s: unexpected data after presence", user)
	}
	return c
}

// countMarker reads c until it fails and signals ch once per occurrence of
// marker in the byte stream.
func countMarker(c net.Conn, marker []byte, ch chan<- struct{}) {
	buf := make([]byte, 64<<10)
	var tail []byte
	for {
		k, err := c.Read(buf)
		if k > 0 {
			data := append(tail, buf[:k]...)
			for {
				i := bytes.Index(data, marker)
				if i < 0 {
					break
				}
				ch <- struct{}{}
				data = data[i+len(marker):]
			}
			if len(data) >= len(marker) {
				data = data[len(data)-len(marker)+1:]
			}
			tail = append([]byte(nil), data...)
		}
		if err != nil {
			return
		}
	}
}
