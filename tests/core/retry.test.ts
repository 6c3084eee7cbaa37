import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LoraloopError } from '../../src/core/errors.js';
import {
  backoffDelay,
  createRetryingFetch,
  parseRetryAfter,
  withRetry,
  type FetchLike,
  type RetryInfo,
} from '../../src/core/retry.js';

/** A scripted network: each call takes the next step; records the (fake) time of every call. */
function scriptedFetch(steps: Array<() => Response | Promise<Response>>) {
  const calls: Array<{ at: number; method: string; url: string; body: string | null }> = [];
  const fetch: FetchLike = async (input, init) => {
    const req = input instanceof Request ? input : undefined;
    calls.push({
      at: Date.now(),
      method: (init?.method ?? req?.method ?? 'GET').toUpperCase(),
      url: req ? req.url : String(input),
      body: req ? await req.text() : typeof init?.body === 'string' ? init.body : null,
    });
    const step = steps[Math.min(calls.length - 1, steps.length - 1)];
    if (!step) throw new Error('no step');
    return step();
  };
  return { fetch, calls };
}

const status = (code: number, headers: Record<string, string> = {}, body = '') => () =>
  new Response(body || null, { status: code, headers });
const okJson = () => new Response('{"ok":true}', { status: 200, headers: { 'content-type': 'application/json' } });
const netError = () => {
  throw new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
};

/** Run `p` to completion under fake timers, returning its settled result. */
async function settle<T>(p: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  const out: { value?: T; error?: unknown } = {};
  const done = p.then(
    (v) => (out.value = v),
    (e: unknown) => (out.error = e),
  );
  await vi.runAllTimersAsync();
  await done;
  return out;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('backoffDelay', () => {
  it('doubles from the base, is capped, and jitter only shortens the delay', () => {
    const policy = { baseDelayMs: 1000, maxDelayMs: 3000, jitter: 0.5 };
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, policy, () => 0))).toEqual([1000, 2000, 3000, 3000]);
    expect([1, 2, 3].map((n) => backoffDelay(n, policy, () => 0.5))).toEqual([750, 1500, 2250]);
    // random() < 1 always, so the shortest delay is (1 - jitter) * exp.
    expect(backoffDelay(1, policy, () => 0.999)).toBe(500);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds, HTTP dates, and retry-after-ms', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter(new Headers({ 'retry-after': '7' }), now)).toBe(7000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' }), now)).toBe(30_000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Tue, 31 Dec 2024 23:00:00 GMT' }), now)).toBe(0);
    expect(parseRetryAfter(new Headers({ 'retry-after': '3', 'retry-after-ms': '120' }), now)).toBe(120);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfter(new Headers(), now)).toBeUndefined();
  });
});

