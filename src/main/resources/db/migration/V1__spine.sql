-- Switchboard's spine: tenants, integrations, connections, collections, records and the event log.
-- Public ids are text with a type prefix; rows reference each other by compact bigint keys.

CREATE TABLE settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE tenants (
    pk         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         text NOT NULL UNIQUE,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE integrations (
    pk              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              text NOT NULL UNIQUE,
    name            text NOT NULL,
    client_key_hash bytea NOT NULL UNIQUE,
    read_collections  text[] NOT NULL,
    write_collections text[] NOT NULL,
    event_types     text[] NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE connections (
    pk             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             text NOT NULL UNIQUE,
    integration_pk bigint NOT NULL REFERENCES integrations,
    tenant_pk      bigint NOT NULL REFERENCES tenants,
    token_hash     bytea NOT NULL UNIQUE,
    state          text NOT NULL CHECK (state IN ('enabled', 'disabled')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (integration_pk, tenant_pk)
);
CREATE INDEX connections_tenant ON connections (tenant_pk);

CREATE TABLE collections (
    pk           int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    schema       jsonb,
    event_fields text[] NOT NULL DEFAULT '{}',
    source       text NOT NULL CHECK (source IN ('config', 'api')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE records (
    tenant_pk     bigint NOT NULL REFERENCES tenants,
    collection_pk int NOT NULL REFERENCES collections,
    id            uuid NOT NULL,
    version       int NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    data          jsonb NOT NULL,
    PRIMARY KEY (tenant_pk, collection_pk, id)
);
CREATE INDEX records_updated ON records (tenant_pk, collection_pk, updated_at, id);

-- A stream is one ordered log: a tenant's events, or an integration's lifecycle events.
-- last_seq is the per-stream counter that makes seq dense and commit-ordered: a writer bumps it as
-- the last statement before commit, so the row lock orders the stream's commits (ARCHITECTURE.md).
CREATE TABLE streams (
    pk             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_pk      bigint UNIQUE REFERENCES tenants,
    integration_pk bigint UNIQUE REFERENCES integrations,
    last_seq       bigint NOT NULL DEFAULT 0,
    CHECK ((tenant_pk IS NULL) <> (integration_pk IS NULL))
) WITH (fillfactor = 50);

CREATE TABLE events (
    stream_pk  bigint NOT NULL,
    seq        bigint NOT NULL,
    id         uuid NOT NULL,
    type       text NOT NULL,
    subject    text,
    collection text,          -- set for <collection>.created|updated|deleted: readers need read permission
    time       timestamptz NOT NULL,
    data       jsonb NOT NULL,
    sealed     bytea,         -- secrets a lifecycle event carries (a new access token), encrypted
    PRIMARY KEY (stream_pk, seq)
);
-- Event ids are UUIDv7: time-ordered, so retention deletes a range of this index.
CREATE UNIQUE INDEX events_id ON events (id);

-- Appends one event to a stream and returns its seq. Callers make this the last statement before
-- commit (or the tail of a single-statement write) so the stream's row lock is held only briefly.
CREATE FUNCTION append_event(p_stream bigint, p_id uuid, p_type text, p_subject text,
                             p_collection text, p_time timestamptz, p_data jsonb, p_sealed bytea)
RETURNS bigint LANGUAGE sql AS $$
    WITH s AS (
        UPDATE streams SET last_seq = last_seq + 1 WHERE pk = p_stream RETURNING last_seq
    )
    INSERT INTO events (stream_pk, seq, id, type, subject, collection, time, data, sealed)
    SELECT p_stream, s.last_seq, p_id, p_type, p_subject, p_collection, p_time, p_data, p_sealed FROM s
    RETURNING seq
$$;

CREATE TABLE idempotency_keys (
    scope       text NOT NULL,
    key         text NOT NULL,
    fingerprint bytea NOT NULL,
    status      int,
    body        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
