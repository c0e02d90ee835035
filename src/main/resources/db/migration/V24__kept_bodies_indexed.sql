-- Narrowing what an endpoint or integration receives forgets the bodies that stream messages of earlier
-- releases kept (a stream message now keeps none). That statement read every message of the endpoints,
-- millions on a busy one, under the integration's lock, on every PATCH of event types. This index holds
-- only the messages that keep such a body: none are written now, and a delivery's update changes neither
-- column, so it stays in place. Nodes of the previous release run beside it (the compatibility window
-- stays); their failed messages with a body enter it.
CREATE INDEX webhook_messages_kept_bodies ON webhook_messages (endpoint_pk)
    WHERE body IS NOT NULL AND first_seq IS NOT NULL;
