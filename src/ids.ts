// Identifiers: a short prefix naming the kind, then a ULID (time-sortable, 26 characters).
import { monotonicFactory } from 'ulid';

const next = monotonicFactory();

export type IdKind = 'ep' | 'msg' | 'ten' | 'tok' | 'anc' | 'rul';

export function newId(kind: IdKind): string {
  return `${kind}_${next().toLowerCase()}`;
}

/** Ids a caller may choose (tenants, events): letters, digits and `_-.:`, 1 to 128 characters. */
export const CALLER_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$';

/** Deliveries are addressed as `dlv_<number>` outside and by their number inside. */
export function deliveryRef(id: number): string {
  return `dlv_${id}`;
}

export function parseDeliveryRef(ref: string): number | undefined {
  const m = /^dlv_(\d{1,15})$/.exec(ref);
  return m ? Number(m[1]) : undefined;
}
