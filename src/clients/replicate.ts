/**
 * The one way loraloop builds a Replicate client: the official `replicate` 1.4.0 client, pointed at
 * `baseUrl`, with our retrying fetch underneath (CONTRACTS.md §2.8).
 *
 * Why wrap its fetch: the client's own retries never wait, and after a cut connection it re-sends the same
 * request, POST included, so a `trainings.create` whose answer was lost would create a second training.
 * Our fetch waits properly (backoff, `Retry-After`), never re-sends a POST after a network error, and
 * answers the client's blind re-tries of a request we already gave up on with the same error, without
 * touching the network again.
 *
 * The API key loads lazily: constructing a client without one works, the first request throws
 * `NOT_CONFIGURED`, so the app can start with no keys.
 */
import Replicate from 'replicate';
import stripAnsi from 'strip-ansi';
import { z } from 'zod';
import { LoraloopError } from '../core/errors.js';
import { createRetryingFetch, type FetchLike, type RetryingFetchOptions } from '../core/retry.js';

export const DEFAULT_REPLICATE_BASE_URL = 'https://api.replicate.com/v1';
/** Per-attempt wait for response headers (override with `retry.attemptTimeoutMs`). */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 120_000;

/** Options of `createReplicateClient`. */
export interface ReplicateClientOptions {
  /** API base **including `/v1`**, e.g. `http://127.0.0.1:PORT/v1`. Default https://api.replicate.com/v1. */
  baseUrl?: string;
  /** The token, or a function read at each request (lazy configuration). Missing -> NOT_CONFIGURED on use. */
  apiKey?: string | (() => string | undefined);
  /** The network. Default globalThis.fetch. */
  fetch?: FetchLike;
  /** Clock for HTTP-date `Retry-After`. Default Date.now. */
  now?: () => number;
  /** Retry policy and test hooks (sleep, random, signal, onRetry, attemptTimeoutMs). */
  retry?: Omit<RetryingFetchOptions, 'service'>;
  /** User-Agent; default the client's own `replicate-javascript/<version>`. */
  userAgent?: string;
}

/**
 * Build an official Replicate client that talks through our retrying fetch.
 * Throws `CONFIG_INVALID` at once if `baseUrl` is not an http(s) URL.
 */
export function createReplicateClient(options: ReplicateClientOptions = {}): Replicate {
  const baseUrl = (options.baseUrl ?? DEFAULT_REPLICATE_BASE_URL).replace(/\/+$/, '');
  let apiOrigin: string;
  try {
    const u = new URL(baseUrl);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
    apiOrigin = u.origin;
  } catch (cause) {
    throw new LoraloopError('CONFIG_INVALID', `REPLICATE_BASE_URL is not an http(s) URL: ${baseUrl}`, {
      hint: 'Use the API base including /v1, e.g. https://api.replicate.com/v1.',
      cause,
    });
  }
  const resolveKey = typeof options.apiKey === 'function' ? options.apiKey : () => options.apiKey as string | undefined;
  const retrying = createRetryingFetch(options.fetch ?? ((input, init) => globalThis.fetch(input, init)), {
    service: 'Replicate',
    // Above Prefer: wait's 60 s ceiling; a hung connection must not hang a job forever.
    attemptTimeoutMs: DEFAULT_ATTEMPT_TIMEOUT_MS,
    ...(options.now ? { now: options.now } : {}),
    ...options.retry,
  });

  // The client builds one `init` object per logical request and passes that same object to every one of
  // its own retries; remembering what we threw for it lets us end those retries without any network I/O.
  const settled = new WeakMap<object, { error: unknown }>();

  const fetch: FetchLike = async (input, init) => {
    const prior = init ? settled.get(init) : undefined;
    if (prior) throw prior.error;
    try {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const headers = new Headers(init?.headers);
      if (url.origin === apiOrigin) {
        const key = resolveKey()?.trim();
        if (!key) {
          throw new LoraloopError('NOT_CONFIGURED', 'REPLICATE_API_TOKEN is not set', {
            hint: 'Set REPLICATE_API_TOKEN to a token from https://replicate.com/account/api-tokens to use Replicate.',
          });
        }
        headers.set('authorization', `Bearer ${key}`);
      } else {
        // Output files live on other hosts (replicate.delivery): never send them our token.
        headers.delete('authorization');
      }
      return await retrying(input, { ...init, headers });
    } catch (error) {
      if (init) settled.set(init, { error });
      throw error;
    }
  };

  // A truthy placeholder keeps the client from reading process.env.REPLICATE_API_TOKEN itself; clearing it
  // afterwards stops the client from adding a header at all: our fetch is the only owner of the token.
  const client = new Replicate({
    auth: 'set-by-loraloop-fetch',
    baseUrl,
    fetch: fetch as Replicate['fetch'],
    ...(options.userAgent ? { userAgent: options.userAgent } : {}),
  });
  client.auth = '';
  return client;
}

/** Statuses after which a prediction or training never changes again. Includes `aborted`, which the client's `wait` forgets. */
export const TERMINAL_STATUSES = ['succeeded', 'failed', 'canceled', 'aborted'] as const;
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

