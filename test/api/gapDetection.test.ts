// Gap detection on an unordered endpoint: every delivery carries webhook-endpoint-sequence,
// gap-free per endpoint. A receiver that loses one (answers 200, then drops it) sees the hole
// in the numbers it kept, asks the API for the delivery of that number, and has it resent.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

interface LogEntry {
  id: string;
  event_id: string;
  state: string;
  endpoint_sequence: number | null;
}

describe.each(engines())('gap detection (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  let endpoint = '';
  let token = '';
  /** webhook-endpoint-sequence → webhook-id, as the receiver kept them. */
  const kept = new Map<number, string>();
  let dropped = true;

  beforeAll(async () => {
    rx = await startReceiver((req) => {
      const seq = Number(req.headers['webhook-endpoint-sequence']);
      // Its own bug: number 5 is acknowledged and lost, once.
      if (seq === 5 && dropped) {
        dropped = false;
        return { status: 200 };
      }
      kept.set(seq, String(req.headers['webhook-id']));
      return { status: 200 };
    });
    app = await startApp(engine);
    await app.api('PUT', '/v1/event-types/invoice.paid', { description: 'paid' });
    await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme' });
    token = (await app.api<{ token: string }>('POST', '/v1/tenants/acme/tokens', {})).body.token;
    endpoint = (
      await app.api<{ id: string }>('POST', '/v1/tenants/acme/endpoints', { url: `${rx.url}/hooks` })
    ).body.id;
    for (let i = 1; i <= 10; i++) {
      expect(
        (await app.api('POST', '/v1/tenants/acme/events', { type: 'invoice.paid', payload: { n: i } }))
          .status,
      ).toBe(202);
    }
    await vi.waitFor(() => expect(rx.requests).toHaveLength(10), { timeout: 30_000, interval: 50 });
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
  });

  const bySequence = (n: number) =>
    app.api<{ data: LogEntry[]; next_cursor: null }>(
      'GET',
      `/v1/tenants/acme/endpoints/${endpoint}/deliveries?sequence=${n}`,
      undefined,
      { token },
    );

  it('numbers every delivery of the endpoint 1…n without a gap', () => {
    const numbers = rx.requests
      .map((r) => Number(r.headers['webhook-endpoint-sequence']))
      .sort((a, b) => a - b);
    expect(numbers).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('lets the receiver find the one it lost from the numbers it kept, fetch it and have it sent again', async () => {
    const highest = Math.max(...kept.keys());
    const gaps = Array.from({ length: highest }, (_, i) => i + 1).filter((n) => !kept.has(n));
    expect(gaps).toEqual([5]);
    const found = await bySequence(5);
    expect(found.status).toBe(200);
    expect(found.body.data).toHaveLength(1);
    const d = found.body.data[0]!;
    const lost = rx.requests.find((r) => r.headers['webhook-endpoint-sequence'] === '5')!;
    expect(d).toMatchObject({
      event_id: lost.headers['webhook-id'],
      endpoint_sequence: 5,
      state: 'succeeded',
    });
    // The event itself is there to read, and a resend brings it with the same number.
    const event = await app.api<{ payload: { n: number } }>(
      'GET',
      `/v1/tenants/acme/events/${d.event_id}`,
      undefined,
      {
        token,
      },
    );
    expect(event.body.payload.n).toBe(JSON.parse(lost.body).data.n);
    expect(
      (await app.api('POST', `/v1/tenants/acme/deliveries/${d.id}/resend`, undefined, { token })).status,
    ).toBe(202);
    await vi.waitFor(() => expect(kept.get(5)).toBe(d.event_id), { timeout: 30_000, interval: 50 });
    expect(rx.requests).toHaveLength(11);
    expect(rx.requests[10]!.headers['webhook-endpoint-sequence']).toBe('5');
  });

  it('shows every delivery’s number in the log, and finds nothing for a number not handed out', async () => {
    const log = await app.api<{ data: LogEntry[] }>(
      'GET',
      `/v1/tenants/acme/endpoints/${endpoint}/deliveries`,
    );
    expect(log.body.data.map((e) => e.endpoint_sequence).sort((a, b) => a! - b!)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
    const none = await bySequence(11);
    expect(none.body).toEqual({ data: [], next_cursor: null });
    expect((await bySequence(0)).status).toBe(400);
  });
});
