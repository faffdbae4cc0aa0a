// A wire profile decides how a delivery is put on the wire: the body envelope and any
// authentication carried in it. Standard Webhooks headers are added by the sender on
// every profile, so a stock verifier can check any of them.

/** What a profile sees of the event. */
export interface WireEvent {
  /** The event id; also the `webhook-id` header. */
  id: string;
  /** Event type name, e.g. `bill_payments.paid`. */
  type: string;
  /** When the event was published. */
  createdAt: Date;
  /** The payload as published, exact text (key order and all). */
  payloadJson: string;
}

export interface WireContext {
  /** Key bytes of the endpoint's current signing secret (base64-decoded part after `whsec_`). */
  signingKey: Buffer;
}

export interface WireProfile {
  readonly name: string;
  /**
   * Where the payload's members sit in the body, as a JSON pointer ('' : the body is the
   * payload, or made of its members): a type's `redact` pointers apply below it in views.
   */
  readonly payloadAt: string;
  /** The request body, as the exact text to send. */
  encode(event: WireEvent, ctx: WireContext): string;
}
