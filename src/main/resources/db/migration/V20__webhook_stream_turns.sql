-- When a webhook stream was last claimed: claims take the streams that waited longest first, so an
-- integration with more busy streams than its share of a node serves them in turns instead of always
-- the same few. Only adds: a node of the previous release leaves it NULL, which sorts first.
ALTER TABLE webhook_streams ADD COLUMN claimed_at timestamptz;
