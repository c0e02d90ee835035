-- A portal link made with the admin key (or an operator session) keeps a keyed hash of that key, as an
-- operator session does (V19), and so does the portal session opened from it: once the operator changes
-- the admin key (because it leaked), links and sessions the old key made are refused, where they went
-- on working for up to a day and could register a lifecycle endpoint to collect the tokens the
-- operator re-issued. Links a client key made have none: rotating that key ends them. Nodes of the
-- previous release run beside it (the compatibility window stays): the links they make have none.
ALTER TABLE portal_links ADD COLUMN admin_key_mac bytea;
