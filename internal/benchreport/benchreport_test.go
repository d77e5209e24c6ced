package benchreport

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const fixtures = "testdata/results"

func runReport(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(args, &out, &errb)
	return code, out.String() + errb.String()
}

// TestRunReplacesBlockKeepsRest checks that the block between the markers
// is replaced, the text around it kept byte for byte, and that a second run
// gives the same file.
func TestRunReplacesBlockKeepsRest(t *testing.T) {
	dir := t.TempDir()
	doc := filepath.Join(dir, "benchmarks.md")
	before := "# Benchmarks\n\n## Hot paths\n\n| a | b |\n|---|---|\n\n## Side by side\n\n"
	after := "\n## Fuzzing\n\nkept as is.\n"
	require.NoError(t, os.WriteFile(doc, []byte(before+BeginMarker+"\nold figures\n"+EndMarker+after), 0o644))
	cmds := filepath.Join(dir, "commands.sh")
	require.NoError(t, os.WriteFile(cmds, []byte("bench/compare.sh\ngander-bench chat --users 1000\n"), 0o644))

	code, out := runReport(t, "--results", fixtures, "--out", doc, "--commands", cmds)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "13 results")
	got, err := os.ReadFile(doc)
	require.NoError(t, err)
	s := string(got)
	require.True(t, strings.HasPrefix(s, before+BeginMarker+"\n"), s)
	require.True(t, strings.HasSuffix(s, EndMarker+after), s)
	require.NotContains(t, s, "old figures")
	require.Equal(t, 1, strings.Count(s, BeginMarker))
	for _, want := range []string{
		"### One-to-one chat, 1,000 users online",
		"### One-to-one chat, 5,000 users online",
		"| gander-sqlite | 998 | 1,000 | 5.0 | 0.050 | 0.100 | 50 | 2,000/s: 1,500 delivered/s, p99 400 ms |",
		"| prosody | none | — |",
		"gander-bench chat --users 1000",
		"2 cores, 23.4 GiB",
		"Measured 2026-12-02 01:30 UTC",
		"| prosody | 10,000 | 500 | 10 | 20.0 | 1.902 |",
		"| gander-sqlite | 10,000 | 20 | 98 | 8.0 |",
		"10 logins failed: connection reset",
	} {
		require.Contains(t, s, want)
	}
	// Rows come in a fixed order: Gander first, then ejabberd, then Prosody.
	i1, i2, i3 := strings.Index(s, "| gander-sqlite | 998"), strings.Index(s, "| ejabberd | 499"), strings.Index(s, "| prosody | none")
	require.True(t, i1 < i2 && i2 < i3, "row order")

	code, out = runReport(t, "--results", fixtures, "--out", doc, "--commands", cmds)
	require.Equal(t, 0, code, out)
	again, err := os.ReadFile(doc)
	require.NoError(t, err)
	require.Equal(t, s, string(again))
}

func TestRunAppendsBlockWithoutMarkers(t *testing.T) {
	dir := t.TempDir()
	doc := filepath.Join(dir, "b.md")
	require.NoError(t, os.WriteFile(doc, []byte("# Benchmarks\n\nintro"), 0o644))
	code, out := runReport(t, "--results", fixtures, "--out", doc)
	require.Equal(t, 0, code, out)
	got, err := os.ReadFile(doc)
	require.NoError(t, err)
	s := string(got)
	require.True(t, strings.HasPrefix(s, "# Benchmarks\n\nintro\n\n"+Heading+"\n\n"+BeginMarker+"\n"), s)
	require.True(t, strings.HasSuffix(s, EndMarker+"\n"))
	require.NotContains(t, s, "### Commands")

	// A missing file is created.
	fresh := filepath.Join(dir, "new.md")
	code, out = runReport(t, "--results", fixtures, "--out", fresh)
	require.Equal(t, 0, code, out)
	got, err = os.ReadFile(fresh)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(got), Heading+"\n\n"+BeginMarker))
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	code, out := runReport(t, "--out", filepath.Join(dir, "x.md"))
	require.Equal(t, 2, code)
	require.Contains(t, out, "usage:")

	code, out = runReport(t, "--results", dir, "--out", filepath.Join(dir, "x.md"))
	require.Equal(t, 1, code)
	require.Contains(t, out, "no *.json results")

	code, _ = runReport(t, "--results", filepath.Join(dir, "missing"), "--out", filepath.Join(dir, "x.md"))
	require.Equal(t, 1, code)

	bad := filepath.Join(dir, "bad")
	require.NoError(t, os.Mkdir(bad, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(bad, "a.json"), []byte("{not json"), 0o644))
	code, out = runReport(t, "--results", bad, "--out", filepath.Join(dir, "x.md"))
	require.Equal(t, 1, code)
	require.Contains(t, out, "a.json")

	// Markers out of order: the file is left alone.
	doc := filepath.Join(dir, "swapped.md")
	content := "x\n" + EndMarker + "\n" + BeginMarker + "\n"
	require.NoError(t, os.WriteFile(doc, []byte(content), 0o644))
	code, out = runReport(t, "--results", fixtures, "--out", doc)
	require.Equal(t, 1, code)
	require.Contains(t, out, "not a begin/end pair")
	got, err := os.ReadFile(doc)
	require.NoError(t, err)
	require.Equal(t, content, string(got))
}

