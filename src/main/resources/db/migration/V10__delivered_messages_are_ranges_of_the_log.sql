-- A stream message that is delivered keeps no copy of its body: its body is its range of the log
-- (first_seq..last_seq of the stream's events, through the stream's filter) and is built again from
-- the events when it is read, or sent again after a crash. A message whose attempt fails keeps its
-- body from then on, so a retry through the API sends exactly what failed. Manual messages (tests,
-- retries) always have one.
ALTER TABLE webhook_messages ALTER COLUMN body DROP NOT NULL;
