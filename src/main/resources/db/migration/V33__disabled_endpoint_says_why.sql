-- A retried message or test failed again because its endpoint was disabled (through the API, by a 410 or
-- its failures, by the operator, by a client key's rotation) kept only the attempts it had made before: it
-- read as failed by its last answer, retried or not. Each now gets an attempt that says it was not sent
-- and why (outcome endpoint_disabled, the endpoint's state_reason), numbered after its others.
CREATE OR REPLACE FUNCTION webhook_manual_messages_of_disabled_endpoint() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH failed AS (
        UPDATE webhook_messages m SET status = 'failed', next_attempt_at = NULL, finished_at = now(),
               attempts = m.attempts + 1
         WHERE m.lane = 'manual' AND m.next_attempt_at IS NOT NULL AND m.endpoint_pk = NEW.pk
           AND m.status = 'pending' AND (m.lease_until IS NULL OR m.lease_until < now())
        RETURNING m.pk, m.attempts)
    INSERT INTO webhook_attempts (message_pk, n, started_at, duration_ms, status_code, outcome, error)
    SELECT pk, attempts, now(), 0, NULL, 'endpoint_disabled',
           'not sent: the endpoint was disabled (' || coalesce(NEW.state_reason, 'disabled')
               || '); retry it once the endpoint is enabled again'
      FROM failed
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
