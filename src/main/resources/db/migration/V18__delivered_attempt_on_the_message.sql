-- The attempt that delivers a message is kept on the message's row instead of a row of its own in
-- webhook_attempts. Nearly every message is delivered at its first attempt, and that row (a heap tuple,
-- an index entry, a foreign-key check) was about a third of the database's writes per delivered message.
-- webhook_attempts keeps the attempts that failed; a message's attempts are both together. Attempts
-- recorded before this migration stay where they are. Nullable columns without a default: adding them
-- rewrites nothing, and nodes of the previous release run beside (during a rolling upgrade they show
-- no delivering attempt for messages the new nodes delivered; the new nodes show all of them).
ALTER TABLE webhook_messages
    ADD COLUMN delivered_started_at  timestamptz,
    ADD COLUMN delivered_duration_ms int,
    ADD COLUMN delivered_status_code int,
    ADD COLUMN delivered_response    text;
