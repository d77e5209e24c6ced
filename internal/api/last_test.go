package api

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMicroTime(t *testing.T) {
	w := func(t time.Time) string {
		var buf jsonBuf
		MicroTime{t}.MarshalGQL(&buf)
		return string(buf)
	}
	// Always six fraction digits, in UTC (spec/last.md §6.1).
	require.Equal(t, `"2022-04-17T12:58:30.000000Z"`, w(time.Date(2022, 4, 17, 14, 58, 30, 0, time.FixedZone("x", 2*3600))))
	require.Equal(t, `"2022-04-17T12:58:30.000007Z"`, w(time.Date(2022, 4, 17, 12, 58, 30, 7000, time.UTC)))
	var m MicroTime
	require.NoError(t, m.UnmarshalGQL("2022-04-17T12:58:30.1234567Z"))
	require.Equal(t, time.Date(2022, 4, 17, 12, 58, 30, 123456000, time.UTC), m.Time)
	require.EqualError(t, m.UnmarshalGQL("20222-04-17T12:58:30Z"), "failed_to_parse_datetime")
}

func TestLastWithoutService(t *testing.T) {
	// Not wired at all: every field, global ones included, is gated.
	r := &Resolver{deps: Deps{Router: oneDomain{}, ModuleEnabled: func(_, _ string) bool { return true }}}
	var e *Error
	require.ErrorAs(t, RequireLast(r.deps, ""), &e)
	require.Equal(t, "deps_not_loaded", e.Code)
	require.Equal(t, []string{"mod_last"}, e.Ext["not_loaded_modules"])
}
