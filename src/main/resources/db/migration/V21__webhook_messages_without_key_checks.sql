-- A message row no longer checks its endpoint and stream as foreign keys. Each check was a query and a
-- KEY SHARE lock on the endpoint's and the stream's rows for every message written, thousands a second
-- at batch size 1, where nothing can point at a missing one: a stream message is inserted by the same
-- statement that updates its stream (so a stream being deleted either waits for it or leaves no row
-- to insert for), and a manual one locks its endpoint's row as the check did. What the
-- keys also did, deleting an endpoint's or a stream's messages with it, triggers now do. Nodes of the
-- previous release run beside it (the compatibility window stays): they never named the keys, and
-- their deletes cascade to messages as before.
ALTER TABLE webhook_messages
    DROP CONSTRAINT webhook_messages_endpoint_pk_fkey,
    DROP CONSTRAINT webhook_messages_webhook_stream_pk_fkey;

CREATE FUNCTION webhook_messages_of_deleted_endpoints() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM webhook_messages m USING deleted d WHERE m.endpoint_pk = d.pk;
    RETURN NULL;
END $$;

CREATE TRIGGER webhook_endpoints_delete_messages AFTER DELETE ON webhook_endpoints
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT
    EXECUTE FUNCTION webhook_messages_of_deleted_endpoints();

CREATE FUNCTION webhook_messages_of_deleted_streams() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM webhook_messages m USING deleted d WHERE m.webhook_stream_pk = d.pk;
    RETURN NULL;
END $$;

CREATE TRIGGER webhook_streams_delete_messages AFTER DELETE ON webhook_streams
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT
    EXECUTE FUNCTION webhook_messages_of_deleted_streams();
