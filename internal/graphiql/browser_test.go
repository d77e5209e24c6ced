package graphiql_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/websocket"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/server"
)

// EnvBrowserRequired, set to 1 (CI does), makes a missing Chromium a test
// failure instead of a skip.
const EnvBrowserRequired = "GANDER_TEST_BROWSER_REQUIRED"

// chromium finds Debian's headless-capable Chromium.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(EnvBrowserRequired) == "1" {
		t.Fatalf("Chromium not found (apt-get install chromium); %s=1 makes this a failure", EnvBrowserRequired)
	}
	t.Skipf("Chromium not found (apt-get install chromium); set %s=1 to make this a failure", EnvBrowserRequired)
	return ""
}

// TestGraphiQLInHeadlessChromium loads the GraphiQL page of the default
// admin endpoint in headless Chromium that cannot resolve any host name
// (no CDN, no network), runs a query and reads the result on the page.
func TestGraphiQLInHeadlessChromium(t *testing.T) {
	bin := chromium(t)

	cfg := config.Default()
	cfg.Listen.C2S[0].Port = 0
	cfg.Listen.HTTP[0].Port = 0
	cfg.General.NodeName = "graphiql-test@here"
	ctx := context.Background()
	srv, err := server.New(ctx, cfg, server.Options{DataDir: t.TempDir(), Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	require.NoError(t, srv.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Stop(sctx)
	})
	base := "http://" + srv.HTTPAddrs()[0].String()

	b := startBrowser(t, bin)
	query := "{ server { nodeName status { statusCode } } }"
	b.navigate(t, base+"/api/graphql?query="+url.QueryEscape(query))
	b.waitFor(t, `document.querySelector(".graphiql-execute-button") !== null`, "the GraphiQL editor")
	b.eval(t, `document.querySelector(".graphiql-execute-button").click()`)
	text := b.waitFor(t, `(function(){var r=document.querySelector(".graphiql-response");`+
		`return r && r.innerText.indexOf("graphiql-test@here") >= 0 ? r.innerText : null;})()`, "the query result")
	require.Contains(t, text, "RUNNING")

	// The index page at / links to the endpoint.
	b.navigate(t, base+"/")
	b.waitFor(t, `document.querySelector('a[href="/api/graphql"]') !== null`, "the index page's link to /api/graphql")
}

// browser is a headless Chromium driven over the DevTools protocol.
type browser struct {
	ws      *websocket.Conn
	mu      sync.Mutex
	next    int
	pending map[int]chan cdpReply
	logMu   sync.Mutex
	log     []string // console messages and exceptions, for failure messages
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func startBrowser(t *testing.T, bin string) *browser {
	t.Helper()
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-port=0", "--remote-allow-origins=http://127.0.0.1",
		// Every host name fails to resolve: the page must need nothing but
		// this server (which is addressed by IP).
		"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
		"about:blank")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`DevTools listening on (ws://\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	var browserURL string
	select {
	case browserURL = <-found:
	case <-time.After(60 * time.Second):
		t.Fatal("Chromium did not print its DevTools address within 60 s")
	}
	u, err := url.Parse(browserURL)
	require.NoError(t, err)
	// The page target Chromium opened for about:blank.
	var targets []struct {
		Type, URL            string
		WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
	}
	deadline := time.Now().Add(30 * time.Second)
	pageWS := ""
	for pageWS == "" {
		resp, err := http.Get("http://" + u.Host + "/json/list")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
		}
		for _, tg := range targets {
			if err == nil && tg.Type == "page" {
				pageWS = tg.WebSocketDebuggerURL
			}
		}
		if pageWS == "" {
			require.True(t, time.Now().Before(deadline), "no page target: %v %+v", err, targets)
			time.Sleep(100 * time.Millisecond)
		}
	}
	ws, err := websocket.Dial(pageWS, "", "http://127.0.0.1")
	require.NoError(t, err)
	ws.MaxPayloadBytes = 64 << 20
	b := &browser{ws: ws, pending: map[int]chan cdpReply{}}
	go b.read()
	t.Cleanup(func() { ws.Close() })
	b.call(t, "Runtime.enable", nil)
	b.call(t, "Page.enable", nil)
	return b
}

// read dispatches replies to their callers and records console output.
func (b *browser) read() {
	for {
		var msg struct {
			ID     int             `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
			cdpReply
		}
		if err := websocket.JSON.Receive(b.ws, &msg); err != nil {
			b.mu.Lock()
			for id, ch := range b.pending {
				close(ch)
				delete(b.pending, id)
			}
			b.mu.Unlock()
			return
		}
		if msg.ID != 0 {
			b.mu.Lock()
			ch := b.pending[msg.ID]
			delete(b.pending, msg.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- msg.cdpReply
			}
			continue
		}
		if msg.Method == "Runtime.consoleAPICalled" || msg.Method == "Runtime.exceptionThrown" {
			b.logMu.Lock()
			b.log = append(b.log, msg.Method+" "+string(msg.Params))
			b.logMu.Unlock()
		}
	}
}

func (b *browser) call(t *testing.T, method string, params any) json.RawMessage {
	t.Helper()
	b.mu.Lock()
	b.next++
	id := b.next
	ch := make(chan cdpReply, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	require.NoError(t, websocket.JSON.Send(b.ws, map[string]any{"id": id, "method": method, "params": params}))
	select {
	case r, ok := <-ch:
		require.True(t, ok, "DevTools connection closed during %s", method)
		require.Nil(t, r.Error, "%s: %+v", method, r.Error)
		return r.Result
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no reply within 30 s", method)
		return nil
	}
}

func (b *browser) navigate(t *testing.T, u string) {
	t.Helper()
	var r struct {
		ErrorText string `json:"errorText"`
	}
	require.NoError(t, json.Unmarshal(b.call(t, "Page.navigate", map[string]any{"url": u}), &r))
	require.Empty(t, r.ErrorText, "navigate to %s", u)
}

// eval evaluates a JavaScript expression in the page and returns its value
// as JSON.
func (b *browser) eval(t *testing.T, expr string) json.RawMessage {
	t.Helper()
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails json.RawMessage `json:"exceptionDetails"`
	}
	require.NoError(t, json.Unmarshal(b.call(t, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}), &r))
	require.Nil(t, r.ExceptionDetails, "evaluating %s", expr)
	return r.Result.Value
}

// waitFor polls expr until it is neither false nor null and returns its
// value as text.
func (b *browser) waitFor(t *testing.T, expr, what string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		v := b.eval(t, expr)
		if s := string(v); s != "" && s != "false" && s != "null" {
			var text string
			if json.Unmarshal(v, &text) == nil {
				return text
			}
			return s
		}
		if time.Now().After(deadline) {
			html := b.eval(t, `document.body ? document.body.innerText.slice(0, 2000) : ""`)
			b.logMu.Lock()
			defer b.logMu.Unlock()
			t.Fatalf("%s did not appear within 60 s.\npage text: %s\nconsole: %s", what, html, strings.Join(b.log, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
