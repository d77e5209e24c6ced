package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMucDefaultsAndOptions(t *testing.T) {
	cfg, err := Parse([]byte(WithoutModules(DefaultTOML, "mod_muc")), "t.toml")
	require.NoError(t, err)
	require.Nil(t, cfg.Modules.Muc)

	cfg, err = Parse([]byte(WithoutModules(DefaultTOML, "mod_muc")+"\n[modules.mod_muc]\n"), "t.toml")
	require.NoError(t, err)
	m := cfg.Modules.Muc
	require.Equal(t, "conference.@HOST@", m.Host)
	require.Equal(t, "mnesia", m.Backend)
	require.Equal(t, 20, m.HistorySize)

	cfg, err = Parse([]byte(WithoutModules(DefaultTOML, "mod_muc")+"\n[modules.mod_muc]\nhost = \"group.@HOST@\"\nhistory_size = 0\n"), "t.toml")
	require.NoError(t, err)
	require.Equal(t, "group.@HOST@", cfg.Modules.Muc.Host)
	require.Equal(t, 0, cfg.Modules.Muc.HistorySize)
}

func TestMucRejected(t *testing.T) {
	for _, opts := range []string{
		`host = "a@b"`,
		`host = ""`,
		`backend = "rdbms"`,
		`history_size = -1`,
		`max_history = 5`,
	} {
		_, err := Parse([]byte(WithoutModules(DefaultTOML, "mod_muc")+"\n[modules.mod_muc]\n"+opts+"\n"), "t.toml")
		require.Error(t, err, opts)
	}
}
