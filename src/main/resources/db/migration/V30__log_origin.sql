-- A database restored from a backup (pg_restore, point-in-time recovery) or promoted from a replica that
-- lagged goes back to an earlier head, and each tenant's next events would take seqs that partners had
-- already read past for other events: a feed, socket or webhook receiver holding a saved position skipped
-- them without a sign. This row tells that it happened. pg_restore writes it anew (its xmin is then not the
-- transaction that wrote it, written_by); recovery and promotion move to a new timeline. A node that finds
-- either at start numbers each tenant's next event JUMP (10,000,000,000) past its head, beyond any position
-- a partner may hold, and notes the head it jumped from (jumped_from) so that lags counted as a span of
-- seqs leave the gap out.
CREATE TABLE log_origin (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    written_by xid8 NOT NULL,
    timeline   text,
    jumped_at  timestamptz
);

ALTER TABLE streams ADD COLUMN jumped_from bigint;
