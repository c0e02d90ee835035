-- An endpoint read (every /webhooks/{id} request, and every stream a worker loads) counts its streams
-- in error and finds its latest stream error. Neither column was indexed (V9), so both read every
-- stream of the endpoint: 20,000 rows for an integration connected to 20,000 tenants, for each of
-- those streams' claims. These partial indexes hold only the streams that ever failed that way. A
-- delivery's update writes errors = 0 over the 0 already there and never touches last_error_at, and
-- an index only takes an update out of place when a value it covers changes, so deliveries stay HOT.
-- Nodes of the previous release run beside it (the compatibility window stays): they read the same
-- columns.
CREATE INDEX webhook_streams_in_error ON webhook_streams (endpoint_pk) WHERE errors > 0;
CREATE INDEX webhook_streams_last_error ON webhook_streams (endpoint_pk, last_error_at)
    WHERE last_error_at IS NOT NULL;
