package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/benchreport"
)

func TestBodyRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		ts, seq int64
		step    int
		counted bool
	}{{1764633600123456789, 1, 0, false}, {5, 99999, 7, true}} {
		b := appendBody(nil, tc.ts, tc.seq, tc.step, tc.counted)
		ts, step, counted, ok := parseBody(b)
		if !ok || ts != tc.ts || step != tc.step || counted != tc.counted {
			t.Errorf("%q -> %d %d %v %v", b, ts, step, counted, ok)
		}
	}
	for _, bad := range []string{"", "gb", "gb 1 2 3", "gb 1 2 3 4 5", "hello 1 2 3 1", "gb 1  2 3 1", "gb 1 2 3 x", "gb 1 2 3 "} {
		if _, _, _, ok := parseBody([]byte(bad)); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestFlagsRefuseNonLoopback(t *testing.T) {
	for _, args := range [][]string{
		{"chat", "--server", "192.0.2.1:5222"},
		{"chat", "--server", "example.com:5222"},
		{"idle", "--source-addrs", "127.0.0.2,10.0.0.1"},
		{"broadcast", "--admin-url", "http://192.0.2.1:5551/api/graphql"},
		{"chat", "--rates", "100,x"},
		{"chat", "--mech", "DIGEST-MD5"},
		{"nope"},
	} {
		var errb bytes.Buffer
		if code := run(args, io.Discard, &errb); code != 2 {
			t.Errorf("%v: exit %d (%s)", args, code, errb.String())
		}
	}
	if code := run([]string{"report"}, io.Discard, io.Discard); code != 2 {
		t.Errorf("report stub exit %d", code)
	}
}

// TestMaxSustainedJSON: null when steps ran but none was sustained,
// absent for scenarios without steps.
func TestMaxSustainedJSON(t *testing.T) {
	b, err := json.Marshal(&benchreport.Result{Scenario: "chat", Steps: []*benchreport.Step{{TargetRate: 10}}})
	if err != nil || !bytes.Contains(b, []byte(`"max_sustained":null`)) || bytes.Count(b, []byte("max_sustained")) != 1 {
		t.Errorf("chat: %s %v", b, err)
	}
	b, _ = json.Marshal(&benchreport.Result{Scenario: "chat", Steps: []*benchreport.Step{{TargetRate: 10}}, MaxSustained: &benchreport.Step{TargetRate: 10}})
	if !bytes.Contains(b, []byte(`"max_sustained":{"target_rate":10`)) {
		t.Errorf("chat sustained: %s", b)
	}
	b, _ = json.Marshal(&benchreport.Result{Scenario: "login"})
	if bytes.Contains(b, []byte("max_sustained")) {
		t.Errorf("login: %s", b)
	}
}

// TestProcsCPU: the CPU of the processes with a command name includes this
// one's, and a name no process has gives 0.
func TestProcsCPU(t *testing.T) {
	comm, err := os.ReadFile("/proc/self/comm")
	require.NoError(t, err)
	// Burn some CPU so that this process has a measurable share.
	deadline := time.Now().Add(10 * time.Second)
	self, err := procCPU(os.Getpid())
	for x := 0; err == nil && self < 0.05 && time.Now().Before(deadline); x++ {
		self, err = procCPU(os.Getpid())
	}
	require.NoError(t, err)
	require.Greater(t, self, 0.0)
	require.GreaterOrEqual(t, procsCPU(strings.TrimSpace(string(comm))), self)
	require.Zero(t, procsCPU("no-such-proc-x"))
}
