// The API answers the portal reads, as the /v1 routes send them: derived from the routes'
// own TypeBox schemas, so that a field the API adds, renames or drops reaches the pages' types.
import type { Static } from 'typebox';
import type { Attempt, DeliveryDetail } from '../api/routes/deliveries.js';
import type { EndpointView } from '../api/routes/endpoints.js';
import type { EventTypeView } from '../api/routes/eventTypes.js';
import type { LogEntry, RequestBody } from '../api/routes/portalEndpointDeliveries.js';

/** The profile's union is built from the profile registry at run time, so Static cannot name its members. */
export type EndpointJson = Omit<Static<typeof EndpointView>, 'profile'> & { profile: string };

export type EventTypeJson = Static<typeof EventTypeView>;

/** One delivery of an endpoint's log (GET …/endpoints/{eid}/deliveries). */
export type DeliveryJson = Static<typeof LogEntry>;

export type AttemptJson = Static<typeof Attempt>;

/** GET …/deliveries/{did}/request-body */
export type SentBodyJson = Static<typeof RequestBody>;

/** A delivery with its attempts; the schema refers to Attempt by $ref, which Static cannot follow. */
export type DeliveryDetailJson = Omit<Static<typeof DeliveryDetail>, 'attempt_log'> & {
  attempt_log: AttemptJson[];
};

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface EndpointDefaultsJson {
  profile: string;
  locked: boolean;
  catalog: string | null;
}
