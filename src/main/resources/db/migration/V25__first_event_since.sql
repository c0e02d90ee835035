-- The first event of a stream stamped at or after a time (a replay "since"): no index covers time, and
-- min(seq) WHERE time >= since read the stream's log from its oldest event, tens of millions of rows
-- for a busy tenant, for each stream a replay moves. Events are stamped just before they are appended,
-- so time follows seq but for writers that waited on one another or node clocks apart. A binary search
-- over seq (the log has no gaps between its oldest and newest event) finds where the events stamped a
-- minute before the time begin, in some 26 lookups for 50 million events; the events from there on are
-- read for the first one at or after it. Only an event appended before one stamped more than a minute
-- earlier than itself (node clocks a minute apart) can be passed over.
CREATE FUNCTION first_event_since(p_stream bigint, p_since timestamptz) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    lo  bigint;
    hi  bigint;
    mid bigint;
    t   timestamptz;
BEGIN
    SELECT min(seq), max(seq) INTO lo, hi FROM events WHERE stream_pk = p_stream;
    IF lo IS NULL THEN
        RETURN NULL;
    END IF;
    WHILE lo < hi LOOP
        mid := lo + (hi - lo) / 2;
        SELECT time INTO t FROM events WHERE stream_pk = p_stream AND seq = mid;
        -- missing: retention removed it meanwhile, and everything before it
        IF t IS NULL OR t < p_since - interval '1 minute' THEN
            lo := mid + 1;
        ELSE
            hi := mid;
        END IF;
    END LOOP;
    RETURN (SELECT min(seq) FROM events WHERE stream_pk = p_stream AND seq >= lo AND time >= p_since);
END
$$;
