import OpenAI from 'openai';
import type { Config } from '../core/config.js';
import { LoraloopError } from '../core/errors.js';

/** What a client needs from the app: the endpoint settings (OPENAI_*) and the network (the app's injected fetch). */
export interface OpenAIDeps {
  config: { openai: Config['openai'] };
  fetch: typeof fetch;
}

/** How to reach an OpenAI-compatible endpoint. */
export interface OpenAISettings {
  apiKey: string;
  /** OPENAI_BASE_URL (including /v1); OpenAI's own when absent. */
  baseUrl?: string | undefined;
  fetch?: typeof fetch | undefined;
  timeoutMs: number;
  /** SDK retries on 429/5xx (the SDK waits, honouring Retry-After). */
  maxRetries: number;
}

/**
 * The one place loraloop constructs the official `openai` client. Callers that must not load the SDK before
 * they need it (the coin second opinion, on a cold `loraloop cover`) import this module dynamically.
 */
export function openAIClient(o: OpenAISettings): OpenAI {
  return new OpenAI({
    apiKey: o.apiKey,
    ...(o.baseUrl ? { baseURL: o.baseUrl } : {}),
    ...(o.fetch ? { fetch: o.fetch } : {}),
    maxRetries: o.maxRetries,
    timeout: o.timeoutMs,
  });
}

/** Options for {@link createOpenAIClient}. */
export interface OpenAIClientOptions {
  /** What the client is for, named in the "not configured" message. */
  purpose: string;
  /** SDK retries on 429/5xx (the SDK waits, honouring Retry-After). */
  maxRetries?: number;
  timeoutMs?: number;
}

/** Whether an OpenAI-compatible endpoint is configured (a key is enough; the base URL defaults to OpenAI). */
export function openAIConfigured(s: Pick<OpenAIDeps, 'config'>): boolean {
  return Boolean(s.config.openai.apiKey);
}

/**
 * The official `openai` client for the configured endpoint (OPENAI_BASE_URL, OPENAI_API_KEY), using the
 * app's injected fetch so tests and proxies apply. A missing key fails here, naming the variable, only
 * when a feature that needs the model is used.
 */
export function createOpenAIClient(s: OpenAIDeps, opts: OpenAIClientOptions): OpenAI {
  const { apiKey, baseUrl } = s.config.openai;
  if (!apiKey) {
    throw new LoraloopError('NOT_CONFIGURED', `${opts.purpose} needs an OpenAI-compatible endpoint, and OPENAI_API_KEY is not set.`, {
      hint: 'Set OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server other than OpenAI), or use the built-in rule planner / metric critic.',
    });
  }
  return openAIClient({ apiKey, baseUrl, fetch: s.fetch, maxRetries: opts.maxRetries ?? 2, timeoutMs: opts.timeoutMs ?? 60_000 });
}

/** A sentence for an SDK error: status and message, never the key or the request body. */
export function describeOpenAIError(e: unknown): { code: string; message: string } {
  if (e instanceof OpenAI.APIError) {
    const status = e.status;
    const code = status === 429 ? 'UPSTREAM_RATE_LIMITED' : status === undefined ? 'UPSTREAM_UNREACHABLE' : 'UPSTREAM_ERROR';
    return { code, message: `the model endpoint answered ${status ?? 'nothing'}${e.message ? `: ${e.message.slice(0, 200)}` : ''}` };
  }
  if (e instanceof LoraloopError) return { code: e.code, message: e.message };
  return { code: 'UPSTREAM_ERROR', message: e instanceof Error ? e.message : String(e) };
}
