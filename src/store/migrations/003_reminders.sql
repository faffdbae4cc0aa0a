-- Tidings schema, version 3: reminders (scheduled webhooks); see DESIGN "Reminders".
--
-- Locking rule that keeps the scheduler deadlock-free: whoever writes the slots of an anchor
-- holds that anchor's row lock first (the API by updating or SELECT … FOR UPDATE of the
-- anchor, the scheduler by claiming anchors with FOR UPDATE SKIP LOCKED). Slot rows are
-- therefore never contended on their own.

-- When to fire, per tenant and event type. subject '' is the tenant's default for the type;
-- a rule with a subject (an account) overrides the default for that subject only.
CREATE TABLE reminder_rules (
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  event_type text NOT NULL,
  subject text NOT NULL DEFAULT '',
  -- Canonical offset texts ("-2 days") as the tenant configured them; empty with no
  -- periodic_interval means "once, at the anchor".
  offsets text[] NOT NULL DEFAULT '{}',
  periodic_interval text CHECK (periodic_interval IN ('HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY')),
  business_days text CHECK (business_days IN ('following', 'preceding')),
  -- Asked for the current payload just before each firing (optional).
  refresh_url text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, event_type, subject)
);

-- A fact the producer states: subject S has a moment (a due date, a delinquency) at `at`.
CREATE TABLE reminder_anchors (
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  anchor_id text NOT NULL,
  event_type text NOT NULL,
  subject text NOT NULL,
  at timestamptz NOT NULL,
  -- IANA zone the calendar arithmetic is done in.
  time_zone text NOT NULL,
  window_start timestamptz,
  window_end timestamptz,
  -- json, not jsonb: the payload goes out with the producer's exact text.
  payload json NOT NULL,
  channels text[] NOT NULL DEFAULT '{}',
  resolved_at timestamptz,
  -- Who resolved it: 'api', or 'refresh' (the producer's refresh_url said so).
  resolution text,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, anchor_id)
);
-- A rule change re-plans the open anchors it governs; they are found here.
CREATE INDEX reminder_anchors_open ON reminder_anchors (tenant_id, event_type, subject)
  WHERE resolved_at IS NULL;

-- A tenant's business calendar (weekend days, holidays) for business-day rules.
CREATE TABLE reminder_calendars (
  tenant_id text PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  time_zone text,
  weekend_days integer[] NOT NULL,
  holidays text[] NOT NULL,
  updated_at timestamptz NOT NULL
);

-- One row per fire time of an anchor. The unique key (tenant, anchor, slot key) is what makes
-- a slot publish exactly once: the event is written in the same transaction that moves the
-- slot from planned to fired, and a fired slot is never planned again.
-- Periodic rules are planned a few periods ahead and extended as they fire.
CREATE TABLE reminder_slots (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id text NOT NULL,
  anchor_id text NOT NULL,
  slot_key text NOT NULL,
  due_at timestamptz NOT NULL,
  state text NOT NULL DEFAULT 'planned' CHECK (state IN ('planned', 'fired', 'skipped', 'cancelled')),
  -- Not before: a slot whose refresh_url is being asked is leased (locked_by set) until
  -- locked_until; a failed refresh backs off the same way (locked_by NULL).
  locked_until timestamptz,
  locked_by text,
  refresh_attempts integer NOT NULL DEFAULT 0,
  last_error text,
  event_id text,
  fired_at timestamptz,
  late boolean,
  -- Why a slot was skipped or cancelled.
  reason text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  FOREIGN KEY (tenant_id, anchor_id) REFERENCES reminder_anchors (tenant_id, anchor_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX reminder_slots_key ON reminder_slots (tenant_id, anchor_id, slot_key);
-- The scheduler's only way in: the due slice of planned slots, oldest first. Planned slots
-- far in the future cost an index entry each and nothing else.
CREATE INDEX reminder_slots_due ON reminder_slots (due_at) WHERE state = 'planned';