describe('withRetry', () => {
  const retryable = () => new LoraloopError('UPSTREAM_ERROR', 'flaky', { details: { retryable: true } });

  it('follows the exact backoff schedule and returns the first success', async () => {
    const at: number[] = [];
    const fn = vi.fn(async () => {
      at.push(Date.now());
      if (at.length < 4) throw retryable();
      return 'done';
    });
    const result = await settle(withRetry(fn, { baseDelayMs: 100, random: () => 0 }));
    expect(result.value).toBe('done');
    expect(at).toEqual([0, 100, 300, 700]);
  });

  it('does not call again before the delay has passed', async () => {
    let calls = 0;
    const p = withRetry(
      async () => {
        calls++;
        if (calls === 1) throw retryable();
        return calls;
      },
      { baseDelayMs: 1000, random: () => 0 },
    );
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await p).toBe(2);
  });

  it('gives up after maxAttempts and rethrows the last error', async () => {
    let n = 0;
    const fn = async () => {
      n++;
      throw new LoraloopError('UPSTREAM_ERROR', `failure ${n}`, { details: { retryable: true } });
    };
    const r = await settle(withRetry(fn, { maxAttempts: 3, random: () => 0 }));
    expect(n).toBe(3);
    expect((r.error as Error).message).toBe('failure 3');
  });

  it('does not retry errors that are not marked retryable', async () => {
    const fn = vi.fn(async () => {
      throw new LoraloopError('INVALID_INPUT', 'bad');
    });
    const r = await settle(withRetry(fn));
    expect(fn).toHaveBeenCalledTimes(1);
    expect((r.error as LoraloopError).code).toBe('INVALID_INPUT');
  });

  it('waits exactly the server-given delay from details.retryAfterMs', async () => {
    const at: number[] = [];
    const fn = async () => {
      at.push(Date.now());
      if (at.length === 1) {
        throw new LoraloopError('UPSTREAM_RATE_LIMITED', 'slow down', { details: { retryable: true, retryAfterMs: 4321 } });
      }
      return 'ok';
    };
    await settle(withRetry(fn, { random: () => 0 }));
    expect(at).toEqual([0, 4321]);
  });

  it('stops waiting when the signal aborts', async () => {
    const controller = new AbortController();
    const fn = vi.fn(async () => {
      throw retryable();
    });
    const p = withRetry(fn, { baseDelayMs: 10_000, signal: controller.signal });
    const caught = p.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    controller.abort();
    const e = await caught;
    expect((e as LoraloopError).code).toBe('CANCELED');
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe('createRetryingFetch', () => {
  const opts = { baseDelayMs: 500, random: () => 0, service: 'Replicate' } as const;

  it('retries a GET on 503 with exponential backoff, then returns the success', async () => {
    const net = scriptedFetch([status(503), status(502), okJson]);
    const f = createRetryingFetch(net.fetch, opts);
    const r = await settle(f(new URL('http://api.test/v1/trainings/abc'), { method: 'GET' }));
    expect(r.value?.status).toBe(200);
    expect(net.calls.map((c) => c.at)).toEqual([0, 500, 1500]);
  });

  it('honours Retry-After in seconds instead of its own backoff', async () => {
    const net = scriptedFetch([status(429, { 'retry-after': '3' }), okJson]);
    const f = createRetryingFetch(net.fetch, opts);
    const r = await settle(f('http://api.test/v1/predictions', { method: 'POST', body: '{"a":1}' }));
    expect(r.value?.status).toBe(200);
    expect(net.calls.map((c) => c.at)).toEqual([0, 3000]);
    // The POST body is sent again unchanged: a 429 means the server did not process the first one.
    expect(net.calls.map((c) => c.body)).toEqual(['{"a":1}', '{"a":1}']);
  });

  it('honours Retry-After as an HTTP date, measured with the injected clock', async () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    const net = scriptedFetch([status(429, { 'retry-after': 'Wed, 01 Jan 2025 00:00:02 GMT' }), okJson]);
    const f = createRetryingFetch(net.fetch, { ...opts, now: () => now });
    await settle(f('http://api.test/v1/files'));
    expect(net.calls.map((c) => c.at)).toEqual([0, 2000]);
  });

  it('caps the backoff delay', async () => {
    const net = scriptedFetch([status(500), status(500), status(500), status(500), okJson]);
    const delays: number[] = [];
    const f = createRetryingFetch(net.fetch, {
      ...opts,
      baseDelayMs: 1000,
      maxDelayMs: 2500,
      onRetry: (i: RetryInfo) => delays.push(i.delayMs),
    });
    await settle(f('http://api.test/x'));
    expect(delays).toEqual([1000, 2000, 2500, 2500]);
    expect(net.calls.map((c) => c.at)).toEqual([0, 1000, 3000, 5500, 8000]);
  });

  it('gives up after maxAttempts with an error naming the status and the attempts', async () => {
    const net = scriptedFetch([status(503, { 'content-type': 'application/problem+json' }, '{"detail":"Service Unavailable"}')]);
    const f = createRetryingFetch(net.fetch, { ...opts, maxAttempts: 4 });
    const r = await settle(f('http://api.test/v1/trainings'));
    const e = r.error as LoraloopError;
    expect(e).toBeInstanceOf(LoraloopError);
    expect(e.code).toBe('UPSTREAM_ERROR');
    expect(e.message).toContain('HTTP 503');
    expect(e.message).toContain('4 attempts');
    expect(e.message).toContain('Service Unavailable');
    expect(e.details).toMatchObject({ status: 503, attempts: 4, method: 'GET' });
    expect(net.calls).toHaveLength(4);
  });

  it('gives up at once when Retry-After is longer than it is willing to wait', async () => {
    const net = scriptedFetch([status(429, { 'retry-after': '600' }), okJson]);
    const f = createRetryingFetch(net.fetch, { ...opts, maxRetryAfterMs: 60_000 });
    const r = await settle(f('http://api.test/v1/predictions'));
    const e = r.error as LoraloopError;
    expect(e.code).toBe('UPSTREAM_RATE_LIMITED');
    expect(e.message).toContain('600 s');
    expect(net.calls).toHaveLength(1);
  });

  it('does not retry a 5xx answer to a POST and returns it to the caller', async () => {
    const net = scriptedFetch([status(500), okJson]);
    const f = createRetryingFetch(net.fetch, opts);
    const r = await settle(f('http://api.test/v1/trainings', { method: 'POST', body: '{}' }));
    expect(r.value?.status).toBe(500);
    expect(net.calls).toHaveLength(1);
  });

  it('never re-sends a POST after a network error and says so', async () => {
    const net = scriptedFetch([netError, okJson]);
    const f = createRetryingFetch(net.fetch, opts);
    const r = await settle(f(new URL('http://api.test/v1/models/o/m/versions/v/trainings?x=secret'), { method: 'POST', body: '{}' }));
    const e = r.error as LoraloopError;
    expect(e.code).toBe('UPSTREAM_UNREACHABLE');
    expect(e.message).toContain('POST http://api.test/v1/models/o/m/versions/v/trainings');
    expect(e.message).not.toContain('secret');
    expect(e.message).toContain('UND_ERR_SOCKET');
    expect(net.calls).toHaveLength(1);
  });

  it('retries a GET after a network error, and reports unreachable when it never recovers', async () => {
    const healed = scriptedFetch([netError, okJson]);
    const r1 = await settle(createRetryingFetch(healed.fetch, opts)('http://api.test/v1/trainings/a'));
    expect(r1.value?.status).toBe(200);
    expect(healed.calls.map((c) => c.at)).toEqual([0, 500]);

    const dead = scriptedFetch([netError]);
    const r2 = await settle(createRetryingFetch(dead.fetch, { ...opts, maxAttempts: 3 })('http://api.test/v1/trainings/a'));
    expect((r2.error as LoraloopError).code).toBe('UPSTREAM_UNREACHABLE');
    expect((r2.error as LoraloopError).message).toContain('after 3 attempts');
    expect(dead.calls).toHaveLength(3);
  });

  it('returns 4xx answers at once', async () => {
    const net = scriptedFetch([status(404), okJson]);
    const r = await settle(createRetryingFetch(net.fetch, opts)('http://api.test/v1/files/nope'));
    expect(r.value?.status).toBe(404);
    expect(net.calls).toHaveLength(1);
  });

  it('sends a fresh copy of a Request body on each attempt', async () => {
    const net = scriptedFetch([status(429, { 'retry-after': '1' }), okJson]);
    const req = new Request('http://api.test/v1/predictions', { method: 'POST', body: 'payload' });
    await settle(createRetryingFetch(net.fetch, opts)(req));
    expect(net.calls.map((c) => c.body)).toEqual(['payload', 'payload']);
  });

  it('times out a hung attempt: a GET is retried, a POST is reported unreachable and not re-sent', async () => {
    const calls: string[] = [];
    // Hangs until aborted, except for the second GET.
    const hanging: FetchLike = (input, init) => {
      calls.push(`${init?.method ?? 'GET'} ${Date.now()}`);
      if (calls.length === 2 && (init?.method ?? 'GET') === 'GET') return Promise.resolve(okJson());
      return new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
    };
    const f = createRetryingFetch(hanging, { ...opts, attemptTimeoutMs: 1000 });
    const r1 = await settle(f('http://api.test/v1/trainings/a'));
    expect(r1.value?.status).toBe(200);
    expect(calls).toEqual(['GET 0', 'GET 1500']);

    calls.length = 0;
    const r2 = await settle(f('http://api.test/v1/trainings', { method: 'POST', body: '{}' }));
    const e = r2.error as LoraloopError;
    expect(e.code).toBe('UPSTREAM_UNREACHABLE');
    expect(e.message).toContain('no answer within 1000 ms');
    expect(calls).toHaveLength(1);
  });

  it('stops when the request signal aborts during a wait', async () => {
    const net = scriptedFetch([status(503)]);
    const controller = new AbortController();
    const p = createRetryingFetch(net.fetch, { ...opts, baseDelayMs: 5000 })('http://api.test/x', { signal: controller.signal });
    const caught = p.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10);
    controller.abort();
    expect(((await caught) as LoraloopError).code).toBe('CANCELED');
    expect(net.calls).toHaveLength(1);
  });
});
