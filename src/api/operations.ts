// Every API operation's entry in the OpenAPI document: its operationId, tag, summary (when
// the route's own is missing or too terse), and the error codes it can answer beyond those
// derived from the route's shape (see openapi/errorResponses.ts: a body gives 400/413/415/422,
// auth gives 401/403, path ids give 404, the rate limit gives 429).
//
// Keyed by method and Fastify route ('GET /v1/tenants/:tid'). A route added without an entry
// still works, but test/api/openapi.test.ts fails until the entry is written here.

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 410 | 413 | 415 | 422 | 429;

export interface OperationEntry {
  /** operationId: lowerCamelCase, unique. */
  id: string;
  tag: string;
  /** Replaces the route's own summary. */
  summary?: string;
  /** Operator only: a tenant token gets 403 `forbidden`. */
  admin?: boolean;
  /** Codes the handler answers, by status, on top of the derived ones. */
  errors?: Partial<Record<ErrorStatus, string[]>>;
  /**
   * The 404 codes, replacing those derived from the path parameters (an upsert does not
   * answer 404 for its own id).
   */
  notFound?: string[];
  /** A request body the route reads itself (no body schema), for the document. */
  body?: { description: string; schema: Record<string, unknown> };
}

/** What a missing path parameter's object is called in its 404 code. */
export const PARAM_NOT_FOUND: Record<string, string> = {
  tid: 'tenant_not_found',
  eid: 'endpoint_not_found',
  did: 'delivery_not_found',
  id: 'event_not_found',
  name: 'event_type_not_found',
  token_id: 'token_not_found',
  anchor_id: 'anchor_not_found',
  sid: 'portal_session_not_found',
};

const ENDPOINT_INPUT = [
  'invalid_url',
  'unknown_profile',
  'invalid_header',
  'reserved_header',
  'duplicate_header',
  'too_many_headers',
  'invalid_secret',
  'profile_needs_hmac',
  'profile_locked',
  'unknown_event_type',
  'invalid_event_type_filter',
  'invalid_filter',
  'invalid_retry_schedule',
];
const RULE_INPUT = ['unknown_event_type', 'not_a_reminder_type', 'invalid_rule', 'invalid_refresh_url'];

