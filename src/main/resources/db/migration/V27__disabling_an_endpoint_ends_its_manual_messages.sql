-- An endpoint disabled (through the API, by its failures, or by a client key's rotation) has its manual
-- messages that wait to be sent (tests, failed messages retried through the API) failed again: they
-- were kept pending, past the retention, and every node's claim of due manual messages read them four
-- times a second while the endpoint stayed disabled; a partner could retry ten thousand at a time, then
-- disable the endpoint. A test or retry of a disabled endpoint is refused (409); once it is enabled
-- again, they are retried like any failed message. One in flight is left to its attempt, which records
-- its outcome; rows being recorded are leased, so this update never waits for them. A row trigger whose
-- condition is checked without calling the function: the delivery steps' updates of endpoints (failing
-- back to enabled) cost nothing more.
CREATE FUNCTION webhook_manual_messages_of_disabled_endpoint() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE webhook_messages m SET status = 'failed', next_attempt_at = NULL, finished_at = now()
     WHERE m.lane = 'manual' AND m.next_attempt_at IS NOT NULL AND m.endpoint_pk = NEW.pk
       AND m.status = 'pending' AND (m.lease_until IS NULL OR m.lease_until < now());
    RETURN NULL;
END $$;

CREATE TRIGGER webhook_endpoints_disabled_manual_messages AFTER UPDATE OF state ON webhook_endpoints
    FOR EACH ROW WHEN (NEW.state = 'disabled' AND OLD.state <> 'disabled')
    EXECUTE FUNCTION webhook_manual_messages_of_disabled_endpoint();

-- Those already waiting on an endpoint disabled before this migration
UPDATE webhook_messages m SET status = 'failed', next_attempt_at = NULL, finished_at = now()
  FROM webhook_endpoints e
 WHERE e.pk = m.endpoint_pk AND e.state = 'disabled' AND m.lane = 'manual' AND m.next_attempt_at IS NOT NULL
   AND m.status = 'pending' AND (m.lease_until IS NULL OR m.lease_until < now());
