package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gander-xmpp/gander/internal/benchreport"
	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/server"
	"github.com/gander-xmpp/gander/internal/server/servertest"
	"github.com/gander-xmpp/gander/internal/wait"
)

// TestMain fails the package if a connection's reader or a sender outlives
// its run.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// benchServer starts a real Gander server on random loopback ports with
// users accounts bench1..benchN (password benchpass), and returns it.
func benchServer(t *testing.T, users int, extraTOML string) *server.Server {
	t.Helper()
	cfg, err := config.Parse([]byte(config.WithoutModules(config.DefaultTOML, "mod_muc_light", "mod_inbox", "mod_broadcast")+extraTOML), "test.toml")
	require.NoError(t, err)
	srv := servertest.Start(t, servertest.WithAdminAPI(cfg), dbtest.Open(t, db.SQLite))
	ctx := context.Background()
	for i := 1; i <= users; i++ {
		_, err := srv.Accounts().Register(ctx, "localhost", fmt.Sprintf("bench%d", i), "benchpass")
		require.NoError(t, err)
	}
	return srv.Server
}

// runJSON runs the CLI with --json and decodes the result generically, so
// the test checks the contract's field names rather than our struct.
func runJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.json")
	svg := filepath.Join(t.TempDir(), "out.svg")
	var out, errb bytes.Buffer
	code := run(append(args, "--json", path, "--svg", svg, "--pid", fmt.Sprint(os.Getpid())), &out, &errb)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), string(b))
	require.NotContains(t, m, "errors", string(b))
	t.Logf("%s", out.String())
	return m
}

func TestLoginAndChatAgainstGander(t *testing.T) {
	srv := benchServer(t, 20, "")
	addr := srv.C2SAddrs()[0].String()

	for _, mech := range []string{"SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN"} {
		m := runJSON(t, "login", "--server", addr, "--users", "20", "--mech", mech, "--quiet", "--label", "test")
		require.Equal(t, "login", m["scenario"])
		require.Equal(t, "test", m["label"])
		require.Equal(t, addr, m["server"])
		l := m["login"].(map[string]any)
		require.EqualValues(t, 20, l["attempted"], mech)
		require.EqualValues(t, 20, l["ok"], mech)
		require.EqualValues(t, 0, l["failed"], mech)
		require.Greater(t, l["per_s"].(float64), 0.0)
		require.Contains(t, m["machine"], "cores")
	}

	// A wrong password is a counted failure with its reason, not a crash.
	var out, errb bytes.Buffer
	path := filepath.Join(t.TempDir(), "bad.json")
	require.Equal(t, 0, run([]string{"login", "--server", addr, "--users", "2", "--password", "wrong", "--quiet", "--json", path}, &out, &errb), errb.String())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var bad benchreport.Result
	require.NoError(t, json.Unmarshal(b, &bad))
	require.Equal(t, 2, bad.Login.Failed)
	require.Len(t, bad.Errors, 1)
	require.Contains(t, bad.Errors[0], "not-authorized")

	m := runJSON(t, "chat", "--server", addr, "--users", "20", "--rates", "40,80", "--step-duration", "2s",
		"--warmup", "500ms", "--all-steps")
	steps := m["steps"].([]any)
	require.Len(t, steps, 2)
	for i, s := range steps {
		s := s.(map[string]any)
		require.Greater(t, s["sent"].(float64), 0.0, i)
		require.Equal(t, s["sent"], s["delivered"], i)
		for _, k := range []string{"p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "throughput", "bench_cpu_s", "server_cpu_s"} {
			require.Greater(t, s[k].(float64), 0.0, "step %d %s", i, k)
		}
		require.Contains(t, s, "sustained")
		require.Contains(t, s, "server_cpu_s_per_1000")
		require.Contains(t, s, "bench_cpu_s_per_1000")
		require.LessOrEqual(t, s["p50_ms"].(float64), s["p99_ms"].(float64))
	}
	require.Contains(t, m, "max_sustained")
	require.Contains(t, m["bench"], "cpu_s")
	require.NotEmpty(t, m["timeseries"])
}

func TestMucLightAgainstGander(t *testing.T) {
	srv := benchServer(t, 12, "\n[modules.mod_muc_light]\n[modules.mod_inbox]\n  groupchat = [\"muclight\"]\n")
	addr := srv.C2SAddrs()[0].String()
	// 12 users in rooms of 5: rooms of 5, 5 and 2.
	// The server runs in this process: --db-proc with its name measures it.
	comm, err := os.ReadFile("/proc/self/comm")
	require.NoError(t, err)
	m := runJSON(t, "muclight", "--server", addr, "--users", "12", "--room-size", "5", "--rates", "30",
		"--step-duration", "2s", "--warmup", "500ms", "--inbox-query-every", "1s", "--db-proc", strings.TrimSpace(string(comm)))
	s := m["steps"].([]any)[0].(map[string]any)
	require.Greater(t, s["db_cpu_s"].(float64), 0.0, "CPU of the --db-proc processes during the step")
	require.Greater(t, s["db_cpu_s_per_1000"].(float64), 0.0)
	require.Greater(t, s["sent"].(float64), 0.0)
	require.Greater(t, s["expected"].(float64), s["sent"].(float64))
	require.Equal(t, s["expected"], s["delivered"])
	require.Greater(t, s["p99_ms"].(float64), 0.0)
	ibx := m["inbox"].(map[string]any)
	require.Greater(t, ibx["answers"].(float64), 0.0)
	require.Greater(t, ibx["p50_ms"].(float64), 0.0)
}

