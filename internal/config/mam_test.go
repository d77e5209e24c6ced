package config

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMamDefaults(t *testing.T) {
	cfg, err := Parse([]byte(DefaultTOML+"\n[modules.mod_mam]\n"), "t.toml")
	require.NoError(t, err)
	m := cfg.Modules.Mam
	require.Nil(t, m.PM, "the parts are off until their tables exist")
	require.Nil(t, m.Muc)
	require.False(t, cfg.Modules.IsEnabled("mod_mam_pm"))
	o := m.MamOptions
	require.Equal(t, "rdbms", o.Backend)
	require.Equal(t, "parallel", o.IQDisc.Type)
	require.False(t, o.NoStanzaIDElement)
	require.Equal(t, "mod_mam_utils", o.IsArchivableMessage)
	require.Equal(t, "mod_mam_utils", o.SendMessage)
	require.False(t, o.ArchiveChatMarkers)
	require.True(t, o.MessageRetraction)
	require.Equal(t, "", o.UserPrefsStore)
	require.True(t, o.FullTextSearch)
	require.True(t, o.CacheUsers)
	require.Equal(t, 50, o.DefaultResultLimit)
	require.Equal(t, 50, o.MaxResultLimit)
	require.False(t, o.EnforceSimpleQueries)
	require.True(t, o.DeleteDomainLimit.IsUnlimited())
	require.True(t, o.AsyncWriter.Enabled)
	require.Equal(t, 2000, o.AsyncWriter.FlushInterval)
	require.Equal(t, 30, o.AsyncWriter.BatchSize)
	require.Equal(t, 4*runtime.NumCPU(), o.AsyncWriter.PoolSize)
}

// TestMamParts: the spec's example, a part turned on by one key, and a
// part's override of a root option that leaves the other part alone.
func TestMamParts(t *testing.T) {
	cfg, err := Parse([]byte(DefaultTOML+`
[modules.mod_mam]
  backend = "rdbms"
  user_prefs_store = "rdbms"
  async_writer.flush_interval = 1000
  max_result_limit = 100
  pm.archive_groupchats = false
  muc.host = "muclight.@HOST@"
  muc.async_writer.enabled = false
  muc.max_result_limit = 20
`), "t.toml")
	require.NoError(t, err)
	m := cfg.Modules.Mam
	require.NotNil(t, m.PM, "pm.archive_groupchats = false turns the part on")
	require.True(t, cfg.Modules.IsEnabled("mod_mam_pm"))
	require.True(t, cfg.Modules.IsEnabled("mod_mam_muc"))
	pm, ok := m.Part("pm")
	require.True(t, ok)
	require.True(t, pm.AsyncWriter.Enabled)
	require.Equal(t, 1000, pm.AsyncWriter.FlushInterval, "inherited from the root")
	require.Equal(t, 100, pm.MaxResultLimit)
	require.Equal(t, "rdbms", pm.UserPrefsStore)
	muc, ok := m.Part("muc")
	require.True(t, ok)
	require.False(t, muc.AsyncWriter.Enabled, "the muc override")
	require.Equal(t, 1000, muc.AsyncWriter.FlushInterval)
	require.Equal(t, 20, muc.MaxResultLimit)
	require.Equal(t, "muclight.@HOST@", m.Muc.Host)

	cfg, err = Parse([]byte(DefaultTOML+"\n[modules.mod_mam.muc]\n"), "t.toml")
	require.NoError(t, err)
	require.Equal(t, "conference.@HOST@", cfg.Modules.Mam.Muc.Host)
	require.Nil(t, cfg.Modules.Mam.PM)

	// Accepted and ignored (docs/modules/mod_mam.md).
	_, err = Parse([]byte(DefaultTOML+`
[modules.mod_mam]
  db_jid_format = "mam_jid_mini"
  db_message_format = "mam_message_xml"
  user_prefs_store = "mnesia"
  cache.strategy = "lru"
  cache.time_to_live = "infinity"
  cache.number_of_segments = 5
  cache.module = "mod_cache_users"
  delete_domain_limit = 1000
  pm.same_mam_id_for_peers = true
`), "t.toml")
	require.NoError(t, err)
}

func TestMamRejected(t *testing.T) {
	for _, tc := range []struct{ opt, key string }{
		{`backend = "cassandra"`, "backend"},
		{`backend = "elasticsearch"`, "backend"},
		{`backend = "redis"`, "backend"},
		{`pm.backend = "cassandra"`, "pm.backend"},
		{`is_archivable_message = "my_mod"`, "is_archivable_message"},
		{`send_message = "my_mod"`, "send_message"},
		{`extra_fin_element = "my_mod"`, "extra_fin_element"},
		{`extra_lookup_params = "my_mod"`, "extra_lookup_params"},
		{`user_prefs_store = "cassandra"`, "user_prefs_store"},
		{`user_prefs_store = "redis"`, "user_prefs_store"},
		{`default_result_limit = -1`, "default_result_limit"},
		{`max_result_limit = -1`, "max_result_limit"},
		{`muc.max_result_limit = -1`, "muc.max_result_limit"},
		{`delete_domain_limit = 0`, "delete_domain_limit"},
		{`async_writer.pool_size = 0`, "async_writer.pool_size"},
		{`async_writer.batch_size = 0`, "async_writer.batch_size"},
		{`async_writer.flush_interval = -1`, "async_writer.flush_interval"},
		{`pm.async_writer.batch_size = 0`, "pm.async_writer.batch_size"},
		{`muc.host = "a b"`, "muc.host"},
		{`pm.host = "x"`, "pm.host"},
		{`unknown_option = 1`, "unknown_option"},
		{`iqdisc.type = "fast"`, "iqdisc.type"},
	} {
		t.Run(tc.opt, func(t *testing.T) {
			_, err := Parse([]byte(DefaultTOML+"\n[modules.mod_mam]\n"+tc.opt+"\n"), "t.toml")
			require.Error(t, err)
			require.Contains(t, err.Error(), "modules.mod_mam."+tc.key)
		})
	}
}
