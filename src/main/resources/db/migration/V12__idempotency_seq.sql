-- The position of the event a create appended, kept with its idempotency key: a retried create (over
-- HTTP or a WebSocket request) answers with the first one's seq, so a socket client can tell which
-- event was its write's. Keys stored before this migration have none.
ALTER TABLE idempotency_keys ADD COLUMN seq bigint;
