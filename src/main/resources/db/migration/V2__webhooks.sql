-- Webhooks: endpoints, their signing secrets, one delivery stream per (endpoint, event stream), the
-- messages sent on them and every attempt. ARCHITECTURE.md explains the delivery design.

CREATE TABLE webhook_endpoints (
    pk              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              text NOT NULL UNIQUE,
    integration_pk  bigint NOT NULL REFERENCES integrations,
    url             text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('events', 'lifecycle')),
    event_types     text[] NOT NULL,
    max_batch_size  int NOT NULL CHECK (max_batch_size BETWEEN 1 AND 1000),
    retry_delays_ms bigint[],           -- null: the server's webhooks.retryDelays
    state           text NOT NULL CHECK (state IN ('enabled', 'failing', 'disabled')),
    state_reason    text,               -- why it is failing or disabled
    failing_since   timestamptz,        -- first failure since the last success
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_integration ON webhook_endpoints (integration_pk);

-- Signing secrets, sealed (they must be read back to sign). The current one has no expiry; a rotated-out
-- one keeps signing until expires_at.
CREATE TABLE webhook_secrets (
    endpoint_pk bigint NOT NULL REFERENCES webhook_endpoints ON DELETE CASCADE,
    sealed      bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz
);
CREATE INDEX webhook_secrets_endpoint ON webhook_secrets (endpoint_pk);

-- A delivery stream: one endpoint following one event stream (a connected tenant's events, or the
-- integration's lifecycle events). position is the last seq delivered, abandoned or passed over as not
-- matching; only the node holding the lease sends on it or moves it.
CREATE TABLE webhook_streams (
    pk              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_pk     bigint NOT NULL REFERENCES webhook_endpoints ON DELETE CASCADE,
    stream_pk       bigint NOT NULL REFERENCES streams,
    connection_pk   bigint REFERENCES connections ON DELETE CASCADE, -- null for lifecycle streams
    position        bigint NOT NULL,
    message_id      uuid,               -- the message being delivered (pending), if any
    next_attempt_at timestamptz,        -- when that message is tried next
    rewind_to       bigint,             -- a replay asked to re-send after this position
    leased_by       text,
    lease_until     timestamptz,
    UNIQUE (endpoint_pk, stream_pk)
) WITH (fillfactor = 70);
CREATE INDEX webhook_streams_stream ON webhook_streams (stream_pk);
CREATE INDEX webhook_streams_retry ON webhook_streams (next_attempt_at) WHERE next_attempt_at IS NOT NULL;

-- One webhook request and its retries. Stream messages are sent in order on their stream; manual ones
-- (a test, a retried abandoned message) on their own, leased like streams.
CREATE TABLE webhook_messages (
    pk                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                uuid NOT NULL UNIQUE,
    endpoint_pk       bigint NOT NULL REFERENCES webhook_endpoints ON DELETE CASCADE,
    webhook_stream_pk bigint REFERENCES webhook_streams ON DELETE CASCADE,
    lane              text NOT NULL CHECK (lane IN ('stream', 'manual')),
    tenant_id         text,             -- null for lifecycle and test messages
    first_seq         bigint,
    last_seq          bigint,
    event_count       int NOT NULL,
    body              text NOT NULL,
    status            text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts          int NOT NULL DEFAULT 0,
    round_start       int NOT NULL DEFAULT 0, -- attempts made before the current round (a manual retry starts one)
    next_attempt_at   timestamptz,
    leased_by         text,
    lease_until       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz
);
CREATE INDEX webhook_messages_endpoint ON webhook_messages (endpoint_pk, status, pk);
CREATE INDEX webhook_messages_stream ON webhook_messages (webhook_stream_pk);
CREATE INDEX webhook_messages_manual ON webhook_messages (next_attempt_at) WHERE lane = 'manual' AND status = 'pending';

CREATE TABLE webhook_attempts (
    message_pk    bigint NOT NULL REFERENCES webhook_messages ON DELETE CASCADE,
    n             int NOT NULL,
    started_at    timestamptz NOT NULL,
    duration_ms   int NOT NULL,
    status_code   int,
    outcome       text NOT NULL,        -- delivered, or the kind of failure
    error         text,
    response_body text,                 -- the first 4 KiB
    PRIMARY KEY (message_pk, n)
);
