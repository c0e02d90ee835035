-- The size of each record's and event's data as the API writes it out (its JSON text), kept with the
-- row. Pages are bounded by bytes as well as by count (RecordStore.list, EventLog), and summing this
-- column finds where a page stops without reading or converting the data of rows it will not return.
-- PostgreSQL computes it on every write; adding it rewrites both tables once.
ALTER TABLE records ADD COLUMN data_bytes int GENERATED ALWAYS AS (octet_length(data::text)) STORED;
ALTER TABLE events ADD COLUMN data_bytes int GENERATED ALWAYS AS (octet_length(data::text)) STORED;
