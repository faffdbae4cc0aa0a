-- The tenant portal: one-time sign-in links and the sessions they start.
-- Only sha256 digests of the tokens are stored: a copy of the database cannot be used to
-- sign in. Both belong to a tenant and go with it.

CREATE TABLE portal_links (
  id text PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  token_sha256 text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  -- Set once, by the statement that starts the session: a link is good for one sign-in.
  used_at timestamptz
);
CREATE INDEX portal_links_expires ON portal_links (expires_at);

CREATE TABLE portal_sessions (
  id text PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  token_sha256 text NOT NULL UNIQUE,
  link_id text,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz
);
CREATE INDEX portal_sessions_tenant ON portal_sessions (tenant_id, expires_at);
CREATE INDEX portal_sessions_expires ON portal_sessions (expires_at);