func TestBroadcastAgainstGander(t *testing.T) {
	srv := benchServer(t, 8, "\n[modules.mod_broadcast]\n  backend = \"rdbms\"\n")
	addr := srv.C2SAddrs()[0].String()
	url := "http://" + srv.HTTPAddrs()[0].String() + "/api/graphql"
	m := runJSON(t, "broadcast", "--server", addr, "--users", "8", "--admin-url", url,
		"--admin-user", servertest.AdminUser, "--admin-pass", servertest.AdminPassword, "--broadcast-rate", "100", "--quiet")
	bc := m["broadcast"].(map[string]any)
	require.EqualValues(t, 8, bc["recipients"])
	require.EqualValues(t, 8, bc["arrived"])
	require.EqualValues(t, 0, bc["missing"])
	require.Greater(t, bc["last_s"].(float64), 0.0)
	require.GreaterOrEqual(t, bc["last_s"].(float64), bc["first_s"].(float64))
}

func TestIdleAndSpikeAgainstGander(t *testing.T) {
	srv := benchServer(t, 10, "")
	addr := srv.C2SAddrs()[0].String()
	m := runJSON(t, "idle", "--server", addr, "--users", "10", "--source-addrs", "127.0.0.1,127.0.0.2",
		"--settle", "200ms", "--hold", "0s", "--quiet")
	idle := m["idle"].(map[string]any)
	require.EqualValues(t, 10, idle["connections"])
	require.Greater(t, idle["rss_before_kb"].(float64), 0.0)
	require.Contains(t, idle, "per_conn_kb")

	m = runJSON(t, "spike", "--server", addr, "--users", "10", "--quiet")
	sp := m["spike"].(map[string]any)
	require.EqualValues(t, 10, sp["connections"])
	// The server notices every dropped socket.
	wait.Until(t, 5*time.Second, func() error {
		if n := srv.Router().SessionCount(); n != 0 {
			return fmt.Errorf("%d sessions left", n)
		}
		return nil
	})
}

// TestTurnsAgainstGander: two generators taking turns (--turns 2) load the
// server one at a time, step by step, and the waiting one sends no inbox
// queries.
func TestTurnsAgainstGander(t *testing.T) {
	// Two servers (as bench/inbox-paired.sh runs them), one per generator.
	var addrs []string
	for range 2 {
		srv := benchServer(t, 12, "\n[modules.mod_muc_light]\n[modules.mod_inbox]\n  groupchat = [\"muclight\"]\n")
		addrs = append(addrs, srv.C2SAddrs()[0].String())
	}
	start := time.Now().Add(4 * time.Second).Unix() // after the logins
	const slot = 3500 * time.Millisecond
	results := make([]map[string]any, 2)
	var wg sync.WaitGroup
	for k := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[k] = runJSON(t, "muclight", "--server", addrs[k], "--users", "12", "--user-prefix", "bench", "--room-size", "6",
				"--rates", "20,20", "--step-duration", "1500ms", "--warmup", "500ms", "--inbox-query-every", "200ms",
				"--turns", "2", "--turn", strconv.Itoa(k), "--turn-start", strconv.FormatInt(start, 10), "--turn-length", slot.String(), "--quiet")
		}()
	}
	wg.Wait()
	// Slot j = i*2 + k holds step i of generator k; each step runs inside
	// its slot, so the four steps come one after the other.
	var prevEnd time.Time
	for j := range 4 {
		i, k := j/2, j%2
		s := results[k]["steps"].([]any)[i].(map[string]any)
		begin, err := time.Parse(time.RFC3339Nano, s["start"].(string))
		require.NoError(t, err)
		end, err := time.Parse(time.RFC3339Nano, s["end"].(string))
		require.NoError(t, err)
		slotStart := time.Unix(start, 0).Add(time.Duration(j) * slot)
		require.False(t, begin.Before(slotStart), "slot %d: step began %s, slot at %s", j, begin, slotStart)
		require.True(t, end.Before(slotStart.Add(slot)), "slot %d: step ended %s, after its slot", j, end)
		require.True(t, begin.After(prevEnd), "slot %d: began before the previous step ended", j)
		prevEnd = end
		require.Equal(t, s["expected"], s["delivered"], "slot %d", j)
	}
	// Queries only in the generator's own two steps (3 s of 14): at most
	// about 3 s × 12 users / 200 ms = 180, far fewer than in the run's 14 s.
	for k, m := range results {
		q := m["inbox"].(map[string]any)["queries"].(float64)
		require.Greater(t, q, 0.0, "generator %d", k)
		require.Less(t, q, 300.0, "generator %d queried while waiting", k)
	}
}
