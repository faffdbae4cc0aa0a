// Canopy's configurable webhooks, as its reference documents them:
//   PUT /accounts/{account_id}/notification_config
//   {"notification_type": "payment_due_date", "time_offset": "-2 days"}
//   {"notification_type": "account_delinquency", "periodic_interval": "DAILY"}
// Each account's configuration is a reminder rule with the account as subject, so it
// overrides the tenant's default for that type. Repeated PUTs add offsets; a periodic
// interval replaces them (they are kept and come back when the interval is removed);
// a PUT with neither fires once at the anchor (Canopy's "with no offset").
// A new account rule takes business_days and refresh_url from the tenant's default rule.
// DELETE (query or body) removes one offset, the interval, one type, or everything; a
// rule left with nothing configured is removed.
import { type Static, Type } from 'typebox';
import { parseOffset } from '../../scheduler/offsets.js';
import type { RuleInput } from '../../scheduler/rules.js';
import { getRule, listRules } from '../../store/reminders/rules.js';
import type { StoredRule } from '../../store/reminders/types.js';
import { requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { ApiError, unprocessable } from '../errors.js';
import { checkRule, reminderSettingsOf, removeRule, saveRule, storedOffsets } from '../reminderRules.js';
import { errors } from '../schemas.js';
import { ensureTenant } from './endpoints.js';

const AccountParams = Type.Object({
  tid: Type.String({ maxLength: 128 }),
  account_id: Type.String({ minLength: 1, maxLength: 200 }),
});

const ConfigBody = Type.Object(
  {
    notification_type: Type.String({ minLength: 1, maxLength: 128 }),
    time_offset: Type.Optional(Type.String({ maxLength: 100 })),
    periodic_interval: Type.Optional(Type.String({ maxLength: 20 })),
  },
  { additionalProperties: false },
);
type ConfigBody = Static<typeof ConfigBody>;

const DeleteSelector = Type.Object(
  {
    notification_type: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    time_offset: Type.Optional(Type.String({ maxLength: 100 })),
    periodic_interval: Type.Optional(Type.String({ maxLength: 20 })),
  },
  { additionalProperties: false },
);

const ConfigView = Type.Object(
  {
    notification_type: Type.String(),
    time_offsets: Type.Array(Type.String()),
    periodic_interval: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'NotificationConfig' },
);
const ConfigList = Type.Object({
  account_id: Type.String(),
  data: Type.Array(Type.Ref('NotificationConfig')),
});

function configView(r: StoredRule) {
  return { notification_type: r.event_type, time_offsets: r.offsets, periodic_interval: r.periodic_interval };
}

/** Canopy's field names in messages: "offsets[0]" is the "time_offset" the caller sent. */
function canopyWords(message: string): string {
  return message.replace(/^offsets\[\d+\]/, 'time_offset');
}

export async function notificationConfigRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.addSchema(ConfigView);

  const list = async (tid: string, account: string) => ({
    account_id: account,
    data: (await listRules(ctx.db, tid, { subject: account })).map(configView),
  });

  app.put<{ Params: Static<typeof AccountParams>; Body: ConfigBody }>(
    '/v1/tenants/:tid/accounts/:account_id/notification_config',
    {
      schema: {
        tags: ['reminders'],
        summary: "Canopy's notification_config: subscribe an account to a configurable webhook",
        description:
          'notification_type with time_offset ("-2 days"; repeated calls add offsets) or periodic_interval (DAILY, …; replaces the offsets). Answers the type\'s configuration.',
        params: AccountParams,
        body: ConfigBody,
        response: { 200: Type.Ref('NotificationConfig'), ...errors(401, 404, 409, 422) },
      },
    },
    async (req) => {
      const { tid, account_id } = req.params;
      requireTenant(req.principal, tid);
      await ensureTenant(ctx, tid);
      const b = req.body;
      const type = b.notification_type;
      const settings = await reminderSettingsOf(ctx, type);
      const existing = await getRule(ctx.db, tid, type, account_id);
      const base = existing ?? (await getRule(ctx.db, tid, type, ''));
      if (b.time_offset !== undefined) {
        // The new offset alone first, so the message names it and not its neighbours.
        wrapRuleError(() => checkRule({ offsets: [b.time_offset!] }, settings, type));
      }
      const offsets = [...(existing?.offsets ?? []), ...(b.time_offset !== undefined ? [b.time_offset] : [])];
      const input: RuleInput = {
        offsets,
        periodic_interval: b.periodic_interval ?? existing?.periodic_interval ?? null,
        business_days: base?.business_days ?? null,
      };
      const rule = wrapRuleError(() => checkRule(input, settings, type));
      const saved = await saveRule(ctx, {
        tenant_id: tid,
        event_type: type,
        subject: account_id,
        offsets: storedOffsets(input, rule),
        periodic_interval: rule.periodic_interval,
        business_days: rule.business_days,
        refresh_url: base?.refresh_url ?? null,
      });
      return configView(saved.rule);
    },
  );

  app.get<{ Params: Static<typeof AccountParams> }>(
    '/v1/tenants/:tid/accounts/:account_id/notification_config',
    {
      schema: {
        tags: ['reminders'],
        summary: "An account's configurable webhooks",
        params: AccountParams,
        response: { 200: ConfigList, ...errors(401, 404) },
      },
    },
    async (req) => {
      const { tid, account_id } = req.params;
      requireTenant(req.principal, tid);
      await ensureTenant(ctx, tid);
      return list(tid, account_id);
    },
  );

  app.delete<{ Params: Static<typeof AccountParams>; Querystring: Static<typeof DeleteSelector> }>(
    '/v1/tenants/:tid/accounts/:account_id/notification_config',
    {
      schema: {
        tags: ['reminders'],
        summary:
          "Remove an account's configuration: one time_offset, the periodic_interval, one type, or all",
        description:
          'Selector in the query string or the JSON body: notification_type (+ time_offset or periodic_interval). None: every type. Answers what remains.',
        params: AccountParams,
        querystring: DeleteSelector,
        response: { 200: ConfigList, ...errors(401, 404, 422) },
      },
    },
    async (req) => {
      const { tid, account_id } = req.params;
      requireTenant(req.principal, tid);
      await ensureTenant(ctx, tid);
      const sel = { ...req.query, ...selectorFromBody(req.body) };
      if (!sel.notification_type) {
        if (sel.time_offset !== undefined || sel.periodic_interval !== undefined) {
          throw unprocessable(
            'invalid_request',
            'time_offset and periodic_interval need a notification_type.',
          );
        }
        for (const r of await listRules(ctx.db, tid, { subject: account_id })) {
          await removeRule(ctx, tid, r.event_type, account_id);
        }
        return list(tid, account_id);
      }
      const type = sel.notification_type;
      const existing = await getRule(ctx.db, tid, type, account_id);
      if (!existing) throw notConfigured(type, account_id);
      let offsets = existing.offsets;
      let periodic = existing.periodic_interval;
      if (sel.time_offset !== undefined) {
        const parsed = parseOffset(sel.time_offset);
        if (!parsed.ok) throw unprocessable('invalid_rule', `time_offset: ${parsed.message}`);
        if (!offsets.includes(parsed.offset.text)) {
          throw new ApiError(
            404,
            'time_offset_not_found',
            `"${parsed.offset.text}" is not configured for ${type} on account "${account_id}".`,
          );
        }
        offsets = offsets.filter((o) => o !== parsed.offset.text);
      }
      if (sel.periodic_interval !== undefined) {
        if (periodic === null || periodic !== sel.periodic_interval.trim().toUpperCase()) {
          throw new ApiError(
            404,
            'periodic_interval_not_found',
            `periodic_interval "${sel.periodic_interval}" is not configured for ${type} on account "${account_id}".`,
          );
        }
        periodic = null;
      }
      const whole = sel.time_offset === undefined && sel.periodic_interval === undefined;
      if (whole || (offsets.length === 0 && periodic === null)) {
        await removeRule(ctx, tid, type, account_id);
      } else {
        await saveRule(ctx, { ...existing, offsets, periodic_interval: periodic });
      }
      return list(tid, account_id);
    },
  );
}

/** Canopy-style clients send DELETE with a JSON body; only its selector fields are read. */
function selectorFromBody(body: unknown): Static<typeof DeleteSelector> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw unprocessable('invalid_request', 'The body must be a JSON object.');
  }
  const sel: Static<typeof DeleteSelector> = {};
  for (const [key, value] of Object.entries(body)) {
    if (key !== 'notification_type' && key !== 'time_offset' && key !== 'periodic_interval') {
      throw unprocessable('invalid_request', `Unknown field "${key}".`);
    }
    if (typeof value !== 'string') throw unprocessable('invalid_request', `${key} must be a string.`);
    sel[key] = value;
  }
  return sel;
}

function notConfigured(type: string, account: string): ApiError {
  return new ApiError(
    404,
    'notification_config_not_found',
    `${type} is not configured for account "${account}".`,
  );
}

function wrapRuleError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ApiError) {
      throw new ApiError(err.status, err.code, canopyWords(err.message), err.details, err.headers);
    }
    throw err;
  }
}
