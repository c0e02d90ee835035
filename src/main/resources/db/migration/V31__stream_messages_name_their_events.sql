-- A stream message is a range of its stream's log, and its body is built again from that range for each
-- retry, through the stream's filter as it is then. A range also holds the events the filter passed over
-- when the message was written; once the endpoint's event types or the integration's permissions widened,
-- a retry carried them too, under the same webhook-id (a receiver that had handled the first attempt
-- skipped them as a repeat) and past maxBatchSize. Such a message now keeps the seqs of the events it
-- carries, and a retry sends those of them the filter still lets through, never more. Null: the message
-- carries every event of its range (most do: every message whose filter lets every event through).
-- A nullable column: nodes of the previous release run beside it, writing and reading none (the
-- compatibility window stays).
ALTER TABLE webhook_messages ADD COLUMN seqs bigint[];

-- Failed messages of one stream retried together (POST …/messages/retry) went out at once, in any order:
-- each now waits for the older ones of its stream to be delivered or failed again, as a stream's own
-- messages do. This index holds the few retried messages (and tests) only. Not by status: a column named
-- in any index's predicate makes every update of it write every index, and delivery sets the status of
-- every message (see V3).
CREATE INDEX webhook_messages_retried ON webhook_messages (webhook_stream_pk, first_seq) WHERE lane = 'manual';
