package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
)

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// runningGander is a `gander serve` process.
type runningGander struct {
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan error
}

// startGander runs bin with args in directory dir and waits until port
// accepts connections.
func startGander(t *testing.T, bin, dir string, port int, args ...string) *runningGander {
	t.Helper()
	g := &runningGander{cmd: exec.Command(bin, args...), logs: &syncBuffer{}, exited: make(chan error, 1)}
	g.cmd.Dir = dir
	g.cmd.Stdout, g.cmd.Stderr = g.logs, g.logs
	require.NoError(t, g.cmd.Start())
	go func() { g.exited <- g.cmd.Wait() }()
	t.Cleanup(func() { _ = g.cmd.Process.Kill() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-g.exited:
			t.Fatalf("gander exited before listening: %v\n%s", err, g.logs)
		default:
		}
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("not listening on %d after 60 s: %v\n%s", port, err, g.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (g *runningGander) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, g.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-g.exited:
		require.NoError(t, err, "%s", g.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("gander still running 30 s after SIGTERM\n%s", g.logs)
	}
}

// TestDataDirWhateverTheCurrentDirectory is the first-day story of
// docs/configuration.md ("Data directory"): the server and `gander
// register`, started from different directories with the same
// configuration, use the same database; serve logs where it is; register
// refuses to create a fresh database elsewhere unless told to.
func TestDataDirWhateverTheCurrentDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildGander(t)
	etc, elsewhere, other := t.TempDir(), t.TempDir(), t.TempDir()
	port := freePort(t)
	cfgFile := filepath.Join(etc, "gander.toml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(fmt.Sprintf(`[general]
  hosts = ["localhost"]
  default_server_domain = "localhost"
  loglevel = "info"
  data_dir = "data"
[[listen.c2s]]
  ip_address = "127.0.0.1"
  port = %d
  tls.mode = "starttls"
[auth.password]
  scram_iterations = 4096
`, port)), 0o600))
	dataDir := filepath.Join(etc, "data")

	g := startGander(t, bin, elsewhere, port, "serve", "--config", cfgFile)
	require.Contains(t, g.logs.String(), "data_dir="+dataDir, "serve logs the data directory it uses")
	require.FileExists(t, filepath.Join(dataDir, "gander.db"))
	require.NoFileExists(t, filepath.Join(elsewhere, "gander-data", "gander.db"))
	g.stop(t)

	// register from a third directory, same configuration: the server's
	// database.
	reg := exec.Command(bin, "register", "--config", cfgFile, "--username", "frank", "--password", "pw")
	reg.Dir = other
	out, err := reg.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "User frank@localhost successfully registered")
	entries, err := os.ReadDir(other)
	require.NoError(t, err)
	require.Empty(t, entries, "register created files in its current directory")

	// A data directory no server has used: refused without --create.
	fresh := filepath.Join(other, "fresh")
	reg = exec.Command(bin, "register", "--config", cfgFile, "--data-dir", fresh, "--username", "frank", "--password", "pw")
	out, err = reg.CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "no database: "+filepath.Join(fresh, "gander.db"))
	require.Contains(t, string(out), "--create")
	require.NoFileExists(t, filepath.Join(fresh, "gander.db"))
	reg = exec.Command(bin, "register", "--config", cfgFile, "--data-dir", fresh, "--create", "--username", "frank", "--password", "pw")
	out, err = reg.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.FileExists(t, filepath.Join(fresh, "gander.db"))

	// The running server sees the account register created.
	g = startGander(t, bin, other, port, "serve", "--config", cfgFile)
	require.NoError(t, loginAs(t, fmt.Sprintf("127.0.0.1:%d", port), "frank", "pw"))
	g.stop(t)
}

// TestDefaultDataDir checks the default that applies when neither the
// flag nor general.data_dir names a directory.
func TestDefaultDataDir(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_DATA_HOME", xdg)
	var c common
	dir, err := c.resolveDataDir(config.Default())
	require.NoError(t, err)
	require.Equal(t, filepath.Join(xdg, "gander"), dir)

	t.Setenv("XDG_DATA_HOME", "")
	home := t.TempDir()
	t.Setenv("HOME", home)
	dir, err = c.resolveDataDir(config.Default())
	require.NoError(t, err)
	require.Equal(t, filepath.Join(home, ".local", "share", "gander"), dir)

	c.dataDir = "rel"
	dir, err = c.resolveDataDir(config.Default())
	require.NoError(t, err)
	require.True(t, filepath.IsAbs(dir) && strings.HasSuffix(dir, "rel"), dir)
}

// TestStartupLogLevelSameWithoutConfig: running with no configuration logs
// like running with the file print-default-config writes.
func TestStartupLogLevelSameWithoutConfig(t *testing.T) {
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"print-default-config"}, &out, &errb))
	f := filepath.Join(t.TempDir(), "gander.toml")
	require.NoError(t, os.WriteFile(f, out.Bytes(), 0o600))
	printed, err := config.Load(f)
	require.NoError(t, err)
	require.Equal(t, logLevel("", config.Default()), logLevel("", printed))
	require.Equal(t, "info", logLevel("", printed))
	require.Equal(t, "debug", logLevel("debug", printed))
}
