package config

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestInboxDefaults(t *testing.T) {
	cfg, err := Parse([]byte(WithoutModules(DefaultTOML, "mod_inbox")+"\n[modules.mod_inbox]\n"), "t.toml")
	require.NoError(t, err)
	m := cfg.Modules.Inbox
	require.Equal(t, "rdbms", m.Backend)
	require.Equal(t, "no_queue", m.IQDisc.Type)
	require.Equal(t, 2*runtime.NumCPU(), m.AsyncWriter.PoolSize)
	require.Equal(t, 1000, m.AsyncWriter.FlushInterval)
	require.Equal(t, 500, m.AsyncWriter.BatchSize)
	require.Equal(t, []string{"displayed"}, m.ResetMarkers)
	require.Equal(t, []string{"muclight"}, m.Groupchat)
	require.True(t, m.AffChanges)
	require.True(t, m.RemoveOnKicked)
	require.Equal(t, []string{"inbox", "archive", "bin"}, m.AllBoxes())
	require.Equal(t, 30, m.BinTTL)
	require.Equal(t, 1, m.BinCleanAfter)
	require.True(t, m.DeleteDomainLimit.IsUnlimited())
	require.True(t, m.MaxResultLimit.IsUnlimited())
}

func TestInboxSpecExample(t *testing.T) {
	cfg, err := Parse([]byte(WithoutModules(DefaultTOML, "mod_inbox")+`
[modules.mod_inbox]
  backend = "rdbms_async"
  async_writer.pool_size = 8
  async_writer.flush_interval = 0
  async_writer.batch_size = 50
  reset_markers = ["displayed"]
  groupchat = ["muclight"]
  boxes = ["favourites", "spam"]
  bin_ttl = 30
  bin_clean_after = 12
  max_result_limit = 100
  delete_domain_limit = "infinity"
  aff_changes = false
  remove_on_kicked = false
  iqdisc.type = "parallel"
`), "t.toml")
	require.NoError(t, err)
	m := cfg.Modules.Inbox
	require.Equal(t, "rdbms_async", m.Backend)
	require.Equal(t, 8, m.AsyncWriter.PoolSize)
	require.Equal(t, 0, m.AsyncWriter.FlushInterval, "0: write as soon as a worker is free")
	require.Equal(t, 50, m.AsyncWriter.BatchSize)
	require.Equal(t, []string{"inbox", "archive", "bin", "favourites", "spam"}, m.AllBoxes())
	require.Equal(t, 12, m.BinCleanAfter)
	require.Equal(t, Limit(100), m.MaxResultLimit)
	require.False(t, m.AffChanges)
	require.False(t, m.RemoveOnKicked)
	require.Equal(t, "parallel", m.IQDisc.Type)
}

func TestInboxRejected(t *testing.T) {
	for _, tc := range []struct{ opt, key string }{
		{`backend = "nodejs"`, "backend"},
		{`reset_markers = ["destroyed"]`, "reset_markers[0]"},
		{`groupchat = ["test"]`, "groupchat[0]"},
		{`boxes = ["archive"]`, "boxes[0]"},
		{`boxes = ["all"]`, "boxes[0]"},
		{`boxes = ["x", "x"]`, "boxes[1]"},
		{`boxes = [""]`, "boxes[0]"},
		{`bin_clean_after = -1`, "bin_clean_after"},
		{`bin_clean_after = 0`, "bin_clean_after"},
		{`bin_ttl = -1`, "bin_ttl"},
		{`max_result_limit = 0`, "max_result_limit"},
		{`max_result_limit = -3`, "max_result_limit"},
		{`max_result_limit = "lots"`, "max_result_limit"},
		{`delete_domain_limit = 0`, "delete_domain_limit"},
		{`async_writer.pool_size = 0`, "async_writer.pool_size"},
		{`async_writer.flush_interval = -1`, "async_writer.flush_interval"},
		{`async_writer.batch_size = 0`, "async_writer.batch_size"},
		{`unknown_option = 1`, "unknown_option"},
	} {
		t.Run(tc.opt, func(t *testing.T) {
			_, err := Parse([]byte(WithoutModules(DefaultTOML, "mod_inbox")+"\n[modules.mod_inbox]\n"+tc.opt+"\n"), "t.toml")
			require.Error(t, err)
			require.Contains(t, err.Error(), "modules.mod_inbox."+tc.key)
		})
	}
}
