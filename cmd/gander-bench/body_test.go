package main

import (
	"bytes"
	"io"
	"testing"
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
