-- A worker error on a stream (anything but an attempt's outcome: a stored URL the settings now refuse,
-- a bug) releases the stream with a growing next_attempt_at instead of claiming it again at once, and
-- is kept here so the endpoint shows a stuck stream. errors counts the failed runs since the stream
-- last moved; last_error stays as a record of the most recent one. None of these is in an index, so
-- resetting errors on the happy path keeps its updates in place.
ALTER TABLE webhook_streams
    ADD COLUMN errors        int NOT NULL DEFAULT 0,
    ADD COLUMN last_error    text,
    ADD COLUMN last_error_at timestamptz;