export function isTerminal(status: string): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/** Progress read from a training's `logs`. */
export interface TrainingProgress {
  /** Steps done (tqdm `n`). */
  step: number;
  /** Total steps (tqdm `total`). */
  total: number;
  /** step / total, 0..1. */
  progress: number;
  /** The last reported loss; NaN when the trainer printed `nan` (treat as fatal); null when absent. */
  loss: number | null;
  /** The last reported learning rate; null when absent. */
  lr: number | null;
}

// ai-toolkit's bar is named after the job (TRAINERS.md §3a); anchoring on it skips preprocessing bars.
const BAR = /flux_train_replicate:\s*(\d{1,3})%\|[^|]*\|\s*(\d+)\/(\d+)(?:\s*\[([^\]]*)\]?)?/;
const NUM = '([-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][-+]?\\d+)?|nan|inf|-inf)';

function postfixNumber(postfix: string, name: string): number | null {
  const m = new RegExp(`\\b${name}:\\s*${NUM}`, 'i').exec(postfix);
  if (!m?.[1]) return null;
  const v = m[1].toLowerCase();
  if (v === 'nan') return Number.NaN;
  if (v === 'inf') return Number.POSITIVE_INFINITY;
  if (v === '-inf') return Number.NEGATIVE_INFINITY;
  return Number(v);
}

/**
 * The latest training progress in Replicate `logs` for ostris/flux-dev-lora-trainer, or null when no
 * training bar has been printed yet. tqdm redraws with `\r`, so the logs are split on both `\r` and `\n`
 * and the LAST bar wins, e.g.
 * `flux_train_replicate:  10%|█   | 100/1000 [01:23<11:07, 1.35it/s, lr: 4.0e-04 loss: 3.456e-01]`.
 */
export function parseTrainingProgress(logs: string): TrainingProgress | null {
  const lines = stripAnsi(logs).split(/[\r\n]+/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = BAR.exec(lines[i] ?? '');
    if (!m) continue;
    const step = Number(m[2]);
    const total = Number(m[3]);
    const postfix = m[4] ?? '';
    return {
      step,
      total,
      progress: total > 0 ? Math.min(1, step / total) : 0,
      loss: postfixNumber(postfix, 'loss'),
      lr: postfixNumber(postfix, 'lr'),
    };
  }
  return null;
}

/** `owner/name` or `owner/name:version`, as LORALOOP_REPLICATE_TRAINER and `run()` take it. */
export interface ModelRef {
  owner: string;
  name: string;
  version: string | undefined;
}

/** Split a model reference; throws `INVALID_INPUT` naming the expected form. */
export function parseModelRef(ref: string): ModelRef {
  const m = /^([^/\s:]+)\/([^/\s:]+)(?::([^\s]+))?$/.exec(ref.trim());
  if (!m?.[1] || !m[2]) {
    throw new LoraloopError('INVALID_INPUT', `"${ref}" is not a Replicate model reference (expected owner/name or owner/name:version).`, {
      hint: 'For example ostris/flux-dev-lora-trainer:<64-hex version id>.',
    });
  }
  return { owner: m[1], name: m[2], version: m[3] };
}

const status = z.enum(['starting', 'processing', 'succeeded', 'failed', 'canceled', 'aborted']);
const urls = z.looseObject({ get: z.string(), cancel: z.string().optional(), web: z.string().optional() });

/** The fields of a Training we rely on (CONTRACTS.md §2.4); other fields pass through. */
export const replicateTrainingSchema = z.looseObject({
  id: z.string(),
  status,
  model: z.string().optional(),
  version: z.string().optional(),
  input: z.record(z.string(), z.unknown()).nullish(),
  output: z.looseObject({ version: z.string().optional(), weights: z.string().optional() }).nullish(),
  error: z.unknown().optional(),
  logs: z.string().nullish(),
  metrics: z.looseObject({ predict_time: z.number().optional(), total_time: z.number().optional() }).nullish(),
  created_at: z.string().optional(),
  started_at: z.string().nullish(),
  completed_at: z.string().nullish(),
  urls: urls.optional(),
});
export type ReplicateTraining = z.infer<typeof replicateTrainingSchema>;

/** The fields of a Prediction we rely on (CONTRACTS.md §2.2); other fields pass through. */
export const replicatePredictionSchema = z.looseObject({
  id: z.string(),
  status,
  model: z.string().optional(),
  version: z.string().optional(),
  input: z.record(z.string(), z.unknown()).nullish(),
  output: z.unknown().optional(),
  error: z.unknown().optional(),
  logs: z.string().nullish(),
  metrics: z.record(z.string(), z.unknown()).nullish(),
  data_removed: z.boolean().optional(),
  created_at: z.string().optional(),
  started_at: z.string().nullish(),
  completed_at: z.string().nullish(),
  urls: urls.optional(),
});
export type ReplicatePrediction = z.infer<typeof replicatePredictionSchema>;

/** A File from the files API (CONTRACTS.md §2.5). */
export const replicateFileSchema = z.looseObject({
  id: z.string(),
  content_type: z.string(),
  size: z.number(),
  checksums: z.looseObject({ sha256: z.string().optional() }).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  created_at: z.string().optional(),
  expires_at: z.string().nullish(),
  urls: z.looseObject({ get: z.string() }),
});
