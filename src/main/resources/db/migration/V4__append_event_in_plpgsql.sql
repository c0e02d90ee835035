-- append_event as PL/pgSQL: a LANGUAGE sql function whose body modifies data cannot be inlined, and
-- PostgreSQL plans its body again on every call; PL/pgSQL keeps the plans for the session. Measured on
-- the embedded PostgreSQL: about 70 us per call instead of 145-190 us. Same signature, same behaviour:
-- the stream's counter row is bumped (and stays locked until commit), then the event is inserted.
CREATE OR REPLACE FUNCTION append_event(p_stream bigint, p_id uuid, p_type text, p_subject text,
                                        p_collection text, p_time timestamptz, p_data jsonb, p_sealed bytea)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_seq bigint;
BEGIN
    UPDATE streams SET last_seq = last_seq + 1 WHERE pk = p_stream RETURNING last_seq INTO v_seq;
    IF v_seq IS NULL THEN
        RAISE EXCEPTION 'no stream %', p_stream;
    END IF;
    INSERT INTO events (stream_pk, seq, id, type, subject, collection, time, data, sealed)
    VALUES (p_stream, v_seq, p_id, p_type, p_subject, p_collection, p_time, p_data, p_sealed);
    RETURN v_seq;
END
$$;
