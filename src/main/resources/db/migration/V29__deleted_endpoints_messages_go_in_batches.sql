-- Deleting an endpoint deleted its messages and their attempts in the same transaction: millions of
-- rows for a busy endpoint, one statement's worth of trigger events and WAL, all under its integration's
-- lock (which the integration's connection, token and portal changes wait for), on any client key's
-- request. The endpoint's row now goes alone, with its streams; its pk is noted here, and retention
-- deletes its messages in batches on its next pass (a minute at most), then the note. Nothing reads a
-- deleted endpoint's messages meanwhile: every path to a message goes through its endpoint. A stream
-- deleted with its connection, its endpoint staying, still takes its messages at once (they would show
-- in the endpoint's lists), but not one deleted with its endpoint. Nodes of the previous release run
-- beside it (the compatibility window stays): their deletes go through these triggers too, and their
-- retention leaves the noted messages to this release's.
CREATE TABLE deleted_webhook_endpoints (
    endpoint_pk bigint PRIMARY KEY,
    deleted_at  timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION webhook_messages_of_deleted_endpoints() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deleted_webhook_endpoints (endpoint_pk) SELECT pk FROM deleted ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION webhook_messages_of_deleted_streams() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The streams' endpoint deleted in the same statement is no longer visible here: its messages wait
    -- for retention with the rest of the endpoint's.
    DELETE FROM webhook_messages m USING deleted d WHERE m.webhook_stream_pk = d.pk
       AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.pk = d.endpoint_pk);
    RETURN NULL;
END $$;
