-- The dispatcher's claim of due manual messages (four times a second on every node, and whenever a slot
-- frees) looked at every retried message waiting, to find each stream's oldest and whether one of its
-- stream is being sent: about 10 ms a claim at 2,000 waiting and 100 ms at 10,000, for as long as a bulk
-- retry lasted (17 s of PostgreSQL's time while 20,000 were sent, the claims finding nothing to take
-- most of the time). With these two, a claim reads a few index entries per stream with messages waiting.
--
-- The messages waiting (a manual message has a next attempt exactly while it waits), by stream and in
-- the order a stream's retries go. Not by status: a column named in any index's predicate makes every
-- update of it write every index, and delivery sets the status of every message (see V3). It replaces
-- V3's index of every manual message by its next attempt: each query that read that one looks for the
-- waiting ones, which this holds alone (the other kept every manual message delivered or failed), and
-- while the table's statistics were older than a bulk retry (they said none waits) the planner read the
-- stream's oldest through it, every message waiting read and sorted.
DROP INDEX webhook_messages_manual;
CREATE INDEX webhook_messages_waiting ON webhook_messages (webhook_stream_pk, first_seq, pk)
    WHERE lane = 'manual' AND next_attempt_at IS NOT NULL;

-- The manual messages leased to a node (being sent, or left by a node that stopped), by stream: a stream
-- with one being sent has nothing else claimed.
CREATE INDEX webhook_messages_sending ON webhook_messages (webhook_stream_pk)
    WHERE lane = 'manual' AND leased_by IS NOT NULL;
