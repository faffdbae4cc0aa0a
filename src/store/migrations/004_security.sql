-- Security (issue 7): tenant tokens, secret rotation, audit log.

-- Tenant API tokens. Only the sha256 of a token is kept; the token itself is shown once,
-- when it is made. `hint` (its last four characters) lets a person tell tokens apart.
CREATE TABLE api_tokens (
  id text PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name text NOT NULL DEFAULT '',
  token_sha256 text NOT NULL,
  hint text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz
);
-- Every authenticated request looks its token up here.
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_sha256);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id, id);

-- Secrets an endpoint signed with before its last rotation, still accepted by receivers
-- until each one's expiry: sealed JSON [{"secret": "...", "expires_at": "ISO time"}].
ALTER TABLE endpoints ADD COLUMN previous_secrets text;

-- Who did what, when and from where, for every management call.
CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL,
  -- 'admin', or the tenant token's id.
  actor text NOT NULL,
  actor_tenant_id text,
  -- The tenant acted on (the route's :tid), when there is one. No foreign key: the record
  -- outlives a deleted tenant.
  tenant_id text,
  -- "METHOD /route/:pattern", e.g. "POST /v1/tenants/:tid/endpoints/:eid/secret/rotate".
  action text NOT NULL,
  -- The route's parameters and, for a creation, the new object's id.
  target json NOT NULL DEFAULT '{}',
  status integer NOT NULL,
  ip text,
  request_id text
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id DESC);
CREATE INDEX audit_log_action ON audit_log (action, id DESC);
CREATE INDEX audit_log_at ON audit_log (at);
