package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gander-xmpp/gander/internal/wait"
)

// TestServeProfiles runs gander serve with --cpuprofile and --memprofile,
// stops it with SIGTERM and checks that both profiles were written as
// go tool pprof reads them (gzip-compressed protocol buffers).
func TestServeProfiles(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildGander(t)
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := filepath.Join(dir, "gander.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`[general]
  hosts = ["localhost"]
  default_server_domain = "localhost"
[[listen.c2s]]
  ip_address = "127.0.0.1"
  port = %d
`, port)), 0o600); err != nil {
		t.Fatal(err)
	}
	cpu, mem := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof")
	cmd := exec.Command(bin, "serve", "--config", cfg, "--data-dir", dir, "--cpuprofile", cpu, "--memprofile", mem)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	wait.Until(t, 30*time.Second, func() error {
		select {
		case err := <-exited:
			t.Fatalf("serve exited before listening: %v\n%s", err, logs)
		default:
		}
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return fmt.Errorf("not listening on %d: %v\n%s", port, err, logs)
		}
		return c.Close()
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve: %v\n%s", err, logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve still running 30 s after SIGTERM\n%s", logs)
	}
	for _, f := range []string{cpu, mem} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 2 || !bytes.Equal(b[:2], []byte{0x1f, 0x8b}) {
			t.Errorf("%s: %d bytes, not a gzip-compressed profile", filepath.Base(f), len(b))
		}
	}
}
