-- An operator session stands for the admin key that opened it. It keeps a keyed hash of that key (an
-- HMAC under the sealing key, so the column tells a reader of the database nothing about the key), and
-- a session whose key is no longer the admin key is refused: changing SWITCHBOARD_ADMIN_KEY ends every
-- operator session opened with the old one. Only adds: a node of the previous release writes NULL here,
-- and nodes of this one refuse such a session (its operator signs in again).
ALTER TABLE console_sessions ADD COLUMN admin_key_mac bytea;
