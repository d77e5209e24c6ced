-- MUC Light rooms (docs/modules/mod_muc_light.md). Room ids are the
-- dialect's generated key (AutoID in internal/db/dialect.go). Affiliation
-- 1 = owner, 2 = member; block kind 1 = room, 2 = user, as in MongooseIM.

-- +goose Up
CREATE TABLE muc_light_rooms (
    id {{.AutoID}},
    luser   VARCHAR(250) NOT NULL,
    lserver VARCHAR(250) NOT NULL,
    version VARCHAR(20)  NOT NULL,
    UNIQUE (lserver, luser)
);

CREATE TABLE muc_light_occupants (
    room_id     BIGINT       NOT NULL REFERENCES muc_light_rooms (id) ON DELETE CASCADE,
    luser       VARCHAR(250) NOT NULL,
    lserver     VARCHAR(250) NOT NULL,
    aff         SMALLINT     NOT NULL,
    UNIQUE (room_id, lserver, luser)
);
CREATE INDEX i_muc_light_occupants_id ON muc_light_occupants (room_id);
CREATE INDEX i_muc_light_occupants_us ON muc_light_occupants (lserver, luser);

CREATE TABLE muc_light_config (
    room_id BIGINT       NOT NULL REFERENCES muc_light_rooms (id) ON DELETE CASCADE,
    opt     VARCHAR(100) NOT NULL,
    val     VARCHAR(250) NOT NULL,
    UNIQUE (room_id, opt)
);
CREATE INDEX i_muc_light_config ON muc_light_config (room_id);

CREATE TABLE muc_light_blocking (
    luser   VARCHAR(250) NOT NULL,
    lserver VARCHAR(250) NOT NULL,
    what    SMALLINT     NOT NULL,
    who     VARCHAR(500) NOT NULL,
    UNIQUE (lserver, luser, what, who)
);
CREATE INDEX i_muc_light_blocking_su ON muc_light_blocking (lserver, luser);

-- +goose Down
DROP TABLE muc_light_blocking;
DROP TABLE muc_light_config;
DROP TABLE muc_light_occupants;
DROP TABLE muc_light_rooms;
