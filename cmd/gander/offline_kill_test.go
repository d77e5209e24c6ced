package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	mjid "mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/gander-xmpp/gander/internal/auth"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/mod/offline"
	"github.com/gander-xmpp/gander/internal/wait"
)

// TestOfflineDeliverySurvivesKillAndDrop is issue 16's finding 3 on both
// databases, against the real gander binary: 300 stored messages of 30 KB
// each (9 MB) are never lost, whatever happens while they are delivered
// (docs/security.md, "Offline delivery"):
//
//  1. bob logs in and sends presence; once 100 messages have arrived the
//     server is killed with SIGKILL;
//  2. the server restarts; bob logs in, sends presence and drops the
//     connection two seconds later without reading anything;
//  3. bob logs in again and reads: every message that step 1 did not get
//     arrives (duplicates are allowed), and once bob's client has answered
//     the server's delivery check (a ping), storage is empty.
func TestOfflineDeliverySurvivesKillAndDrop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and moves 9 MB three times per database")
	}
	bin := buildGander(t)
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const n, size = 300, 30 << 10
		cred, err := auth.NewCredentials("pw", 1)
		if err != nil {
			t.Fatal(err)
		}
		accounts := auth.NewSQLStore(d)
		for _, u := range []string{"alice", "bob"} {
			if err := accounts.CreateUser(ctx, "localhost", u, cred, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		store := offline.NewSQLStore(d)
		body := strings.Repeat("x", size)
		for i := range n {
			packet := fmt.Sprintf(`<message xmlns='jabber:client' from='alice@localhost/pc' to='bob@localhost' type='chat' id='m%03d'><body>%s</body></message>`, i, body)
			if err := store.Store(ctx, "localhost", "bob", offline.Message{From: "alice@localhost/pc", Packet: []byte(packet)}, 0); err != nil {
				t.Fatal(err)
			}
		}
		stored := func() int {
			var c int
			if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM offline_message WHERE username = ?`, "bob").Scan(&c); err != nil {
				t.Fatal(err)
			}
			return c
		}

		cfgPath, addr := offlineKillConfig(t, d)
		start := func() *exec.Cmd {
			cmd, _ := serveProcess(t, bin, "gander", cfgPath, filepath.Dir(cfgPath))
			wait.Until(t, 30*time.Second, func() error {
				c, err := net.Dial("tcp", addr)
				if err == nil {
					c.Close()
				}
				return err
			})
			return cmd
		}

		seen := map[string]int{}
		var mu sync.Mutex
		record := func(id string) int {
			mu.Lock()
			defer mu.Unlock()
			seen[id]++
			return len(seen)
		}

		// 1. SIGKILL in the middle of the delivery.
		srv := start()
		first := make(chan struct{}, 1)
		bob := dialBob(t, addr, func(id string) {
			if record(id) == 100 {
				first <- struct{}{}
			}
		})
		bob.presence(t)
		select {
		case <-first:
		case <-time.After(30 * time.Second):
			t.Fatal("no offline message arrived")
		}
		if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		srv.Wait()
		bob.close()
		mu.Lock()
		got1 := len(seen)
		mu.Unlock()
		t.Logf("before SIGKILL bob got %d of %d; %d still stored", got1, n, stored())
		if got1+stored() < n {
			t.Fatalf("lost: bob got %d, %d stored, of %d", got1, stored(), n)
		}

		// 2. A client that drops its connection without reading.
		start()
		dropper := dialBob(t, addr, nil)
		dropper.presence(t)
		time.Sleep(2 * time.Second) // the client's behaviour under test: two seconds without reading
		dropper.close()
		if got := stored(); got1+got < n {
			t.Fatalf("lost after a dropped connection: %d stored, bob got %d before, of %d", got, got1, n)
		}

		// 3. A reading client gets everything that is left; then storage
		// is emptied.
		all := make(chan struct{})
		var once sync.Once
		reader := dialBob(t, addr, func(id string) {
			if record(id) == n {
				once.Do(func() { close(all) })
			}
		})
		reader.presence(t)
		select {
		case <-all:
		case <-time.After(60 * time.Second):
			mu.Lock()
			t.Fatalf("bob got %d distinct messages of %d", len(seen), n)
			mu.Unlock()
		}
		wait.Until(t, 30*time.Second, func() error {
			if c := stored(); c != 0 {
				return fmt.Errorf("%d messages still stored after delivery", c)
			}
			return nil
		})
		reader.close()
		dups := 0
		for _, c := range seen {
			dups += c - 1
		}
		t.Logf("all %d delivered, %d duplicates", n, dups)
	})
}

// offlineKillConfig writes a configuration for d's database with a c2s
// listener on a free port, and returns its path and the listener address.
func offlineKillConfig(t *testing.T, d *db.DB) (path, addr string) {
	t.Helper()
	ctx := context.Background()
	var conn string
	switch d.Dialect {
	case db.SQLite:
		var file string
		if err := d.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
			t.Fatal(err)
		}
		conn = fmt.Sprintf("driver = \"sqlite\"\n    database = %q", file)
	default:
		var name string
		if err := d.QueryRowContext(ctx, `SELECT current_database()`).Scan(&name); err != nil {
			t.Fatal(err)
		}
		u := postgresURL(t)
		conn = fmt.Sprintf("driver = \"pgsql\"\n    host = %q\n    port = %s\n    database = %q\n    username = %q\n    password = \"unused\"",
			u.Hostname(), u.Port(), name, u.User.Username())
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`[general]
  hosts = ["localhost"]
  default_server_domain = "localhost"
  loglevel = "warning"
[[listen.c2s]]
  port = %d
  ip_address = "127.0.0.1"
  tls.mode = "starttls"
[outgoing_pools.rdbms.default]
  workers = 4
  [outgoing_pools.rdbms.default.connection]
    %s
[auth]
  methods = ["rdbms"]
  [auth.rdbms]
[modules.mod_presence]
[modules.mod_roster]
[modules.mod_offline]
  backend = "rdbms"
`, port, conn)
	path = filepath.Join(dir, "gander.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, fmt.Sprintf("127.0.0.1:%d", port)
}

// bobClient is bob logged in with an independent client library; it
// answers the server's pings, as clients do.
type bobClient struct {
	sess *xmpp.Session
	done chan struct{}
}

// dialBob logs bob in; got, when set, is called with the id of each
// message received (and the session then reads until closed).
func dialBob(t *testing.T, addr string, got func(id string)) *bobClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := xmpp.NewClientSession(ctx, mjid.MustParse("bob@localhost/r"), conn,
		xmpp.StartTLS(&tls.Config{ServerName: "localhost", InsecureSkipVerify: true}),
		xmpp.SASL("", "pw", sasl.ScramSha256), xmpp.BindResource())
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	c := &bobClient{sess: sess, done: make(chan struct{})}
	if got == nil {
		close(c.done)
		return c
	}
	go func() {
		defer close(c.done)
		sess.Serve(xmpp.HandlerFunc(func(tr xmlstream.TokenReadEncoder, start *xml.StartElement) error {
			var b bytes.Buffer
			enc := xml.NewEncoder(&b)
			if _, err := xmlstream.Copy(enc, xmlstream.MultiReader(xmlstream.Token(*start), xmlstream.Inner(tr), xmlstream.Token(start.End()))); err != nil {
				return err
			}
			if err := enc.Flush(); err != nil {
				return err
			}
			raw := b.String()
			attr := func(name string) string {
				for _, a := range start.Attr {
					if a.Name.Local == name {
						return a.Value
					}
				}
				return ""
			}
			switch {
			case start.Name.Local == "message":
				got(attr("id"))
			case start.Name.Local == "iq" && attr("type") == "get" && strings.Contains(raw, "urn:xmpp:ping"):
				reply := stanza.IQ{ID: attr("id"), Type: stanza.ResultIQ, To: mjid.MustParse(attr("from"))}
				if _, err := xmlstream.Copy(tr, reply.Wrap(nil)); err != nil {
					return err
				}
				if f, ok := tr.(interface{ Flush() error }); ok {
					return f.Flush()
				}
			}
			return nil
		}))
	}()
	return c
}

// presence sends initial presence (offline delivery starts).
func (c *bobClient) presence(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.sess.Send(ctx, stanza.Presence{}.Wrap(nil)); err != nil {
		t.Fatal(err)
	}
}

// close drops the connection (no stream close: the client just goes).
func (c *bobClient) close() {
	c.sess.Conn().Close()
	<-c.done
}
