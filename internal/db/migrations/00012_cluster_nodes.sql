-- Cluster discovery (docs/cluster.md, "Discovery"): one row per node of a
-- cluster, refreshed every 5 s by the node itself. updated_at is in
-- microseconds since the Unix epoch from the database clock; rows not
-- refreshed for an hour are deleted by any node, and a node deletes its own
-- row when it stops. address is the advertised NATS route address (empty
-- when the nodes use an external NATS), instance the random id of the node's
-- current process.

-- +goose Up
CREATE TABLE cluster_nodes (
    cluster_name TEXT   NOT NULL,
    node_name    TEXT   NOT NULL,
    instance     TEXT   NOT NULL,
    address      TEXT   NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (cluster_name, node_name)
);

-- +goose Down
DROP TABLE cluster_nodes;
