/**
 * Webhook signatures as Replicate sends them (the Standard Webhooks scheme, CONTRACTS.md §2.6):
 * headers `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature` (space-separated
 * `v1,<base64>` entries); signed content `"<id>.<timestamp>.<raw body>"`; key = base64-decoded part of the
 * `whsec_` secret; HMAC-SHA256.
 *
 * Unlike the official client's `validateWebhook`, this checks the timestamp (replay protection) and
 * compares in constant time. It works on the raw body bytes: re-serialising parsed JSON breaks signatures.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { LoraloopError } from './errors.js';

/** Standard Webhooks' default tolerance; Replicate documents none (CONTRACTS.md §2.6, UNVERIFIED). */
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

/** Header values as Node (`IncomingHttpHeaders`), fetch (`Headers`) or a plain object gives them. */
export type WebhookHeaders = Headers | Record<string, string | readonly string[] | undefined>;

export interface VerifyWebhookOptions {
  /** The signing secret, `whsec_<base64>` (from `GET /v1/webhooks/default/secret`). */
  secret: string;
  /** Largest accepted distance between the timestamp and now, in seconds, both ways. Default 300. */
  toleranceSeconds?: number;
  /** Current time in ms since the epoch. Default Date.now. */
  now?: () => number;
}

/** Why a webhook was refused; stable strings for logs and tests. */
export type WebhookRefusal = 'missing_headers' | 'bad_secret' | 'bad_timestamp' | 'stale_timestamp' | 'bad_signature';

export type WebhookVerification =
  | { ok: true; id: string; timestamp: number }
  | { ok: false; reason: WebhookRefusal; message: string };

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== name) continue;
    if (typeof v === 'string') return v;
    if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  }
  return undefined;
}

/** Decode a `whsec_<base64>` secret (a bare base64 string is accepted too). Undefined when it is not base64. */
export function webhookSecretKey(secret: string): Buffer | undefined {
  const b64 = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  if (!b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  const key = Buffer.from(b64, 'base64');
  return key.length > 0 ? key : undefined;
}

function hmac(key: Buffer, id: string, timestamp: string, body: string | Uint8Array): Buffer {
  const h = createHmac('sha256', key);
  h.update(`${id}.${timestamp}.`);
  h.update(body);
  return h.digest();
}

/**
 * Compute the `webhook-signature` header value (`v1,<base64>`) for a body. Used by senders and emulators.
 * Throws `INVALID_INPUT` when the secret is not `whsec_<base64>`.
 */
export function signWebhook(input: { id: string; timestamp: number; body: string | Uint8Array; secret: string }): string {
  const key = webhookSecretKey(input.secret);
  if (!key) throw new LoraloopError('INVALID_INPUT', 'The webhook secret is not of the form whsec_<base64>.');
  return `v1,${hmac(key, input.id, String(input.timestamp), input.body).toString('base64')}`;
}

/**
 * Check a webhook's signature and timestamp against the raw body. Never throws for a bad request;
 * returns why it was refused so the receiver can answer 400/401 and log the reason.
 */
export function verifyWebhook(
  request: { headers: WebhookHeaders; body: string | Uint8Array },
  options: VerifyWebhookOptions,
): WebhookVerification {
  const id = header(request.headers, 'webhook-id');
  const ts = header(request.headers, 'webhook-timestamp');
  const sig = header(request.headers, 'webhook-signature');
  if (!id || !ts || !sig) {
    return { ok: false, reason: 'missing_headers', message: 'The webhook-id, webhook-timestamp and webhook-signature headers are required.' };
  }
  const key = webhookSecretKey(options.secret);
  if (!key) return { ok: false, reason: 'bad_secret', message: 'The webhook secret is not of the form whsec_<base64>.' };
  if (!/^\d{1,12}$/.test(ts.trim())) {
    return { ok: false, reason: 'bad_timestamp', message: 'webhook-timestamp is not a Unix time in seconds.' };
  }
  const timestamp = Number(ts.trim());
  const tolerance = options.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
  const nowSeconds = Math.floor((options.now ?? Date.now)() / 1000);
  if (Math.abs(nowSeconds - timestamp) > tolerance) {
    return {
      ok: false,
      reason: 'stale_timestamp',
      message: `webhook-timestamp is ${nowSeconds - timestamp} s away from now, outside the ${tolerance} s tolerance (replay?).`,
    };
  }
  // Sign the timestamp exactly as received: the sender signed its own text, not our re-formatting.
  const expected = hmac(key, id, ts, request.body);
  for (const entry of sig.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(entry.slice(comma + 1), 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return { ok: true, id, timestamp };
  }
  return { ok: false, reason: 'bad_signature', message: 'No webhook-signature entry matches the body.' };
}

/** `verifyWebhook`, throwing `LoraloopError('INVALID_INPUT')` (with `details.reason`) on refusal. */
export function assertWebhook(
  request: { headers: WebhookHeaders; body: string | Uint8Array },
  options: VerifyWebhookOptions,
): { id: string; timestamp: number } {
  const r = verifyWebhook(request, options);
  if (r.ok) return { id: r.id, timestamp: r.timestamp };
  throw new LoraloopError('INVALID_INPUT', `Webhook refused: ${r.message}`, {
    hint: 'Check that the signing secret matches GET /v1/webhooks/default/secret and that the raw body is verified unmodified.',
    details: { reason: r.reason },
  });
}
