-- A database restored from a backup (pg_restore, point-in-time recovery) or promoted from a replica that
-- lagged goes back to an earlier head, and each tenant's next events would take seqs that partners had
-- already read past for other events: a feed, socket or webhook receiver holding a saved position skipped
-- them without a sign. This row tells that it happened. pg_restore writes it anew (its xmin is then not the
-- transaction that wrote it, written_by); recovery and promotion move to a new timeline. A node that finds
-- either numbers each tenant's next event past every seq handed out before (from the time in microseconds,
-- so a second restore of the same backup numbers past the first's too), and notes the gap it jumped
-- (jumped_from, jumped_to) so that reads and lags leave it out.
CREATE TABLE log_origin (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    written_by xid8 NOT NULL,
    timeline   text,
    jumped_at  timestamptz
);

ALTER TABLE streams ADD COLUMN jumped_from bigint, ADD COLUMN jumped_to bigint;
