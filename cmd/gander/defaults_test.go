package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/xml"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/disco"
	"mellium.im/xmpp/disco/items"
	mjid "mellium.im/xmpp/jid"
	"mellium.im/xmpp/roster"
	"mellium.im/xmpp/stanza"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/server/servertest"
)

// TestDefaultModulesAnswer starts Gander on the built-in configuration
// (what runs without a configuration file; only the ports and the admin
// credentials are the test's) and checks, with an independent XMPP client
// library, that every module the README lists as on by default answers:
// its disco#info feature on the server, its service in disco#items and the
// service's own feature, or (mod_broadcast, which has no XMPP side) its
// GraphQL category.
func TestDefaultModulesAnswer(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^Modules on by default: (.*)$`).FindSubmatch(readme)
	require.NotNil(t, m, "README.md has no line \"Modules on by default: ...\"")
	listed := regexp.MustCompile("`(mod_[a-z_]+)`").FindAllStringSubmatch(string(m[1]), -1)
	var modules []string
	for _, l := range listed {
		modules = append(modules, l[1])
	}
	cfg := config.Default()
	require.ElementsMatch(t, cfg.Modules.Enabled(), modules, "the README's list and the built-in configuration differ")

	srv := servertest.Start(t, servertest.WithAdminAPI(cfg), nil)
	_, err = srv.Accounts().Register(context.Background(), "localhost", "alice", "pw")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := net.Dial("tcp", srv.C2SAddrs()[0].String())
	require.NoError(t, err)
	sess, err := xmpp.NewClientSession(ctx, mjid.MustParse("alice@localhost"), conn,
		xmpp.StartTLS(&tls.Config{ServerName: "localhost", InsecureSkipVerify: true}),
		xmpp.SASL("", "pw", sasl.ScramSha256), xmpp.BindResource())
	require.NoError(t, err)
	go sess.Serve(nil)
	t.Cleanup(func() { sess.Close(); conn.Close() })
	// A second resource of alice, to see presence broadcast to it.
	conn2, err := net.Dial("tcp", srv.C2SAddrs()[0].String())
	require.NoError(t, err)
	sess2, err := xmpp.NewClientSession(ctx, mjid.MustParse("alice@localhost/two"), conn2,
		xmpp.StartTLS(&tls.Config{ServerName: "localhost", InsecureSkipVerify: true}),
		xmpp.SASL("", "pw", sasl.ScramSha256), xmpp.BindResource())
	require.NoError(t, err)
	presences := make(chan string, 10)
	go sess2.Serve(xmpp.HandlerFunc(func(_ xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		if start.Name.Local == "presence" {
			for _, a := range start.Attr {
				if a.Name.Local == "from" {
					presences <- a.Value
				}
			}
		}
		return nil
	}))
	t.Cleanup(func() { sess2.Close(); conn2.Close() })

	features := func(addr string) []string {
		info, err := disco.GetInfo(ctx, "", mjid.MustParse(addr), sess)
		require.NoError(t, err, "disco#info of %s", addr)
		var vars []string
		for _, f := range info.Features {
			vars = append(vars, f.Var)
		}
		return vars
	}
	var services []string
	iter := disco.FetchItems(ctx, items.Item{JID: mjid.MustParse("localhost")}, sess)
	for iter.Next() {
		services = append(services, iter.Item().JID.String())
	}
	require.NoError(t, iter.Err())
	require.NoError(t, iter.Close())
	server := features("localhost")

	probes := map[string]func(t *testing.T){
		"mod_disco": func(t *testing.T) { require.Contains(t, server, "http://jabber.org/protocol/disco#info") },
		"mod_presence": func(t *testing.T) {
			// RFC 6121 §4.2.2: initial presence goes to the user's other
			// available resources.
			require.NoError(t, sess2.Send(ctx, stanza.Presence{}.Wrap(nil)))
			require.NoError(t, sess.Send(ctx, stanza.Presence{}.Wrap(nil)))
			for {
				select {
				case from := <-presences:
					if from == sess.LocalAddr().String() {
						return
					}
				case <-ctx.Done():
					t.Fatal("the second resource never saw the first one's presence")
				}
			}
		},
		"mod_roster": func(t *testing.T) {
			// A roster set, then the roster fetched back.
			require.NoError(t, roster.Set(ctx, sess, roster.Item{JID: mjid.MustParse("bob@localhost"), Name: "Bob"}))
			iter := roster.Fetch(ctx, sess)
			var got []string
			for iter.Next() {
				got = append(got, iter.Item().JID.String())
			}
			require.NoError(t, iter.Err())
			require.NoError(t, iter.Close())
			require.Equal(t, []string{"bob@localhost"}, got)
		},
		"mod_offline":    func(t *testing.T) { require.Contains(t, server, "msgoffline") },
		"mod_ping":       func(t *testing.T) { require.Contains(t, server, "urn:xmpp:ping") },
		"mod_version":    func(t *testing.T) { require.Contains(t, server, "jabber:iq:version") },
		"mod_carboncopy": func(t *testing.T) { require.Contains(t, server, "urn:xmpp:carbons:2") },
		"mod_last": func(t *testing.T) {
			require.Contains(t, server, "jabber:iq:last")
			// And the server answers a last-activity query (its uptime).
			var res struct {
				XMLName xml.Name `xml:"jabber:iq:last query"`
				Seconds string   `xml:"seconds,attr"`
			}
			q := xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: "jabber:iq:last", Local: "query"}})
			require.NoError(t, sess.UnmarshalIQElement(ctx, q, stanza.IQ{Type: stanza.GetIQ, To: mjid.MustParse("localhost")}, &res))
			require.NotEmpty(t, res.Seconds)
		},
		"mod_inbox": func(t *testing.T) { require.Contains(t, server, "erlang-solutions.com:xmpp:inbox:0") },
		"mod_muc_light": func(t *testing.T) {
			require.Contains(t, services, "muclight.localhost")
			require.Contains(t, features("muclight.localhost"), "urn:xmpp:muclight:0")
		},
		"mod_muc": func(t *testing.T) {
			require.Contains(t, services, "conference.localhost")
			require.Contains(t, features("conference.localhost"), "http://jabber.org/protocol/muc")
		},
		"mod_broadcast": func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"query": `{ broadcast { getBroadcasts(domain: "localhost") { id } } }`})
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.AdminURL(), bytes.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.SetBasicAuth(servertest.AdminUser, servertest.AdminPassword)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var out struct {
				Data struct {
					Broadcast struct {
						GetBroadcasts []any `json:"getBroadcasts"`
					} `json:"broadcast"`
				} `json:"data"`
				Errors []any `json:"errors"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
			require.Empty(t, out.Errors)
			require.NotNil(t, out.Data.Broadcast.GetBroadcasts)
		},
	}
	for _, mod := range modules {
		probe, ok := probes[mod]
		require.True(t, ok, "no probe for %s, which the README lists as on by default", mod)
		t.Run(mod, probe)
	}
	require.Equal(t, len(probes), len(modules), "a probe for a module the README does not list: %s", strings.Join(modules, ", "))
}
