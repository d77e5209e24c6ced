package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
)

// TestCheckConfigDocumentedExamples runs `gander check-config` on every TOML
// example of the README and docs/, on the printed built-in configuration and
// on the reference's example (spec/server.md §5.7): each must be accepted.
// An example that is a fragment (no general.hosts) is checked laid over the
// page's last complete example, or over the built-in configuration, as a
// reader would use it.
func TestCheckConfigDocumentedExamples(t *testing.T) {
	files, err := filepath.Glob("../../docs/*.md")
	require.NoError(t, err)
	more, err := filepath.Glob("../../docs/*/*.md")
	require.NoError(t, err)
	files = append(append([]string{"../../README.md"}, files...), more...)
	block := regexp.MustCompile("(?s)```toml\n(.*?)```")
	dir := t.TempDir()
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"print-default-config"}, &out, &errb))
	examples := map[string]string{"print-default-config": out.String()}
	ref, err := os.ReadFile("../../internal/config/testdata/server_md_5_7.toml")
	require.NoError(t, err)
	examples["server_md_5_7.toml"] = string(ref)
	for _, f := range files {
		doc, err := os.ReadFile(f)
		require.NoError(t, err)
		base := config.DefaultTOML
		for _, m := range block.FindAllSubmatchIndex(doc, -1) {
			line := bytes.Count(doc[:m[0]], []byte("\n")) + 1
			name := strings.TrimPrefix(f, "../../") + ":" + strconv.Itoa(line)
			text := string(doc[m[2]:m[3]])
			if strings.Contains(text, "hosts =") {
				base = text // later fragments of this page build on it
			} else {
				text = mergeInto(t, name, base, text)
			}
			examples[name] = text
		}
	}
	require.Greater(t, len(examples), 8, "too few examples found")
	// The examples name certificate files; put a real pair in their place.
	cert, key := testKeyPair(t, dir)
	files2 := regexp.MustCompile(`(tls\.)?(certfile|keyfile) = "[^"]*"`)
	for name, text := range examples {
		text = files2.ReplaceAllStringFunc(text, func(m string) string {
			if strings.Contains(m, "keyfile") {
				return strings.SplitN(m, "=", 2)[0] + `= "` + key + `"`
			}
			return strings.SplitN(m, "=", 2)[0] + `= "` + cert + `"`
		})
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(dir, strings.NewReplacer("/", "_", ":", "_").Replace(name)+".toml")
			require.NoError(t, os.WriteFile(f, []byte(text), 0o600))
			var out, errb bytes.Buffer
			code := run([]string{"check-config", f}, &out, &errb)
			require.Equal(t, 0, code, "%s:\n%s\n%s", name, errb.String(), text)
			require.Contains(t, out.String(), ": OK")
		})
	}
}

// mergeInto returns the configuration base with the fragment laid over it,
// key by key. A table below the top level that the fragment writes keys in
// (a module's options, a pool's connection) replaces the base's table, and
// so does [cluster], whose two forms (embedded NATS server, nats_url) the
// cluster guide shows one after the other.
func mergeInto(t *testing.T, name, base, fragment string) string {
	var b, frag map[string]any
	require.NoError(t, toml.Unmarshal([]byte(base), &b))
	require.NoError(t, toml.Unmarshal([]byte(fragment), &frag), "%s is not valid TOML", name)
	merge(b, frag, 0)
	out, err := toml.Marshal(b)
	require.NoError(t, err)
	return string(out)
}

func merge(dst, src map[string]any, depth int) {
	for k, v := range src {
		sm, isTable := v.(map[string]any)
		replace := isTable && hasScalars(sm) && (depth > 0 || k == "cluster")
		if dm, ok := dst[k].(map[string]any); ok && isTable && !replace {
			merge(dm, sm, depth+1)
			continue
		}
		dst[k] = v
	}
}

func hasScalars(m map[string]any) bool {
	for _, v := range m {
		if _, table := v.(map[string]any); !table {
			return true
		}
	}
	return false
}

// testKeyPair writes a self-signed certificate and its key into dir.
func testKeyPair(t *testing.T, dir string) (string, string) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "example.org"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"example.org"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	require.NoError(t, err)
	kb, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600))
	return cert, key
}

// TestCheckConfigWrongFiles runs `gander check-config` on the deliberately
// wrong files of testdata/check-config: each begins with
// "# want: LINE:COL: KEY: MESSAGE", which must appear in the output, and
// check-config must fail. They are the first-day mistakes: features Gander
// does not have, checks serve used to make only at start, table kinds,
// typos.
func TestCheckConfigWrongFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/check-config/*.toml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			first, _, _ := strings.Cut(string(data), "\n")
			want, ok := strings.CutPrefix(first, "# want: ")
			require.True(t, ok, "%s lacks a \"# want:\" first line", f)
			var out, errb bytes.Buffer
			code := run([]string{"check-config", f}, &out, &errb)
			require.Equal(t, 1, code, "check-config accepted %s:\n%s", f, out.String())
			require.Contains(t, errb.String(), f+":"+want)
		})
	}
}
