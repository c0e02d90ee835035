-- An endpoint the operator disabled (the admin key or an operator session: to stop it flooding a third
-- party, say) stays disabled until the operator enables it: its integration's client key and portal
-- sessions may change it but not enable it (403 disabled_by_operator). They could undo the operator's
-- disable at once. Nodes of the previous release run beside it (the compatibility window stays): they
-- neither set nor check it.
ALTER TABLE webhook_endpoints ADD COLUMN disabled_by_operator boolean NOT NULL DEFAULT false;
