/**
 * The one retry helper of loraloop: jittered exponential backoff with a cap on each delay and on the
 * number of attempts, `Retry-After` honoured, an AbortSignal, and injected `sleep`/`random`/`now` so the
 * exact schedule can be tested with fake timers.
 *
 * Two entry points:
 * - `withRetry(fn, opts)` retries any async function whose errors `shouldRetry` accepts.
 * - `createRetryingFetch(baseFetch, opts)` is a fetch that retries what is safe to retry:
 *   429 for every method (the server refused the request before processing it), 5xx and network errors
 *   only for idempotent methods. A POST that fails on the network is NEVER re-sent: the server may have
 *   created the object already (CONTRACTS.md §2.8), so the caller gets `UPSTREAM_UNREACHABLE` and must
 *   look for an existing object before creating another one.
 */
import { LoraloopError } from './errors.js';

/** The fetch shape we wrap. The `replicate` client calls it with a URL object as the first argument. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** How hard to retry. Every field has a safe default. */
export interface RetryPolicy {
  /** Total attempts including the first one. Default 5. */
  maxAttempts?: number;
  /** Backoff before the first retry, doubled for each further retry. Default 500 ms. */
  baseDelayMs?: number;
  /** Upper bound of one backoff delay. Default 30 000 ms. */
  maxDelayMs?: number;
  /**
   * Fraction of each backoff delay that is random, 0..1 ("equal jitter"): the delay is
   * `exp * (1 - jitter * random())`, so clients that failed together do not come back together. Default 0.2.
   */
  jitter?: number;
  /**
   * Longest server-requested wait (`Retry-After`) we accept. A longer request means "not soon": waiting less
   * would only be refused again, so we give up at once with an error that says how long the server asked for.
   * Default 60 000 ms.
   */
  maxRetryAfterMs?: number;
}

/** Injected I/O, so tests control time and randomness. */
export interface RetryDeps {
  /** Cancels waiting and further attempts. */
  signal?: AbortSignal;
  /** Waits `ms`; must reject when `signal` aborts. Default: a setTimeout-based sleep (fakeable). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform random in [0, 1). Default Math.random. */
  random?: () => number;
  /** Current time in ms since the epoch, for HTTP-date `Retry-After`. Default Date.now. */
  now?: () => number;
  /** Called before each wait, e.g. to log a warning. */
  onRetry?: (info: RetryInfo) => void;
}

export type RetryOptions = RetryPolicy & RetryDeps;

/** What `onRetry` is told. */
export interface RetryInfo {
  /** The attempt that just failed (1-based). */
  attempt: number;
  /** How long we wait before the next attempt. */
  delayMs: number;
  /** The error (or, for fetch, a description of the response) that caused the retry. */
  error: unknown;
  /** True when the delay came from the server (`Retry-After`) rather than from our backoff. */
  fromServer: boolean;
  /** For `createRetryingFetch`: the HTTP status that caused the retry (absent for network errors). */
  status?: number;
}

/** A retry decision: `false` gives up, `true` backs off, `{ delayMs }` waits exactly that long (server-given). */
export type RetryDecision = boolean | { delayMs: number };

export interface WithRetryOptions extends RetryOptions {
  /**
   * Whether a thrown error deserves another attempt. Default: LoraloopErrors whose `details.retryable` is
   * true, waiting `details.retryAfterMs` when it is a number.
   */
  shouldRetry?: (error: unknown, attempt: number) => RetryDecision;
}

const DEFAULTS = {
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  jitter: 0.2,
  maxRetryAfterMs: 60_000,
} as const;

