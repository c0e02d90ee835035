-- The trace context of the write that appended an event (its W3C traceparent), when tracing was on and
-- the write was sampled; NULL otherwise. Webhook attempts and WebSocket fan-outs, on any node, read it
-- with the event and continue that trace (ARCHITECTURE.md, Tracing).
ALTER TABLE events ADD COLUMN trace_context text;

-- append_event with the trace context as one more argument. The eight-argument function stays, unchanged,
-- for nodes built for older schemas (they never pass one): this migration only adds, so
-- schema_compatibility is left alone.
CREATE FUNCTION append_event(p_stream bigint, p_id uuid, p_type text, p_subject text,
                             p_collection text, p_time timestamptz, p_data jsonb, p_sealed bytea,
                             p_trace_context text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_seq bigint;
BEGIN
    UPDATE streams SET last_seq = last_seq + 1 WHERE pk = p_stream RETURNING last_seq INTO v_seq;
    IF v_seq IS NULL THEN
        RAISE EXCEPTION 'no stream %', p_stream;
    END IF;
    INSERT INTO events (stream_pk, seq, id, type, subject, collection, time, data, sealed, trace_context)
    VALUES (p_stream, v_seq, p_id, p_type, p_subject, p_collection, p_time, p_data, p_sealed, p_trace_context);
    RETURN v_seq;
END
$$;
