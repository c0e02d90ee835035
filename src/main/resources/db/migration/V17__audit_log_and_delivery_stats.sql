-- The audit log: one row per change made through the API by the admin key, a client key, or a console
-- or portal session (who, what, when), written right after the change. Listed newest first by pk.
CREATE TABLE audit_log (
    pk                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                   timestamptz NOT NULL,
    actor_kind           text NOT NULL CHECK (actor_kind IN ('operator', 'portal', 'admin_key', 'client_key')),
    actor_session_id     text,
    actor_integration_id text,
    action               text NOT NULL,
    target_type          text,
    target_id            text,
    details              jsonb,
    request_id           text
);

-- Delivery counts per endpoint per minute, aggregated in memory by each node and written by one
-- statement a minute (never one per delivered message). The histograms count attempt durations and
-- delivery lag (commit of a message's oldest event to the receiver's 2xx) in fixed buckets
-- (DeliveryStats.BOUNDS_MS); percentiles are read from their sums. Each node also writes the minute's
-- sum over all its endpoints as endpoint_id '*', so the chart of everything reads a row a minute a node.
CREATE TABLE delivery_stats (
    minute          timestamptz NOT NULL,
    endpoint_id     text NOT NULL,
    node_id         text NOT NULL,
    delivered       int NOT NULL,
    failed          int NOT NULL,          -- messages abandoned
    failed_attempts int NOT NULL,          -- attempts that did not deliver (retried or abandoned)
    latency         int[] NOT NULL,        -- attempt durations
    lag             int[] NOT NULL,        -- delivered messages' lag
    PRIMARY KEY (minute, endpoint_id, node_id)
);
CREATE INDEX delivery_stats_endpoint ON delivery_stats (endpoint_id, minute);