/** A sleep that uses the global setTimeout at call time (so vitest fake timers apply) and honours aborts. */
export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(canceled(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(canceled(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function canceled(signal: AbortSignal | undefined): LoraloopError {
  return new LoraloopError('CANCELED', 'The request was canceled while waiting to retry.', {
    cause: signal?.reason,
  });
}

/**
 * The backoff delay before retry number `retry` (1 = the first retry):
 * `min(maxDelayMs, baseDelayMs * 2^(retry-1)) * (1 - jitter * random())`, rounded to whole ms.
 */
export function backoffDelay(retry: number, policy: RetryPolicy = {}, random: () => number = Math.random): number {
  const base = policy.baseDelayMs ?? DEFAULTS.baseDelayMs;
  const cap = policy.maxDelayMs ?? DEFAULTS.maxDelayMs;
  const jitter = Math.min(1, Math.max(0, policy.jitter ?? DEFAULTS.jitter));
  const exp = Math.min(cap, base * 2 ** Math.max(0, retry - 1));
  return Math.max(0, Math.round(exp * (1 - jitter * random())));
}

/**
 * Parse `Retry-After` (delta-seconds or an HTTP-date, RFC 9110 §10.2.3) into milliseconds from `now`.
 * Also reads the non-standard `retry-after-ms` header that several APIs send (and our emulators use to
 * keep tests fast); it wins when both are present. Returns undefined when absent or unparseable.
 */
export function parseRetryAfter(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.ceil(Number(ms));
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Fractional seconds are not RFC-valid but cost nothing to accept.
  if (/^\d+\.\d+$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function defaultShouldRetry(error: unknown): RetryDecision {
  if (!(error instanceof LoraloopError) || error.details?.['retryable'] !== true) return false;
  const after = error.details['retryAfterMs'];
  return typeof after === 'number' ? { delayMs: after } : true;
}

/**
 * Run `fn` until it resolves, `shouldRetry` refuses, attempts run out, or `signal` aborts.
 * On giving up the last error is rethrown unchanged; an abort throws `LoraloopError('CANCELED')`.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: WithRetryOptions = {},
): Promise<T> {
  const maxAttempts = Math.max(1, Math.floor(opts.maxAttempts ?? DEFAULTS.maxAttempts));
  const sleep = opts.sleep ?? defaultSleep;
  const random = opts.random ?? Math.random;
  const shouldRetry = opts.shouldRetry ?? defaultShouldRetry;
  for (let attempt = 1; ; attempt++) {
    if (opts.signal?.aborted) throw canceled(opts.signal);
    try {
      return await fn(attempt);
    } catch (error) {
      if (opts.signal?.aborted) throw canceled(opts.signal);
      if (attempt >= maxAttempts) throw error;
      const decision = shouldRetry(error, attempt);
      if (decision === false) throw error;
      const fromServer = typeof decision === 'object';
      const delayMs = fromServer ? Math.max(0, Math.ceil(decision.delayMs)) : backoffDelay(attempt, opts, random);
      opts.onRetry?.({ attempt, delayMs, error, fromServer });
      await sleep(delayMs, opts.signal);
    }
  }
}

/** Options of `createRetryingFetch`. */
export interface RetryingFetchOptions extends RetryOptions {
  /** Name used in error messages, e.g. "Replicate". Default: the URL's host. */
  service?: string;
  /**
   * Methods that may be re-sent after a 5xx or a network error. Default GET, HEAD, OPTIONS.
   * Everything else (POST, PATCH, PUT, DELETE) is retried only on 429.
   */
  idempotentMethods?: readonly string[];
  /**
   * Longest wait for the response headers of one attempt. Past it the attempt counts as a network error:
   * retried for idempotent methods, `UPSTREAM_UNREACHABLE` (not re-sent) for the others. Default: no limit.
   */
  attemptTimeoutMs?: number;
}

/** Thrown inside the loop to carry a retryable response to `withRetry`; never escapes. */
class RetryableResponse extends Error {
  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly retryAfterMs: number | undefined,
    readonly detail: string | undefined,
  ) {
    super(`HTTP ${status}`);
  }
}

/** Thrown inside the loop for a network failure of an idempotent request; never escapes. */
class RetryableNetworkError extends Error {
  constructor(readonly original: unknown) {
    super('network error');
  }
}

function requestMethod(input: string | URL | Request, init: RequestInit | undefined): string {
  const m = init?.method ?? (input instanceof Request ? input.method : 'GET');
  return m.toUpperCase();
}

function requestUrl(input: string | URL | Request): URL | undefined {
  try {
    return new URL(input instanceof Request ? input.url : String(input));
  } catch {
    return undefined;
  }
}

function isAbort(error: unknown, signal: AbortSignal | null | undefined): boolean {
  if (signal?.aborted) return true;
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

/** Read a short, human `detail` from an error body (problem+json or text), without secrets or huge blobs. */
async function readDetail(res: Response): Promise<string | undefined> {
  try {
    const text = (await res.text()).slice(0, 2000);
    if (!text) return undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && 'detail' in parsed && typeof parsed.detail === 'string') {
        return parsed.detail.slice(0, 300);
      }
    } catch {
      // not JSON: fall through to the raw text
    }
    return text.slice(0, 300);
  } catch {
    return undefined;
  }
}

function networkCause(error: unknown): string {
  const ownCode = error instanceof Error && typeof (error as Error & { code?: unknown }).code === 'string';
  // fetch wraps socket errors as TypeError('fetch failed', { cause }): the cause says what happened.
  const cause = !ownCode && error instanceof Error && error.cause instanceof Error ? error.cause : error;
  if (cause instanceof Error) {
    const code = (cause as Error & { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${cause.message}` : cause.message;
  }
  return String(cause);
}

/**
 * Wrap `baseFetch` so that 429 (any method), and 5xx and network errors (idempotent methods only) are
 * retried with backoff and `Retry-After`. It resolves with the response in every other case (2xx, 4xx,
 * 5xx of a POST), and throws:
 * - `UPSTREAM_RATE_LIMITED` / `UPSTREAM_ERROR` when retries run out (message names status and attempts),
 * - `UPSTREAM_UNREACHABLE` on a network error: at once for non-idempotent methods (never re-sent),
 *   after the last attempt otherwise,
 * - `CANCELED` when the signal aborts while waiting; a fetch aborted mid-flight rethrows fetch's own error.
 *
 * The caller gets a retryable response only as a thrown error, never as a returned Response: clients with
 * their own blind retry loops (the `replicate` client) therefore never re-send what we gave up on.
 */
export function createRetryingFetch(baseFetch: FetchLike, opts: RetryingFetchOptions = {}): FetchLike {
  const idempotent = new Set((opts.idempotentMethods ?? ['GET', 'HEAD', 'OPTIONS']).map((m) => m.toUpperCase()));
  const now = opts.now ?? Date.now;
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? DEFAULTS.maxRetryAfterMs;
  const maxAttempts = Math.max(1, Math.floor(opts.maxAttempts ?? DEFAULTS.maxAttempts));

  return async (input, init) => {
    const method = requestMethod(input, init);
    const canResend = idempotent.has(method);
    const url = requestUrl(input);
    // Never put the query string in messages: signed URLs carry secrets there.
    const where = url ? `${url.origin}${url.pathname}` : 'the service';
    const service = opts.service ?? url?.host ?? 'the service';
    const signals = [opts.signal, init?.signal ?? undefined].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    let attempts = 0;

    const once = async (): Promise<Response> => {
      attempts++;
      // A Request body can be read only once: send a fresh clone on every attempt.
      const target = input instanceof Request ? input.clone() : input;
      const limit = opts.attemptTimeoutMs;
      let timedOut = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let attemptInit = init;
      if (limit !== undefined && limit > 0) {
        const ac = new AbortController();
        timer = setTimeout(() => {
          timedOut = true;
          ac.abort();
        }, limit);
        attemptInit = { ...init, signal: signal ? AbortSignal.any([signal, ac.signal]) : ac.signal };
      }
      let res: Response;
      try {
        res = await baseFetch(target, attemptInit);
      } catch (caught) {
        const error =
          timedOut && !signal?.aborted
            ? Object.assign(new Error(`no answer within ${limit} ms`, { cause: caught }), { code: 'TIMEOUT' })
            : caught;
        if (!timedOut && isAbort(error, signal)) throw error;
        if (!canResend) {
          throw new LoraloopError(
            'UPSTREAM_UNREACHABLE',
            `${service} could not be reached for ${method} ${where} (${networkCause(error)}); the request was sent once and not repeated, because the server may have acted on it.`,
            {
              hint: 'Check whether the object was created (list it) before trying again.',
              cause: error,
              details: { method, url: where, attempts, retried: false },
            },
          );
        }
        throw new RetryableNetworkError(error);
      } finally {
        clearTimeout(timer);
      }
      const retryable = res.status === 429 || (canResend && res.status >= 500);
      if (!retryable) return res;
      const retryAfterMs = parseRetryAfter(res.headers, now());
      throw new RetryableResponse(res.status, res.statusText, retryAfterMs, await readDetail(res));
    };

    try {
      return await withRetry(once, {
        ...opts,
        maxAttempts,
        signal,
        onRetry: (info) =>
          opts.onRetry?.(info.error instanceof RetryableResponse ? { ...info, status: info.error.status } : info),
        shouldRetry: (error) => {
          if (error instanceof RetryableNetworkError) return true;
          if (!(error instanceof RetryableResponse)) return false;
          if (error.retryAfterMs === undefined) return true;
          if (error.retryAfterMs > maxRetryAfterMs) return false;
          return { delayMs: error.retryAfterMs };
        },
      });
    } catch (error) {
      if (error instanceof RetryableNetworkError) {
        throw new LoraloopError(
          'UPSTREAM_UNREACHABLE',
          `${service} could not be reached for ${method} ${where} after ${attempts} attempt${attempts === 1 ? '' : 's'} (${networkCause(error.original)}).`,
          {
            hint: 'Check the network and the service base URL, then try again.',
            cause: error.original,
            details: { method, url: where, attempts, retried: attempts > 1 },
          },
        );
      }
      if (error instanceof RetryableResponse) throw giveUp(error, { service, method, where, attempts, maxRetryAfterMs });
      throw error;
    }
  };
}

function giveUp(
  r: RetryableResponse,
  ctx: { service: string; method: string; where: string; attempts: number; maxRetryAfterMs: number },
): LoraloopError {
  const limited = r.status === 429;
  const tooLong = r.retryAfterMs !== undefined && r.retryAfterMs > ctx.maxRetryAfterMs;
  const statusText = `${r.status}${r.statusText ? ` ${r.statusText}` : ''}`;
  const why = tooLong
    ? `asked us to wait ${Math.ceil((r.retryAfterMs ?? 0) / 1000)} s, more than the ${Math.ceil(ctx.maxRetryAfterMs / 1000)} s we wait`
    : `still failing after ${ctx.attempts} attempt${ctx.attempts === 1 ? '' : 's'}`;
  const detail = r.detail ? `: ${r.detail}` : '';
  return new LoraloopError(
    limited ? 'UPSTREAM_RATE_LIMITED' : 'UPSTREAM_ERROR',
    `${ctx.service} answered HTTP ${statusText} to ${ctx.method} ${ctx.where} (${why})${detail}.`,
    {
      hint: limited
        ? 'The service is rate limiting this account; wait a minute or lower the concurrency, then try again.'
        : 'The service is having trouble; try again in a few minutes.',
      details: {
        status: r.status,
        attempts: ctx.attempts,
        method: ctx.method,
        url: ctx.where,
        ...(r.retryAfterMs !== undefined ? { retryAfterMs: r.retryAfterMs } : {}),
      },
    },
  );
}
