import { describe, expect, it } from 'vitest';
import { validateWebhook } from 'replicate';
import { LoraloopError } from '../../src/core/errors.js';
import { assertWebhook, signWebhook, verifyWebhook } from '../../src/core/webhook.js';

// The Standard Webhooks / Svix published example (secret, id, timestamp, body -> signature).
const vector = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const at = (seconds: number) => () => seconds * 1000;

function headers(sig: string, id = vector.id, ts = String(vector.timestamp)) {
  return { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': sig };
}

describe('webhook signatures', () => {
  it('matches the published Standard Webhooks example', () => {
    expect(signWebhook(vector)).toBe(vector.signature);
    const r = verifyWebhook({ headers: headers(vector.signature), body: vector.body }, { secret: vector.secret, now: at(vector.timestamp + 10) });
    expect(r).toEqual({ ok: true, id: vector.id, timestamp: vector.timestamp });
  });

  it('agrees with the official replicate client validateWebhook', async () => {
    const body = JSON.stringify({ id: 'abc', status: 'succeeded' });
    const signature = signWebhook({ id: 'msg_1', timestamp: 1700000000, body, secret: vector.secret });
    const valid = await validateWebhook({ id: 'msg_1', timestamp: '1700000000', signature, body, secret: vector.secret });
    expect(valid).toBe(true);
  });

  it('accepts any matching entry among several signatures and raw bytes as the body', () => {
    const sig = `v1,${Buffer.alloc(32).toString('base64')} ${vector.signature} v2,whatever`;
    const r = verifyWebhook(
      { headers: new Headers(headers(sig)), body: new TextEncoder().encode(vector.body) },
      { secret: vector.secret, now: at(vector.timestamp) },
    );
    expect(r.ok).toBe(true);
  });

  it('refuses a tampered body', () => {
    const r = verifyWebhook({ headers: headers(vector.signature), body: '{"test": 2432232315}' }, { secret: vector.secret, now: at(vector.timestamp) });
    expect(r).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a signature made with another secret', () => {
    const other = signWebhook({ ...vector, secret: 'whsec_' + Buffer.from('another key').toString('base64') });
    const r = verifyWebhook({ headers: headers(other), body: vector.body }, { secret: vector.secret, now: at(vector.timestamp) });
    expect(r).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('refuses stale and future timestamps outside the tolerance, even with a valid signature', () => {
    const req = { headers: headers(vector.signature), body: vector.body };
    expect(verifyWebhook(req, { secret: vector.secret, now: at(vector.timestamp + 301) })).toMatchObject({ ok: false, reason: 'stale_timestamp' });
    expect(verifyWebhook(req, { secret: vector.secret, now: at(vector.timestamp - 301) })).toMatchObject({ ok: false, reason: 'stale_timestamp' });
    expect(verifyWebhook(req, { secret: vector.secret, now: at(vector.timestamp + 300) }).ok).toBe(true);
    expect(verifyWebhook(req, { secret: vector.secret, now: at(vector.timestamp + 30), toleranceSeconds: 10 }).ok).toBe(false);
  });

  it('refuses a replay whose timestamp was changed to look fresh', () => {
    const now = vector.timestamp + 3600;
    const r = verifyWebhook({ headers: headers(vector.signature, vector.id, String(now)), body: vector.body }, { secret: vector.secret, now: at(now) });
    expect(r).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('refuses missing headers, bad timestamps and unusable secrets', () => {
    const body = vector.body;
    const opts = { secret: vector.secret, now: at(vector.timestamp) };
    expect(verifyWebhook({ headers: { 'webhook-id': vector.id }, body }, opts)).toMatchObject({ reason: 'missing_headers' });
    expect(verifyWebhook({ headers: headers(vector.signature, vector.id, 'yesterday'), body }, opts)).toMatchObject({ reason: 'bad_timestamp' });
    expect(verifyWebhook({ headers: headers(vector.signature), body }, { ...opts, secret: 'whsec_' })).toMatchObject({ reason: 'bad_secret' });
  });

  it('assertWebhook throws INVALID_INPUT with the reason', () => {
    const call = () => assertWebhook({ headers: headers(vector.signature), body: 'x' }, { secret: vector.secret, now: at(vector.timestamp) });
    expect(call).toThrow(LoraloopError);
    try {
      call();
    } catch (e) {
      expect((e as LoraloopError).code).toBe('INVALID_INPUT');
      expect((e as LoraloopError).details).toEqual({ reason: 'bad_signature' });
    }
  });
});
