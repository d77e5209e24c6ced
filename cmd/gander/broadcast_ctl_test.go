package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/wait"
)

// bcastCtlServer starts a server with mod_broadcast (node gander@ctl), the
// accounts alice, bob and carol, and returns the ctl flags that reach it.
func bcastCtlServer(t *testing.T) []string {
	t.Helper()
	cfg := config.Default()
	cfg.General.NodeName = "gander@ctl"
	cfg.Modules.Broadcast = &config.ModBroadcast{Backend: "rdbms", LeaseTime: 600}
	flags, srv := ctlServerWith(t, cfg)
	ctx := context.Background()
	for _, u := range []string{"alice", "bob", "carol"} {
		_, err := srv.Accounts().Register(ctx, "localhost", u, "pw")
		require.NoError(t, err)
	}
	return flags
}

// ctlStart starts a broadcast at rate through ctl and returns its id.
func ctlStart(t *testing.T, flags []string, rate int) int {
	t.Helper()
	code, m, out := runCtl(t, flags, "broadcast", "startBroadcast", "--name", "maint", "--domain", "localhost",
		"--messageSubject", "Maintenance", "--messageBody", "Back at 23:00", "--senderJid", "alice@localhost",
		"--messageRate", fmt.Sprint(rate), "--recipientGroup", "ALL_USERS_IN_DOMAIN")
	require.Equal(t, 0, code, out)
	res := m["data"].(map[string]any)["broadcast"].(map[string]any)["startBroadcast"].(map[string]any)
	require.Equal(t, "Broadcast job started", res["message"])
	return int(res["ids"].([]any)[0].(float64))
}

