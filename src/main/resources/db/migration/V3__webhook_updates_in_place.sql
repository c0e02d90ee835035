-- Delivering a message updates its row and its stream's row. When no column an index covers (or an
-- index's WHERE names) changes, PostgreSQL updates a row in place (a HOT update) without touching any
-- index. So the happy path changes no indexed column: status is in no index, a stream message's
-- next_attempt_at stays null (its stream holds the retry time), and a stream's next_attempt_at is set
-- only while a retry waits.
DROP INDEX webhook_messages_endpoint;
DROP INDEX webhook_messages_manual;
CREATE INDEX webhook_messages_endpoint ON webhook_messages (endpoint_pk, pk);
CREATE INDEX webhook_messages_manual ON webhook_messages (next_attempt_at) WHERE lane = 'manual';
ALTER TABLE webhook_messages SET (fillfactor = 90);
UPDATE webhook_messages SET next_attempt_at = NULL WHERE lane = 'stream';
UPDATE webhook_streams SET next_attempt_at = NULL WHERE next_attempt_at IS NOT NULL AND message_id IS NULL;
