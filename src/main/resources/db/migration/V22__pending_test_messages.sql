-- An endpoint's test messages still to be sent, counted at each POST …/test so that they stay few: the
-- count reads this small index instead of every message of a busy endpoint. Nodes of the previous
-- release run beside it (the compatibility window stays): they never read it.
CREATE INDEX webhook_messages_pending_tests ON webhook_messages (endpoint_pk)
    WHERE lane = 'manual' AND status = 'pending' AND first_seq IS NULL;
