package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestScalars(t *testing.T) {
	cases := []struct {
		scalar string
		in     any
		want   string // fmt of the coerced value, or the failure reason
		fails  bool
	}{
		{"DomainName", "LocalHost", "localhost", false},
		{"DomainName", "", "empty_domain_name", true},
		{"DomainName", "a b", "failed_to_parse_domain_name", true},
		{"DomainName", 5, "failed_to_parse_domain_name", true},
		{"JID", "Alice@LocalHost/Res", "alice@localhost/Res", false},
		{"JID", "test@", "failed_to_parse_jid", true},
		{"JID", "localhost", "jid_without_local_part", true},
		{"BareJID", "alice@localhost/r", "jid_with_resource", true},
		{"BareJID", "alice@localhost", "alice@localhost", false},
		{"FullJID", "alice@localhost", "jid_without_resource", true},
		{"FullJID", "alice@localhost/r", "alice@localhost/r", false},
		{"UserName", "Alice", "alice", false},
		{"UserName", "", "empty_user_name", true},
		{"UserName", "a@b", "failed_to_parse_user_name", true},
		{"NonEmptyString", "", "Given string is empty", true},
		{"NonEmptyString", "x", "x", false},
		{"PosInt", json.Number("1"), "1", false},
		{"PosInt", json.Number("0"), "Value is not a positive integer", true},
		{"PosInt", 1.5, "Value is not a positive integer", true},
		{"NonNegInt", int64(0), "0", false},
		{"NonNegInt", -1, "Value is not a non-negative integer", true},
		{"DateTime", "2024-01-02T03:04:05.123456789+01:00", "2024-01-02 02:04:05.123456 +0000 UTC", false},
		{"DateTime", "yesterday", "failed_to_parse_datetime", true},
		{"XmlElement", "<message><body>x</body></message>", "<message><body>x</body></message>", false},
		{"XmlElement", "<a/><b/>", "failed_to_parse_xml", true},
		{"XmlElement", "<a><!-- c --></a>", "failed_to_parse_xml", true},
		{"XmlElement", "text", "failed_to_parse_xml", true},
	}
	for _, c := range cases {
		v, ok, err := parseScalar(c.scalar, c.in)
		require.True(t, ok, c.scalar)
		if c.fails {
			require.Error(t, err, "%s %v", c.scalar, c.in)
			require.Equal(t, c.want, err.(*coercionError).Reason, "%s %v", c.scalar, c.in)
			continue
		}
		require.NoError(t, err, "%s %v", c.scalar, c.in)
		got := ""
		switch x := v.(type) {
		case interface{ Bytes(string) []byte }:
			got = string(x.Bytes("jabber:client"))
		case time.Time:
			got = x.String()
		default:
			got = toString(x)
		}
		require.Equal(t, c.want, got, "%s %v", c.scalar, c.in)
	}
	_, ok, _ := parseScalar("String", "x")
	require.False(t, ok)
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	var s string
	if json.Unmarshal(b, &s) == nil {
		return s
	}
	if j, ok := v.(interface{ String() string }); ok {
		return j.String()
	}
	return string(b)
}

func TestMarshalDateTime(t *testing.T) {
	w := func(t time.Time) string {
		var buf jsonBuf
		MarshalDateTime(t).MarshalGQL(&buf)
		return string(buf)
	}
	require.Equal(t, `"2024-01-02T03:04:05Z"`, w(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)))
	require.Equal(t, `"2024-01-02T03:04:05.000007Z"`, w(time.Date(2024, 1, 2, 3, 4, 5, 7000, time.UTC)))
}

type jsonBuf []byte

func (b *jsonBuf) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

func TestVariables(t *testing.T) {
	for _, c := range []struct {
		in   string
		want map[string]any
		bad  bool
	}{
		{``, map[string]any{}, false},
		{`null`, map[string]any{}, false},
		{`{"a": 1, "b": null}`, map[string]any{"a": json.Number("1")}, false},
		{`"{\"a\": \"x\"}"`, map[string]any{"a": "x"}, false},
		{`""`, map[string]any{}, false},
		{`[1]`, nil, true},
		{`{"a": 1} x`, nil, true},
		{`"{bad"`, nil, true},
	} {
		got, err := variables(json.RawMessage(c.in))
		if c.bad {
			require.Error(t, err, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
	}
}

func TestRenderValue(t *testing.T) {
	require.Equal(t, `<<"test@">>`, renderValue("test@"))
	require.Equal(t, `0`, renderValue(json.Number("0")))
	require.Equal(t, `null`, renderValue(nil))
}

func FuzzVariables(f *testing.F) {
	for _, s := range []string{`{"a": 1}`, `"{\"a\": null}"`, `null`, `[`, `{"a": {"b": [1, 2]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := variables(json.RawMessage(b))
		if err == nil && m == nil {
			t.Fatal("nil map without error")
		}
	})
}

func FuzzXmlElement(f *testing.F) {
	for _, s := range []string{`<message/>`, `<a><b/></a>`, `<a/><b/>`, `<!DOCTYPE a><a/>`, `<a xmlns:p='x'><p:b/></a>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		el, err := UnmarshalXmlElement(s)
		if err == nil && el == nil {
			t.Fatal("nil element without error")
		}
	})
}
