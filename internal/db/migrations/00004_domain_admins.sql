-- Domain administrator passwords (docs/api.md): the password of
-- admin@<domain> on the domain_admin GraphQL endpoint, set by the global
-- administrator with domain.setDomainPassword. Stored as a salted SCRAM
-- SHA-256 key like account passwords (base64 text), never in clear.

-- +goose Up
CREATE TABLE domain_admins (
    domain     TEXT    NOT NULL PRIMARY KEY,
    salt       TEXT    NOT NULL,
    iterations INTEGER NOT NULL,
    stored_key TEXT    NOT NULL,
    server_key TEXT    NOT NULL
);

-- +goose Down
DROP TABLE domain_admins;