func TestCtlBroadcast(t *testing.T) {
	t.Parallel()
	offline := []string{"ctl", "--url", "http://127.0.0.1:1/api/graphql"}
	code, _, out := runCtl(t, offline, "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "broadcast")
	code, _, out = runCtl(t, offline, "broadcast", "--help")
	require.Equal(t, 0, code)
	for _, cmd := range []string{"getBroadcasts", "getBroadcast", "startBroadcast", "abortBroadcast", "deleteInactiveBroadcastsByIds", "deleteInactiveBroadcastsByDomain"} {
		require.Contains(t, out, cmd)
	}
	code, _, out = runCtl(t, offline, "broadcast", "getBroadcast", "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "--watch")
	require.Contains(t, out, "--interval")
	// --watch belongs to getBroadcast only.
	code, _, out = runCtl(t, offline, "broadcast", "getBroadcasts", "--domain", "localhost", "--watch")
	require.Equal(t, 2, code, out)
	require.Contains(t, out, "unknown argument --watch")
	code, _, out = runCtl(t, offline, "broadcast", "getBroadcast", "--domain", "localhost", "--id", "1", "--watch", "--interval", "1ms")
	require.Equal(t, 2, code, out)

	flags := bcastCtlServer(t)
	id := ctlStart(t, flags, 1000)
	code, m, out := runCtl(t, flags, "broadcast", "getBroadcasts", "--domain", "localhost")
	require.Equal(t, 0, code, out)
	list := m["data"].(map[string]any)["broadcast"].(map[string]any)["getBroadcasts"].([]any)
	require.Len(t, list, 1)
	job := list[0].(map[string]any)
	require.EqualValues(t, id, job["id"])
	require.Equal(t, "maint", job["name"])
	require.Equal(t, "gander@ctl", job["ownerNode"])
	require.Equal(t, "ALL_USERS_IN_DOMAIN", job["recipientGroup"])
	require.EqualValues(t, 3, job["recipientCount"])

	// Errors: the API's JSON and exit code 1.
	code, m, out = runCtl(t, flags, "broadcast", "startBroadcast", "--name", "x", "--domain", "localhost",
		"--messageSubject", "", "--messageBody", "b", "--senderJid", "alice@localhost", "--messageRate", "1001", "--recipientGroup", "ALL_USERS_IN_DOMAIN")
	require.Equal(t, 1, code, out)
	e := m["errors"].([]any)[0].(map[string]any)
	require.Equal(t, "Invalid parameter: message_rate", e["message"])
	require.Equal(t, "bad_parameter", e["extensions"].(map[string]any)["code"])

	// The progress view of a finished job: the header and one final line.
	wait.Until(t, 30*time.Second, func() error {
		_, m, _ := runCtl(t, flags, "broadcast", "getBroadcast", "--domain", "localhost", "--id", fmt.Sprint(id))
		if st := m["data"].(map[string]any)["broadcast"].(map[string]any)["getBroadcast"].(map[string]any)["executionState"]; st != "FINISHED" {
			return fmt.Errorf("job %d is %v", id, st)
		}
		return nil
	})
	code, _, out = runCtl(t, flags, "broadcast", "getBroadcast", "--domain", "localhost", "--id", fmt.Sprint(id), "--watch")
	require.Equal(t, 0, code, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	require.Equal(t, fmt.Sprintf(`Broadcast %d "maint" on localhost from alice@localhost at 1000 msg/s, owner node gander@ctl`, id), lines[0])
	require.Regexp(t, `^\[#{30}\] 3/3 100\.0%  FINISHED in [01]s( \(3\.0 msg/s\))?$`, lines[1])

	// A running job (3 recipients at 1 msg/s): the configured rate and
	// ETA until the first progress is saved, then the end.
	id = ctlStart(t, flags, 1)
	code, _, out = runCtl(t, flags, "broadcast", "getBroadcast", "--domain", "localhost", "--id", fmt.Sprint(id), "--watch", "--interval", "200ms")
	require.Equal(t, 0, code, out)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	require.GreaterOrEqual(t, len(lines), 3, out)
	require.Regexp(t, `^\[-{30}\] 0/3   0\.0%  ~1\.0 msg/s  ETA ~3s( +elapsed \d+s)?$`, lines[1])
	require.Regexp(t, `^\[#{30}\] 3/3 100\.0%  FINISHED in \ds`, lines[len(lines)-1])

	// An aborted job: its line and exit code 1.
	id = ctlStart(t, flags, 1)
	code, m, out = runCtl(t, flags, "broadcast", "abortBroadcast", "--domain", "localhost", "--id", fmt.Sprint(id))
	require.Equal(t, 0, code, out)
	require.Equal(t, map[string]any{"message": "Broadcast job aborted", "ids": []any{float64(id)}},
		m["data"].(map[string]any)["broadcast"].(map[string]any)["abortBroadcast"])
	code, _, out = runCtl(t, flags, "broadcast", "getBroadcast", "--domain", "localhost", "--id", fmt.Sprint(id), "--watch")
	require.Equal(t, 1, code, out)
	require.Regexp(t, `\n\[-{30}\] 0/3   0\.0%  ABORT_ADMIN in \ds( \(0\.0 msg/s\))?\n$`, out)

	// A failing request: the API's JSON, exit code 1.
	code, _, out = runCtl(t, flags, "broadcast", "getBroadcast", "--domain", "localhost", "--id", "999999", "--watch")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "broadcast_not_found")
}

func TestRenderProgress(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 2, 5, 12, 0, 0, 0, time.UTC)
	now := start.Add(5 * time.Second)
	j := jobView{ExecutionState: "RUNNING", MessageRate: 100, RecipientCount: 2000, RecipientsProcessed: 500, StartTimestamp: &start}
	require.Equal(t, "[#######-----------------------]  500/2000  25.0%  100.0 msg/s  ETA 15s  elapsed 5s", renderProgress(j, now, 100, true))
	require.Equal(t, "[#######-----------------------]  500/2000  25.0%  ~100.0 msg/s  ETA ~15s  elapsed 5s", renderProgress(j, now, 100, false))
	stop := start.Add(20 * time.Second)
	j.ExecutionState, j.StopTimestamp, j.RecipientsProcessed = "FINISHED", &stop, 2000
	require.Equal(t, "[##############################] 2000/2000 100.0%  FINISHED in 20s (100.0 msg/s)", renderProgress(j, now, 0, false))
	j.ExecutionState, j.RecipientsProcessed = "ABORT_ADMIN", 1000
	require.Equal(t, "[###############---------------] 1000/2000  50.0%  ABORT_ADMIN in 20s (50.0 msg/s)", renderProgress(j, now, 0, false))
}

func TestRateMeter(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 2, 5, 12, 0, 0, 0, time.UTC)
	j := jobView{ExecutionState: "RUNNING", MessageRate: 100, RecipientCount: 5000, StartTimestamp: &start}
	var m rateMeter
	// No progress yet: the configured rate.
	r, measured := m.observe(start.Add(time.Second), j)
	require.Equal(t, 100.0, r)
	require.False(t, measured)
	// A first saved batch: the average since the start.
	j.RecipientsProcessed = 1000
	r, measured = m.observe(start.Add(12*time.Second), j)
	require.InDelta(t, 1000.0/12, r, 0.001)
	require.True(t, measured)
	// Two saved batches seen: measured between them.
	j.RecipientsProcessed = 2000
	r, measured = m.observe(start.Add(22*time.Second), j)
	require.InDelta(t, 100.0, r, 0.001)
	require.True(t, measured)
	// Unchanged progress between boundaries keeps the measurement.
	r, _ = m.observe(start.Add(25*time.Second), j)
	require.InDelta(t, 100.0, r, 0.001)
}
