-- Sessions of the operator console and the partner portal, and the single-use links that open a portal
-- session. Rows, not memory, so every node behind a proxy knows them. Only hashes of the secrets are
-- kept: the cookie's value (token_hash) and the link's token; never the admin key.
CREATE TABLE portal_links (
    id             text PRIMARY KEY,
    token_hash     bytea NOT NULL UNIQUE,
    integration_pk bigint NOT NULL REFERENCES integrations,
    tenant_pk      bigint REFERENCES tenants,          -- null: every tenant of the integration
    capabilities   text[] NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz                          -- set once, by the one exchange that wins
);
CREATE INDEX portal_links_expires ON portal_links (expires_at);

CREATE TABLE console_sessions (
    id                  text PRIMARY KEY,
    token_hash          bytea NOT NULL UNIQUE,
    kind                text NOT NULL CHECK (kind IN ('operator', 'portal')),
    integration_pk      bigint REFERENCES integrations,
    tenant_pk           bigint REFERENCES tenants,
    capabilities        text[] NOT NULL DEFAULT '{}',
    link_id             text REFERENCES portal_links ON DELETE SET NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    idle_expires_at     timestamptz NOT NULL,
    absolute_expires_at timestamptz NOT NULL,
    CHECK ((kind = 'portal') = (integration_pk IS NOT NULL))
);
CREATE INDEX console_sessions_expires ON console_sessions (idle_expires_at);