export const OPERATIONS: Record<string, OperationEntry> = {
  // catalog
  'GET /v1/event-types': { id: 'listEventTypes', tag: 'catalog' },
  'PUT /v1/event-types/:name': {
    id: 'putEventType',
    tag: 'catalog',
    admin: true,
    notFound: [],
    errors: { 422: ['invalid_schema', 'invalid_reminder', 'invalid_example'] },
  },
  'DELETE /v1/event-types/:name': { id: 'deleteEventType', tag: 'catalog', admin: true },
  'PUT /v1/catalog': {
    id: 'putCatalog',
    tag: 'catalog',
    admin: true,
    errors: { 422: ['invalid_catalog'] },
    body: {
      description: 'A catalog file, taken as text (its problems are answered with line and column)',
      schema: { type: 'object', description: 'See catalogs/catalog.schema.json', additionalProperties: true },
    },
  },

  // tenants
  'POST /v1/tenants': {
    id: 'createTenant',
    tag: 'tenants',
    admin: true,
    errors: { 409: ['tenant_exists'], 422: ['metadata_too_large'] },
  },
  'GET /v1/tenants': { id: 'listTenants', tag: 'tenants', admin: true },
  'GET /v1/tenants/:tid': { id: 'getTenant', tag: 'tenants' },
  'PATCH /v1/tenants/:tid': {
    id: 'updateTenant',
    tag: 'tenants',
    admin: true,
    errors: { 422: ['metadata_too_large'] },
  },
  'DELETE /v1/tenants/:tid': { id: 'deleteTenant', tag: 'tenants', admin: true },

  // endpoints
  'POST /v1/tenants/:tid/endpoints': {
    id: 'createEndpoint',
    tag: 'endpoints',
    errors: { 409: ['quota_exceeded'], 422: [...ENDPOINT_INPUT, 'metadata_too_large', 'value_refused'] },
  },
  'GET /v1/tenants/:tid/endpoints': { id: 'listEndpoints', tag: 'endpoints' },
  'GET /v1/tenants/:tid/endpoint-defaults': { id: 'getEndpointDefaults', tag: 'endpoints' },
  'GET /v1/tenants/:tid/endpoints/:eid': { id: 'getEndpoint', tag: 'endpoints' },
  'PATCH /v1/tenants/:tid/endpoints/:eid': {
    id: 'updateEndpoint',
    tag: 'endpoints',
    errors: { 422: [...ENDPOINT_INPUT, 'metadata_too_large', 'value_refused'] },
  },
  'DELETE /v1/tenants/:tid/endpoints/:eid': { id: 'deleteEndpoint', tag: 'endpoints' },
  'GET /v1/tenants/:tid/endpoints/:eid/secret': { id: 'getEndpointSecret', tag: 'endpoints' },
  'POST /v1/tenants/:tid/endpoints/:eid/secret/rotate': {
    id: 'rotateEndpointSecret',
    tag: 'endpoints',
    errors: { 422: ['invalid_secret', 'profile_needs_hmac'] },
  },
  'POST /v1/tenants/:tid/endpoints/:eid/mtls/rotate': {
    id: 'rotateEndpointCertificate',
    tag: 'endpoints',
    errors: { 409: ['no_client_certificate'] },
  },
  'POST /v1/tenants/:tid/endpoints/:eid/recover': {
    id: 'recoverEndpoint',
    tag: 'endpoints',
    errors: { 422: ['invalid_window'] },
  },
  'GET /v1/tenants/:tid/endpoints/:eid/ordering-keys': { id: 'listOrderingKeys', tag: 'endpoints' },
  'GET /v1/tenants/:tid/endpoints/:eid/stats': {
    id: 'getEndpointStats',
    tag: 'endpoints',
    errors: { 422: ['invalid_range', 'range_too_long'] },
  },
  'GET /v1/tenants/:tid/endpoints/:eid/attempts': { id: 'listEndpointAttempts', tag: 'deliveries' },
  'POST /v1/tenants/:tid/endpoints/:eid/test': {
    id: 'sendTestEvent',
    tag: 'endpoints',
    errors: { 409: ['endpoint_disabled'], 422: ['invalid_request', 'unknown_event_type', 'not_subscribed'] },
    body: {
      description:
        'Optional. {"type": …}: a catalog type the endpoint subscribes to, sent with its first example as payload ({} when it has none). No body: tidings.test.',
      schema: {
        type: 'object',
        properties: { type: { type: 'string', minLength: 1, maxLength: 128 } },
        additionalProperties: false,
      },
    },
  },
  'POST /v1/tenants/:tid/endpoints/:eid/filter/test': {
    id: 'testEndpointFilter',
    tag: 'endpoints',
    errors: { 422: ['invalid_filter'] },
  },

  // relay endpoints (`tidings listen`): routes/relays.ts
  'POST /v1/tenants/:tid/relays': {
    id: 'createRelay',
    tag: 'endpoints',
    errors: {
      409: ['quota_exceeded'],
      422: ['unknown_profile', 'unknown_event_type', 'invalid_event_type_filter'],
    },
  },
  'GET /v1/tenants/:tid/relays/:eid/stream': { id: 'streamRelay', tag: 'endpoints' },
  'POST /v1/tenants/:tid/relays/:eid/reports/:rid': {
    id: 'reportRelayRequest',
    tag: 'endpoints',
    notFound: ['tenant_not_found', 'endpoint_not_found', 'relay_request_not_found'],
  },
  'DELETE /v1/tenants/:tid/relays/:eid': { id: 'deleteRelay', tag: 'endpoints' },

  // events
  'POST /v1/tenants/:tid/events': {
    id: 'publishEvent',
    tag: 'events',
    admin: true,
    errors: {
      409: ['idempotency_conflict'],
      413: ['payload_too_large'],
      422: ['unknown_event_type', 'payload_invalid', 'invalid_previous'],
    },
  },
  'POST /v1/tenants/:tid/events/batch': {
    id: 'publishEventBatch',
    tag: 'events',
    admin: true,
    errors: {
      409: ['idempotency_conflict'],
      413: ['payload_too_large'],
      422: ['unknown_event_type', 'payload_invalid', 'invalid_previous', 'duplicate_id'],
    },
  },
  'GET /v1/tenants/:tid/events': { id: 'listEvents', tag: 'events' },
  'GET /v1/tenants/:tid/events/:id': { id: 'getEvent', tag: 'events' },
  'POST /v1/tenants/:tid/events/:id/erase': {
    id: 'eraseEvent',
    tag: 'events',
    admin: true,
    errors: { 409: ['event_still_owed'] },
  },
  'POST /v1/tenants/:tid/reconcile': {
    id: 'reconcile',
    tag: 'events',
    errors: { 400: ['invalid_cursor'], 422: ['invalid_window'] },
    notFound: ['tenant_not_found', 'endpoint_not_found'],
  },
  'GET /v1/tenants/:tid/events/export': {
    id: 'exportEvents',
    tag: 'events',
    errors: { 422: ['invalid_window'] },
  },

  // deliveries
  'GET /v1/tenants/:tid/deliveries': { id: 'listDeliveries', tag: 'deliveries' },
  'GET /v1/tenants/:tid/attempts': { id: 'listAttempts', tag: 'deliveries' },
  'POST /v1/tenants/:tid/deliveries/replay': {
    id: 'replayDeliveries',
    tag: 'deliveries',
    notFound: ['tenant_not_found', 'endpoint_not_found'],
    errors: { 422: ['invalid_range'] },
  },
  'GET /v1/tenants/:tid/deliveries/:did': { id: 'getDelivery', tag: 'deliveries' },
  'POST /v1/tenants/:tid/deliveries/:did/resend': {
    id: 'resendDelivery',
    tag: 'deliveries',
    errors: { 409: ['delivery_in_flight', 'event_erased'] },
  },
  'POST /v1/tenants/:tid/deliveries/:did/skip': {
    id: 'skipDelivery',
    tag: 'deliveries',
    errors: { 409: ['delivery_in_flight', 'delivery_finished'] },
  },
  'GET /v1/tenants/:tid/endpoints/:eid/deliveries': { id: 'listEndpointDeliveries', tag: 'deliveries' },
  'GET /v1/tenants/:tid/deliveries/:did/request-body': {
    id: 'getDeliveryRequestBody',
    tag: 'deliveries',
    notFound: ['tenant_not_found', 'delivery_not_found', 'attempt_not_found'],
    errors: { 410: ['body_not_kept', 'event_erased'], 422: ['body_not_buildable'] },
  },

  // tokens and audit
  'POST /v1/tenants/:tid/tokens': {
    id: 'createToken',
    tag: 'tokens',
    admin: true,
    errors: { 409: ['quota_exceeded'], 422: ['invalid_expiry'] },
  },
  'GET /v1/tenants/:tid/tokens': { id: 'listTokens', tag: 'tokens' },
  'DELETE /v1/tenants/:tid/tokens/:token_id': { id: 'revokeToken', tag: 'tokens' },
  'GET /v1/whoami': { id: 'whoAmI', tag: 'tokens' },
  'GET /v1/audit-log': { id: 'listAuditLog', tag: 'audit', admin: true },

  // reminders
  'PUT /v1/tenants/:tid/reminder-rules': {
    id: 'putReminderRule',
    tag: 'reminders',
    // refresh_url is the operator's: a tenant token that sets it gets 403.
    errors: { 403: ['operator_only_field'], 409: ['quota_exceeded'], 422: RULE_INPUT },
  },
  'GET /v1/tenants/:tid/reminder-rules': { id: 'listReminderRules', tag: 'reminders' },
  'DELETE /v1/tenants/:tid/reminder-rules': {
    id: 'deleteReminderRule',
    tag: 'reminders',
    errors: { 404: ['reminder_rule_not_found'] },
  },
  'PUT /v1/tenants/:tid/anchors/:anchor_id': {
    id: 'putAnchor',
    tag: 'reminders',
    admin: true,
    notFound: ['tenant_not_found'],
    errors: {
      409: ['quota_exceeded'],
      413: ['payload_too_large'],
      422: ['invalid_request', 'invalid_window', 'invalid_time_zone', 'payload_invalid', ...RULE_INPUT],
    },
  },
  'GET /v1/tenants/:tid/anchors/:anchor_id': { id: 'getAnchor', tag: 'reminders' },
  'GET /v1/tenants/:tid/anchors': { id: 'listAnchors', tag: 'reminders' },
  'POST /v1/tenants/:tid/anchors/:anchor_id/resolve': { id: 'resolveAnchor', tag: 'reminders', admin: true },
  'PUT /v1/tenants/:tid/calendar': {
    id: 'putCalendar',
    tag: 'reminders',
    errors: { 422: ['invalid_calendar'] },
  },
  'GET /v1/tenants/:tid/calendar': { id: 'getCalendar', tag: 'reminders' },
  'PUT /v1/tenants/:tid/accounts/:account_id/notification_config': {
    id: 'putNotificationConfig',
    tag: 'reminders',
    errors: { 409: ['quota_exceeded'], 422: RULE_INPUT },
  },
  'GET /v1/tenants/:tid/accounts/:account_id/notification_config': {
    id: 'getNotificationConfig',
    tag: 'reminders',
  },
  'DELETE /v1/tenants/:tid/accounts/:account_id/notification_config': {
    id: 'deleteNotificationConfig',
    tag: 'reminders',
    errors: {
      404: ['notification_config_not_found', 'time_offset_not_found', 'periodic_interval_not_found'],
      // The selector may come in the body too (Canopy's clients send one).
      422: ['invalid_request', 'invalid_rule'],
    },
  },

  // portal
  'POST /v1/tenants/:tid/portal-links': { id: 'createPortalLink', tag: 'portal', admin: true },
  'GET /v1/tenants/:tid/portal-sessions': { id: 'listPortalSessions', tag: 'portal' },
  'DELETE /v1/tenants/:tid/portal-sessions': { id: 'endPortalSessions', tag: 'portal' },
  'DELETE /v1/tenants/:tid/portal-sessions/:sid': { id: 'endPortalSession', tag: 'portal' },
};

/** Tags in the order the document lists them, with what each covers. */
export const TAGS: { name: string; description: string }[] = [
  { name: 'catalog', description: 'Event types: what the operator publishes and tenants subscribe to' },
  { name: 'tenants', description: "The operator's clients; each owns endpoints, events and deliveries" },
  { name: 'endpoints', description: 'Where a tenant receives webhooks, how they are signed, and recovery' },
  { name: 'events', description: 'Publishing (operator only) and the record of what was published' },
  { name: 'deliveries', description: 'One event owed to one endpoint, with every attempt' },
  { name: 'tokens', description: 'API tokens that reach one tenant only' },
  { name: 'audit', description: 'Who changed what, for the operator' },
  { name: 'reminders', description: 'Webhooks owed because time passed: rules, anchors, calendar' },
  { name: 'portal', description: "Sign-in links and sessions of the tenant's web portal" },
];
