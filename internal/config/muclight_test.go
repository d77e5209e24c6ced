package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMucLightDefaults(t *testing.T) {
	cfg, err := Parse([]byte(WithoutModules(DefaultTOML, "mod_muc_light")+"\n[modules.mod_muc_light]\n"), "t.toml")
	require.NoError(t, err)
	m := cfg.Modules.MucLight
	require.Equal(t, "muclight.@HOST@", m.Host)
	require.Equal(t, "mnesia", m.Backend)
	require.True(t, m.Blocking)
	require.True(t, m.PromoteOnLastOwnerLeave)
	require.False(t, m.EqualOccupants || m.AllCanConfigure || m.AllCanInvite || m.RoomsInRosters || m.AllowMultipleOwners)
	require.True(t, m.RoomsPerUser.IsUnlimited())
	require.True(t, m.MaxOccupants.IsUnlimited())
	require.Equal(t, Limit(10), m.RoomsPerPage)
	require.Len(t, m.ConfigSchema, 2)
	require.Equal(t, "roomname", m.ConfigSchema[0].Field)
	require.Equal(t, "Untitled", *m.ConfigSchema[0].StringValue)
	require.Equal(t, "subject", m.ConfigSchema[1].Field)
	require.Nil(t, m.CacheAffs)
}

func TestMucLightSpecExample(t *testing.T) {
	cfg, err := Parse([]byte(WithoutModules(DefaultTOML, "mod_muc_light")+`
[modules.mod_muc_light]
  host = "muclight.@HOST@"
  backend = "rdbms"
  equal_occupants = false
  rooms_per_user = 100
  blocking = true
  all_can_configure = false
  all_can_invite = true
  max_occupants = 50
  rooms_per_page = 10
  rooms_in_rosters = true
  allow_multiple_owners = false
  promote_on_last_owner_leave = true

  [modules.mod_muc_light.cache_affs]
    strategy = "fifo"
    time_to_live = 2
    number_of_segments = 3

  [[modules.mod_muc_light.config_schema]]
    field = "subject"
    string_value = ""

  [[modules.mod_muc_light.config_schema]]
    field = "roomname"
    string_value = "Untitled"

  [[modules.mod_muc_light.config_schema]]
    field = "display-lines"
    integer_value = 30
    internal_key = "display_lines"

  [[modules.mod_muc_light.config_schema]]
    field = "roomname"
    string_value = "Second"
`), "t.toml")
	require.NoError(t, err)
	m := cfg.Modules.MucLight
	require.Equal(t, Limit(100), m.RoomsPerUser)
	require.Equal(t, Limit(50), m.MaxOccupants)
	require.True(t, m.AllCanInvite && m.RoomsInRosters)
	require.Equal(t, "fifo", m.CacheAffs.Strategy)
	// Sorted by field name, de-duplicated, the first occurrence winning.
	require.Len(t, m.ConfigSchema, 3)
	require.Equal(t, "display-lines", m.ConfigSchema[0].Field)
	require.Equal(t, "integer", m.ConfigSchema[0].Type())
	require.Equal(t, "display_lines", m.ConfigSchema[0].InternalKey)
	require.Equal(t, "Untitled", *m.ConfigSchema[1].StringValue)
}

func TestMucLightRejects(t *testing.T) {
	for name, body := range map[string]string{
		"two values":     "[[modules.mod_muc_light.config_schema]]\nfield = \"a\"\nstring_value = \"x\"\ninteger_value = 1\n",
		"no value":       "[[modules.mod_muc_light.config_schema]]\nfield = \"a\"\n",
		"roomname type":  "[[modules.mod_muc_light.config_schema]]\nfield = \"a\"\ninteger_value = 1\ninternal_key = \"roomname\"\n",
		"backend":        "[modules.mod_muc_light]\nbackend = \"nodejs\"\n",
		"rooms_per_user": "[modules.mod_muc_light]\nrooms_per_user = \"lots\"\n",
		"unknown key":    "[modules.mod_muc_light]\nlegacy_mode = true\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(WithoutModules(DefaultTOML, "mod_muc_light")+"\n"+body), "t.toml")
			require.Error(t, err)
			require.Contains(t, err.Error(), "mod_muc_light")
		})
	}
}
