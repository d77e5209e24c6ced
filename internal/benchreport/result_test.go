package benchreport

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestResultRoundTrip reads every stored result and writes it again: every
// field that went in comes out under the same name with the same value, so
// the one Result type reads the files gander-bench wrote before and writes
// them the same way. What comes out in addition are the zero values of
// fields that older versions did not write yet (a step's start and end, for
// instance). Two older forms are read and written the current way: "server"
// holding the server process figures (now server_proc), and max_sustained:
// null in a scenario without steps (now omitted).
func TestResultRoundTrip(t *testing.T) {
	results, err := LoadDir(fixtures)
	require.NoError(t, err)
	require.NotEmpty(t, results)
	legacy := 0
	for _, r := range results {
		t.Run(r.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(fixtures, r.file))
			require.NoError(t, err)
			var want map[string]any
			require.NoError(t, json.Unmarshal(raw, &want))
			if proc, ok := want["server"].(map[string]any); ok {
				legacy++
				want["server"], want["server_proc"] = "", proc
			}
			if _, ok := want["steps"]; !ok && want["max_sustained"] == nil {
				delete(want, "max_sustained")
			}
			out, err := json.Marshal(r)
			require.NoError(t, err)
			var got map[string]any
			require.NoError(t, json.Unmarshal(out, &got))
			sameOrNew(t, "", want, got)
		})
	}
	require.NotZero(t, legacy, "the fixtures include the first draft's server object")
}

// sameOrNew checks that got holds everything in want, and otherwise only
// zero values.
func sameOrNew(t *testing.T, path string, want, got any) {
	t.Helper()
	wm, ok := want.(map[string]any)
	if !ok {
		if wl, ok := want.([]any); ok {
			gl, ok := got.([]any)
			require.True(t, ok, "%s: %v, want a list", path, got)
			require.Len(t, gl, len(wl), path)
			for i := range wl {
				sameOrNew(t, fmt.Sprintf("%s[%d]", path, i), wl[i], gl[i])
			}
			return
		}
		require.Equal(t, want, got, path)
		return
	}
	gm, ok := got.(map[string]any)
	require.True(t, ok, "%s: %v, want an object", path, got)
	for k, w := range wm {
		g, ok := gm[k]
		require.True(t, ok, "%s.%s is not written", path, k)
		sameOrNew(t, path+"."+k, w, g)
	}
	for k, g := range gm {
		if _, ok := wm[k]; !ok {
			require.Contains(t, []any{"", 0.0, false, nil}, g, "%s.%s is new and not zero", path, k)
		}
	}
}