// TestRatios checks the Gander/peer ratios and the met / not met marks
// against hand-computed values from the fixtures.
func TestRatios(t *testing.T) {
	rs, err := LoadDir(fixtures)
	require.NoError(t, err)
	rows := ratios(latest(rs, "chat"), latest(rs, "idle"))
	type want struct {
		ratio float64
		met   bool
		ok    bool
		at    string
	}
	got := map[string]want{}
	for _, r := range rows {
		require.Equal(t, "gander-sqlite", r.gander)
		met, ok := false, false
		if r.ratio > 0 {
			met, ok = r.target.Met(r.ratio)
		}
		got[r.peer+"/"+r.metric+"/"+r.at] = want{r.ratio, met, ok, r.at}
	}
	check := func(k string, ratio float64, met, ok bool) {
		t.Helper()
		w, found := got[k]
		require.True(t, found, "missing row %s in %v", k, got)
		require.InDelta(t, ratio, w.ratio, 1e-9, k)
		require.Equal(t, ok, w.ok, k)
		require.Equal(t, met, w.met, k)
	}
	// CPU at the highest target rate both sustained: 500/s at N = 1,000.
	check("ejabberd/cpu/N = 1,000, 500/s", 0.06/0.3, true, true)
	check("ejabberd/throughput/N = 1,000", 998.0/499.0, false, true)
	// Prosody sustained nothing at N = 1,000: CPU at the step both ran,
	// throughput against Prosody's lowest step (a lower bound).
	check("prosody/cpu/N = 1,000, 500/s", 0.06/0.5, true, true)
	check("prosody/throughput/N = 1,000", 998.0/500.0, false, true)
	check("ejabberd/cpu/N = 5,000, 500/s", 0.07/0.35, true, true)
	check("ejabberd/throughput/N = 5,000", 1000.0/500.0, false, true)
	check("prosody/memory/10,000 idle", 8.0/22.0, true, true)
	check("ejabberd/memory/10,000 idle", 8.0/47.5, false, false)
	require.Len(t, rows, 8)
}

func TestRenderRatioAndMUCLightTables(t *testing.T) {
	rs, err := LoadDir(fixtures)
	require.NoError(t, err)
	s := Render(Report{Results: rs, Host: Host{Cores: 2, MemGiB: 4}, Date: "today"})
	for _, want := range []string{
		"| gander-sqlite | ejabberd | server CPU s / 1,000 msgs | N = 1,000, 500/s | 0.060 | 0.300 | 0.20 | ≤ 1/3 | **met** |",
		"| gander-sqlite | ejabberd | sustained msgs/s | N = 1,000 | 998 | 499 | 2.00× | ≥ 3× | not met |",
		"| gander-sqlite | prosody | sustained msgs/s | N = 1,000 | 998 | 500 | > 2.00× | ≥ 5× | undecided (prosody sustained no step: ratio against its lowest step, a lower bound) |",
		"| gander-sqlite | prosody | server CPU s / 1,000 msgs | N = 1,000, 500/s | 0.060 | 0.500 | 0.12 | ≤ 1/5 | **met** (no common sustained step; not sustained by prosody) |",
		"| gander-sqlite | ejabberd | sustained msgs/s | N = 5,000 | 1,000 | 500 | 2.00× | ≥ 3× | not met (Gander sustained every step: its ratio is a lower bound) |",
		"| gander-sqlite | prosody | KiB per idle connection | 10,000 idle | 8.0 | 22.0 | 0.36 | ≤ 1/2 | **met** |",
		"| gander-sqlite | ejabberd | KiB per idle connection | 10,000 idle | 8.0 | 47.5 | 0.17 | — | n/a |",
		"### MUC Light + inbox",
		"| gander-pg-inbox-off | 1,000 | 10,000 | 1,000 | 20 | 0.020 | 0.000 | 40.0 | 150 | — | — |",
		"| gander-pg-inbox-rdbms | 1,000 | 8,000 | 1,000 | 20 | 0.020 | — | 40.0 | 150 | 12 | 80.0 % (cost 20.0 %) |",
		"| gander-pg-inbox-rdbms_async | 1,000 | 9,500 | 1,000 | 20 | 0.020 | 0.005 | 40.0 | 150 | 9.0 | 95.0 % (cost 5.0 %) |",
	} {
		require.Contains(t, s, want)
	}
	// The inbox runs are not Gander configurations to compare with peers.
	require.NotContains(t, s, "| gander-pg-inbox-off | ejabberd")
}

func TestDescribeHost(t *testing.T) {
	rs := []*Result{{}, {Machine: Machine{Cores: 8, MemGiB: 31.2}}}
	h := DescribeHost(rs, "testdata/cpuinfo", "testdata/os-release")
	require.Equal(t, Host{Cores: 8, MemGiB: 31.2, CPU: "Test CPU 9000", OS: "Debian GNU/Linux 12 (bookworm)"}, h)
	h = DescribeHost(nil, "testdata/none", "testdata/none")
	require.Equal(t, Host{}, h)
}

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999.4: "999", 1000: "1,000", 1234567.8: "1,234,568"} {
		require.Equal(t, want, thousands(in))
	}
}
