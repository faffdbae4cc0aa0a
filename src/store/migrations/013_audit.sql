-- Tidings schema, version 13: what was sent, kept and chained; personal data (issue 14).

-- 1. Every attempt keeps the sha256 (hex) of the exact bytes it sent. Its signature headers
--    are in request_headers already (webhook-id, webhook-timestamp, webhook-signature).
ALTER TABLE attempts ADD COLUMN body_sha256 text;

-- 2. The exact body, compressed (src/delivery/keptBody.ts), for TIDINGS_BODY_RETENTION_DAYS;
--    then only the hash on the attempt stays. A table of its own rather than a column of
--    attempts: the attempts rows stay as narrow as they were, and retention deletes whole
--    rows here (walking the primary key, which follows created_at) instead of rewriting
--    attempts rows. The ack inserts attempts and bodies in one statement (ack.ts).
CREATE TABLE attempt_bodies (
  attempt_id bigint PRIMARY KEY,
  created_at timestamptz NOT NULL,
  body bytea NOT NULL
);
-- Already compressed: no second (pglz) compression; out of line only when large.
ALTER TABLE attempt_bodies ALTER COLUMN body SET STORAGE EXTERNAL;

-- 3. The hash chain of attempts, per tenant, written by the sealer (delivery/auditChain.ts)
--    behind the acks, never by them: no ack waits for a chain lock. record hash =
--    sha256(previous record hash || leaf), leaf = sha256(the attempt's canonical fields).
--    Records are never deleted: when retention (or the deletion of an endpoint or tenant)
--    removes an attempt, its record stays with pruned_at set, so the chain still verifies.
CREATE TABLE attempt_chain (
  tenant_id text NOT NULL,
  seq bigint NOT NULL,
  attempt_id bigint NOT NULL,
  leaf bytea NOT NULL,
  hash bytea NOT NULL,
  sealed_at timestamptz NOT NULL,
  pruned_at timestamptz,
  PRIMARY KEY (tenant_id, seq)
);
-- Pruning marks records by attempt; verify looks up whether an attempt was sealed.
CREATE UNIQUE INDEX attempt_chain_attempt ON attempt_chain (attempt_id);

-- Each tenant's last record: where the next one chains on.
CREATE TABLE attempt_chain_heads (
  tenant_id text PRIMARY KEY,
  seq bigint NOT NULL,
  hash bytea NOT NULL,
  updated_at timestamptz NOT NULL
);

-- One row: how far the sealer has walked the attempts (by id), and the row lock that makes
-- one sealer run at a time across every worker (FOR UPDATE SKIP LOCKED: the others skip).
CREATE TABLE attempt_chain_state (
  id integer PRIMARY KEY CHECK (id = 1),
  sealed_through bigint NOT NULL DEFAULT 0,
  -- created_at of the last attempt sealed (verify: an unsealed attempt far older is inserted).
  sealed_created_at timestamptz,
  checkpoint_at timestamptz
);
INSERT INTO attempt_chain_state (id) VALUES (1);

-- Signed checkpoints (also published to the operator tenant as tidings.audit.checkpoint).
CREATE TABLE attempt_chain_checkpoints (
  tenant_id text NOT NULL,
  seq bigint NOT NULL,
  hash bytea NOT NULL,
  created_at timestamptz NOT NULL,
  public_key text NOT NULL,
  signature text NOT NULL,
  PRIMARY KEY (tenant_id, seq)
);

-- 4. Personal data: JSON pointers of an event type's payload shown as "[redacted]" to
--    tenants (portal, tenant tokens); the wire body is unchanged.
ALTER TABLE event_types ADD COLUMN redact text[];

-- An erased event keeps its id, its hashes and its deliveries' records; its payload is gone.
ALTER TABLE events ADD COLUMN erased_at timestamptz;
-- sha256 (hex) of the payload text as it was, kept when it is erased.
ALTER TABLE events ADD COLUMN erased_payload_sha256 text;
