-- The schema compatibility window. During a rolling upgrade the first node of the new release migrates
-- the database while nodes of the previous release still serve. Each node knows the schema it was built
-- for (its newest migration); this row says the oldest such schema that can still run on this database.
-- A node built for an older schema than oldest_node_schema reports not ready (and refuses to start).
--
-- A migration that only adds (a table, a nullable column or one with a default, an index, a function
-- older nodes do not call) leaves the row alone. A migration that older nodes cannot run beside (it
-- drops or renames something they use, adds a NOT NULL column they do not fill, changes what a
-- function they call does) sets oldest_node_schema to the first schema whose nodes can: usually the
-- release before, which already stopped using what is removed (expand, then contract).
CREATE TABLE schema_compatibility (
    only_row           boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    oldest_node_schema text NOT NULL
);

-- Every migration since the previous release's (V9) only adds.
INSERT INTO schema_compatibility (oldest_node_schema) VALUES ('9');
