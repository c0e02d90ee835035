-- An endpoint's test messages, newest first: POST …/test counts those still waiting among the newest,
-- so that they stay few, reading this small index instead of every message of a busy endpoint. Its
-- columns are ones a delivery's update never changes (status, which it does, is in no index, so that
-- update stays in place). Nodes of the previous release run beside it (the compatibility window stays):
-- they never read it.
CREATE INDEX webhook_messages_endpoint_tests ON webhook_messages (endpoint_pk, pk)
    WHERE lane = 'manual' AND first_seq IS NULL;
