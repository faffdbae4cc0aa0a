import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { hmacSignature, isValidSecret, newSecret, secretKey } from '../../src/signing/hmac.js';

describe('Standard Webhooks signing', () => {
  it('reproduces the specification test vector', () => {
    const key = secretKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect(hmacSignature(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it('makes secrets a stock verifier accepts', () => {
    const secret = newSecret();
    expect(isValidSecret(secret)).toBe(true);
    expect(secretKey(secret)).toHaveLength(24);
    const body = '{"type":"x","data":{}}';
    const ts = Math.floor(Date.now() / 1000);
    const sig = hmacSignature(secretKey(secret), 'msg_1', ts, body);
    const verified = new Webhook(secret).verify(body, {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(ts),
      'webhook-signature': sig,
    });
    expect(verified).toEqual({ type: 'x', data: {} });
  });

  it('refuses malformed secrets', () => {
    expect(isValidSecret('secret')).toBe(false);
    expect(isValidSecret('whsec_')).toBe(false);
    expect(isValidSecret('whsec_c2hvcnQ=')).toBe(false);
    expect(isValidSecret('whsec_***')).toBe(false);
  });
});
