/**
 * HTTP + WebSocket client for one ComfyUI server (CONTRACTS.md §1).
 *
 * Following a prompt: one shared WebSocket per client (`/ws?clientId=<id>`, the same id goes into every
 * `POST /prompt`, or the server sends us nothing, §1.9) carries progress and the "done" signal; the result is
 * always read from `GET /history/{id}`, which is the source of truth. If the socket drops or never opens,
 * `follow` polls `/history/{id}` instead, so a flaky proxy costs latency, not the image. A server that stops
 * answering fails the follow after a few consecutive refused polls, so a pool can move the work elsewhere.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { z } from 'zod';
import { LoraloopError, isLoraloopError } from '../../../core/errors.js';
import { formatNodeErrors } from './node-errors.js';
import { ObjectInfoSchema, comboOptions, type ObjectInfo } from './object-info.js';
import type { ComfyWorkflow } from './workflow.js';
import {
  ExecutionErrorSchema,
  ExecutionInterruptedSchema,
  HistoryAnswerSchema,
  ModelListSchema,
  ProgressSchema,
  PromptInfoSchema,
  QueuedPromptSchema,
  SystemStatsSchema,
  UploadedImageSchema,
  WsEventSchema,
  type ComfyWsEvent,
  type HistoryEntry,
  type ImageRef,
  type SystemStats,
  type UploadedImage,
} from './wire.js';

/** The part of the WHATWG/`ws` WebSocket API the client uses (both `ws` and browser sockets fit). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Injected I/O and tuning for {@link createComfyClient}. */
export interface ComfyClientOptions {
  /** `http://host:8188`, or a reverse-proxy prefix such as `https://gpu.example/comfy`. */
  baseUrl: string;
  fetch?: typeof fetch;
  /** Defaults to the `ws` package (it takes headers and an agent, which the global WebSocket does not). */
  WebSocketImpl?: WebSocketConstructor;
  now?: () => number;
  /** Our id on the server's WebSocket; a random uuid by default. */
  clientId?: string;
  /** How long `/object_info` answers are reused (default 30 s): names change rarely, but they do change. */
  objectInfoTtlMs?: number;
  /** Poll interval for `/history` when there is no WebSocket (default 1000 ms). */
  pollIntervalMs?: number;
  /** Safety poll interval while the WebSocket is up, in case an event is lost (default 5000 ms). */
  safetyPollMs?: number;
  /** Consecutive failed polls before `follow` gives up with UPSTREAM_UNREACHABLE (default 3). */
  maxPollFailures?: number;
  /** Per HTTP request (default 30 s). */
  requestTimeoutMs?: number;
  /** WebSocket open timeout (default 5 s). */
  connectTimeoutMs?: number;
  /** While following without a socket, try to reopen it this often (default 10 s). */
  reconnectIntervalMs?: number;
}

/** Options for one `POST /prompt`. */
export interface QueueOptions {
  /** Choose the prompt id (newer servers honour it; older ones make their own, which is what we return). */
  promptId?: string;
  /** Put the job at the head of the queue. */
  front?: boolean;
  extraData?: Record<string, unknown>;
}

export interface QueuedPrompt {
  promptId: string;
  number: number;
  /** Non-empty when some outputs failed validation but at least one was valid. */
  nodeErrors: Record<string, unknown>;
}

export interface FollowOptions {
  abortSignal?: AbortSignal;
  onProgress?: (p: { value: number; max: number }) => void;
  /** Every WebSocket event about this prompt, for callers that want more than progress. */
  onEvent?: (ev: ComfyWsEvent) => void;
  /** Give up (and cancel the job) after this long; default 10 minutes. */
  timeoutMs?: number;
}

/** A finished prompt. */
export interface ComfyRun {
  promptId: string;
  entry: HistoryEntry;
  /** SaveImage outputs (`type: "output"`) in node-id order; other outputs (previews) after them. */
  images: Array<ImageRef & { node: string }>;
  /** True when the result came from polling because the WebSocket was down. */
  polled: boolean;
}

export interface UploadOptions {
  subfolder?: string;
  type?: 'input' | 'temp' | 'output';
  overwrite?: boolean;
}

/** One ComfyUI server. */
export interface ComfyClient {
  readonly baseUrl: string;
  readonly clientId: string;
  /** `/object_info` or `/object_info/{nodeClass}`, cached for `objectInfoTtlMs`. */
  objectInfo(nodeClass?: string): Promise<ObjectInfo>;
  listCheckpoints(): Promise<string[]>;
  listLoras(): Promise<string[]>;
  /** `GET /models/{folder}` (e.g. `diffusion_models`, `vae`, `text_encoders`); `[]` for an unknown folder. */
  listModels(folder: string): Promise<string[]>;
  samplers(): Promise<{ samplers: string[]; schedulers: string[] }>;
  queuePrompt(workflow: ComfyWorkflow, opts?: QueueOptions): Promise<QueuedPrompt>;
  follow(promptId: string, opts?: FollowOptions): Promise<ComfyRun>;
  /** `GET /history/{id}`: undefined until the prompt finished. */
  history(promptId: string): Promise<HistoryEntry | undefined>;
  view(ref: { filename: string; subfolder?: string; type?: string }): Promise<Buffer>;
  uploadImage(data: Uint8Array, filename: string, opts?: UploadOptions): Promise<UploadedImage>;
  /** Interrupt the running prompt; with an id, only if that prompt is the running one. */
  interrupt(promptId?: string): Promise<void>;
  /** Remove pending prompts from the queue (running ones need `interrupt`). */
  deleteQueued(promptIds: string[]): Promise<void>;
  /** Pending plus running prompts. */
  queueLength(): Promise<number>;
  systemStats(): Promise<SystemStats>;
  /** Open the shared WebSocket now; false when it cannot (following then polls). Never throws. */
  connect(): Promise<boolean>;
  /** Close the WebSocket. The client stays usable (it reconnects on the next `connect`). */
  close(): void;
}

const MAX_BODY_QUOTE = 300;

/** Create a client for one server. No I/O happens until a method is called. */
export function createComfyClient(opts: ComfyClientOptions): ComfyClient {
  const doFetch = opts.fetch ?? globalThis.fetch;
  // `ws` types its handlers with its own event classes; at runtime it is exactly the WHATWG shape we use.
  const WS = opts.WebSocketImpl ?? (WebSocket as unknown as WebSocketConstructor);
  const now = opts.now ?? Date.now;
  const clientId = opts.clientId ?? randomUUID();
  const ttl = opts.objectInfoTtlMs ?? 30_000;
  const pollMs = opts.pollIntervalMs ?? 1000;
  const safetyPollMs = opts.safetyPollMs ?? 5000;
  const maxPollFailures = opts.maxPollFailures ?? 3;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
  const reconnectIntervalMs = opts.reconnectIntervalMs ?? 10_000;
  const base = opts.baseUrl.endsWith('/') ? opts.baseUrl : `${opts.baseUrl}/`;
  if (!URL.canParse(base) || !/^https?:$/.test(new URL(base).protocol)) {
    throw new LoraloopError('CONFIG_INVALID', `"${opts.baseUrl}" is not a ComfyUI URL.`, {
      hint: 'Use http://host:8188 (or an https reverse-proxy URL) in COMFYUI_URLS.',
    });
  }
  const server = opts.baseUrl.replace(/\/+$/, '');

  const url = (path: string, query?: Record<string, string>): URL => {
    const u = new URL(path.replace(/^\/+/, ''), base);
    for (const [k, v] of Object.entries(query ?? {})) u.searchParams.set(k, v);
    return u;
  };

  async function request(method: string, path: string, init: { query?: Record<string, string>; json?: unknown; body?: FormData } = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    let body: string | FormData | undefined = init.body;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    }
    try {
      return await doFetch(url(path, init.query).toString(), { method, headers, body, signal: AbortSignal.timeout(requestTimeoutMs) });
    } catch (e) {
      if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
        throw new LoraloopError('TIMEOUT', `ComfyUI at ${server} did not answer ${method} ${path} within ${requestTimeoutMs} ms.`, {
          hint: 'Check that the server is not stuck, or raise requestTimeoutMs.',
          cause: e,
        });
      }
      const reason = e instanceof Error && e.cause instanceof Error ? e.cause.message : String(e);
      throw new LoraloopError('UPSTREAM_UNREACHABLE', `ComfyUI at ${server} is unreachable (${method} ${path}: ${reason}).`, {
        hint: 'Check that ComfyUI is running and that COMFYUI_URLS points at it.',
        cause: e,
      });
    }
  }

  async function failed(res: Response, method: string, path: string): Promise<LoraloopError> {
    const text = await res.text().catch(() => '');
    return new LoraloopError('UPSTREAM_ERROR', `ComfyUI at ${server} answered ${res.status} to ${method} ${path}: ${text.slice(0, MAX_BODY_QUOTE) || res.statusText}`, {
      details: { status: res.status },
    });
  }

  async function getJson<S extends z.ZodType>(path: string, schema: S, query?: Record<string, string>): Promise<z.infer<S>> {
    const res = await request('GET', path, { query });
    if (!res.ok) throw await failed(res, 'GET', path);
    return parse(schema, await res.json().catch(() => undefined), `GET ${path}`);
  }

  function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    throw new LoraloopError('UPSTREAM_ERROR', `ComfyUI at ${server} sent an unexpected answer to ${what}: ${r.error.issues[0]?.message ?? 'bad shape'}.`, {
      hint: 'Is this URL really a ComfyUI server (and a version from 2024 or later)?',
      cause: r.error,
    });
  }

  // --- /object_info cache: in-flight promises are shared so parallel generations ask once. ---
  const infoCache = new Map<string, { at: number; value: Promise<ObjectInfo> }>();
  function objectInfo(nodeClass?: string): Promise<ObjectInfo> {
    const key = nodeClass ?? '';
    const hit = infoCache.get(key);
    if (hit && now() - hit.at < ttl) return hit.value;
    const path = nodeClass ? `object_info/${encodeURIComponent(nodeClass)}` : 'object_info';
    const value = getJson(path, ObjectInfoSchema);
    infoCache.set(key, { at: now(), value });
    value.catch(() => infoCache.delete(key));
    return value;
  }

  async function listModels(folder: string): Promise<string[]> {
    const path = `models/${encodeURIComponent(folder)}`;
    const res = await request('GET', path);
    if (res.status === 404) return [];
    if (!res.ok) throw await failed(res, 'GET', path);
    return parse(ModelListSchema, await res.json().catch(() => undefined), `GET ${path}`);
  }

  async function comboOrFolder(pairs: Array<[string, string]>, folder: string): Promise<string[]> {
    for (const [cls, input] of pairs) {
      const values = comboOptions(await objectInfo(cls), cls, input);
      if (values) return values;
    }
    return listModels(folder);
  }

  // --- WebSocket: one per client, shared by every follow(). ---
  let socket: WebSocketLike | undefined;
  let socketOpen = false;
  let connecting: Promise<boolean> | undefined;
  let lastConnectAt = Number.NEGATIVE_INFINITY;
  const messageListeners = new Set<(ev: ComfyWsEvent) => void>();
  const closeListeners = new Set<() => void>();
  /**
   * Events that arrive between `POST /prompt` and `follow()` (the server starts at once; the first progress
   * events can beat the HTTP answer). Keyed by the prompt id we chose; replayed by `follow`, dropped after a minute.
   */
  const early = new Map<string, ComfyWsEvent[]>();
  const EARLY_CAP = 500;
  const EARLY_TTL_MS = 60_000;
  function bufferEarly(promptId: string): void {
    early.set(promptId, []);
    setTimeout(() => early.delete(promptId), EARLY_TTL_MS).unref();
  }
  messageListeners.add((ev) => {
    const id = ev.data.prompt_id;
    const buf = typeof id === 'string' ? early.get(id) : undefined;
    if (buf && buf.length < EARLY_CAP) buf.push(ev);
  });

  function connect(): Promise<boolean> {
    if (socketOpen) return Promise.resolve(true);
    if (connecting) return connecting;
    lastConnectAt = now();
    connecting = new Promise<boolean>((resolve) => {
      const wsUrl = url('ws', { clientId });
      wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
      let ws: WebSocketLike;
      try {
        ws = new WS(wsUrl.toString());
      } catch {
        resolve(false);
        return;
      }
      socket = ws;
      const timer = setTimeout(() => {
        ws.close();
        settle(false);
      }, connectTimeoutMs);
      let settled = false;
      const settle = (ok: boolean): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(ok);
      };
      ws.onopen = () => {
        socketOpen = true;
        settle(true);
      };
      ws.onerror = () => settle(false);
      ws.onclose = () => {
        settle(false);
        if (socket === ws) {
          socket = undefined;
          socketOpen = false;
        }
        for (const l of closeListeners) l();
      };
      ws.onmessage = (ev) => {
        // Binary frames are previews (§1.9); we only read JSON text frames.
        if (typeof ev.data !== 'string') return;
        let raw: unknown;
        try {
          raw = JSON.parse(ev.data);
        } catch {
          return;
        }
        const parsed = WsEventSchema.safeParse(raw);
        if (!parsed.success) return;
        for (const l of messageListeners) l(parsed.data);
      };
    }).finally(() => {
      connecting = undefined;
    });
    return connecting;
  }

  function close(): void {
    const ws = socket;
    socket = undefined;
    socketOpen = false;
    ws?.close();
  }

  // --- queue, history, follow ---
  async function queuePrompt(workflow: ComfyWorkflow, q: QueueOptions = {}): Promise<QueuedPrompt> {
    const chosenId = q.promptId ?? randomUUID();
    const body: Record<string, unknown> = { prompt: workflow, client_id: clientId, prompt_id: chosenId };
    if (q.front) body.front = true;
    if (q.extraData) body.extra_data = q.extraData;
    bufferEarly(chosenId);
    let res: Response;
    try {
      res = await request('POST', 'prompt', { json: body });
    } catch (e) {
      early.delete(chosenId);
      throw e;
    }
    if (!res.ok) early.delete(chosenId);
    if (res.status === 400) {
      const text = await res.text();
      let parsedBody: unknown = text;
      try {
        parsedBody = JSON.parse(text);
      } catch {
        // keep the text: formatNodeErrors quotes it
      }
      throw new LoraloopError('UPSTREAM_ERROR', formatNodeErrors(parsedBody), {
        hint: 'Fix the named inputs (or pick names the server lists) and try again.',
        details: { status: 400, server, body: parsedBody },
      });
    }
    if (!res.ok) throw await failed(res, 'POST', 'prompt');
    const ok = parse(QueuedPromptSchema, await res.json().catch(() => undefined), 'POST /prompt');
    const nodeErrors = ok.node_errors && !Array.isArray(ok.node_errors) ? ok.node_errors : {};
    // Servers older than client-chosen ids make their own; buffer under that one from now on.
    if (ok.prompt_id !== chosenId) {
      early.delete(chosenId);
      bufferEarly(ok.prompt_id);
    }
    return { promptId: ok.prompt_id, number: ok.number, nodeErrors };
  }

  async function history(promptId: string): Promise<HistoryEntry | undefined> {
    const answer = await getJson(`history/${encodeURIComponent(promptId)}`, HistoryAnswerSchema);
    return answer[promptId];
  }

  async function interrupt(promptId?: string): Promise<void> {
    const res = await request('POST', 'interrupt', { json: promptId ? { prompt_id: promptId } : {} });
    if (!res.ok) throw await failed(res, 'POST', 'interrupt');
  }

  async function deleteQueued(promptIds: string[]): Promise<void> {
    const res = await request('POST', 'queue', { json: { delete: promptIds } });
    if (!res.ok) throw await failed(res, 'POST', 'queue');
  }

  async function cancel(promptId: string): Promise<void> {
    // Pending prompts must leave the queue; a running one needs /interrupt. We do not know which it is.
    await Promise.allSettled([deleteQueued([promptId]), interrupt(promptId)]);
  }

  function finish(promptId: string, entry: HistoryEntry, wsError: unknown, polled: boolean): ComfyRun {
    const status = entry.status;
    if (status && (status.status_str === 'error' || status.completed === false)) {
      const msgs = status.messages;
      const errMsg = msgs.find((m) => m[0] === 'execution_error')?.[1] ?? wsError;
      const err = ExecutionErrorSchema.safeParse(errMsg);
      if (err.success && (err.data.exception_message !== undefined || err.data.node_type !== undefined)) {
        const d = err.data;
        const where = d.node_id !== undefined ? `node ${d.node_id}${d.node_type ? ` (${d.node_type})` : ''}` : 'a node';
        const what = [d.exception_type, d.exception_message?.trim()].filter(Boolean).join(': ');
        throw new LoraloopError('JOB_FAILED', `ComfyUI at ${server} failed on ${where}: ${what || 'unknown error'}`, {
          hint: 'Read the exception above; a missing model file or out-of-memory error needs a fix on the server.',
          details: { promptId, nodeId: d.node_id, nodeType: d.node_type, exceptionType: d.exception_type },
        });
      }
      const intr = msgs.find((m) => m[0] === 'execution_interrupted')?.[1];
      if (intr !== undefined) {
        const d = ExecutionInterruptedSchema.safeParse(intr);
        const at = d.success && d.data.node_type ? ` at ${d.data.node_type}` : '';
        throw new LoraloopError('CANCELED', `ComfyUI at ${server} interrupted prompt ${promptId}${at}.`, {
          hint: 'Someone pressed cancel or called /interrupt on that server; queue it again if it is still wanted.',
          details: { promptId },
        });
      }
      throw new LoraloopError('JOB_FAILED', `ComfyUI at ${server} reports prompt ${promptId} failed without saying why.`, {
        details: { promptId },
      });
    }
    const images: ComfyRun['images'] = [];
    for (const [node, out] of Object.entries(entry.outputs).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))) {
      for (const img of out.images ?? []) images.push({ ...img, node });
    }
    images.sort((a, b) => Number(b.type === 'output') - Number(a.type === 'output'));
    return { promptId, entry, images, polled };
  }

  async function follow(promptId: string, f: FollowOptions = {}): Promise<ComfyRun> {
    const deadline = now() + (f.timeoutMs ?? 600_000);
    let wake: (() => void) | undefined;
    const poke = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    let terminalSeen = false;
    let wsError: unknown;
    let polled = false;
    const onMessage = (ev: ComfyWsEvent): void => {
      if (ev.data.prompt_id !== promptId) return;
      f.onEvent?.(ev);
      if (ev.type === 'progress') {
        const p = ProgressSchema.safeParse(ev.data);
        if (p.success) f.onProgress?.({ value: p.data.value, max: p.data.max });
      } else if (ev.type === 'execution_error') {
        wsError = ev.data;
        terminalSeen = true;
        poke();
      } else if (
        (ev.type === 'executing' && ev.data.node === null) ||
        ev.type === 'execution_success' ||
        ev.type === 'execution_interrupted'
      ) {
        terminalSeen = true;
        poke();
      }
    };
    const missed = early.get(promptId) ?? [];
    early.delete(promptId);
    for (const ev of missed) onMessage(ev);
    messageListeners.add(onMessage);
    closeListeners.add(poke);
    f.abortSignal?.addEventListener('abort', poke);
    let failures = 0;
    try {
      for (;;) {
        if (f.abortSignal?.aborted) {
          await cancel(promptId);
          throw new LoraloopError('CANCELED', `Generation canceled; ComfyUI at ${server} was asked to interrupt prompt ${promptId}.`, {
            details: { promptId },
          });
        }
        if (now() > deadline) {
          await cancel(promptId);
          throw new LoraloopError('TIMEOUT', `ComfyUI at ${server} did not finish prompt ${promptId} in time; it was interrupted.`, {
            hint: 'The server may be busy (see its queue) or slow; raise the timeout or use another server.',
            details: { promptId },
          });
        }
        try {
          const entry = await history(promptId);
          failures = 0;
          if (entry) return finish(promptId, entry, wsError, polled);
        } catch (e) {
          const transient = isLoraloopError(e) && (e.code === 'UPSTREAM_UNREACHABLE' || e.code === 'TIMEOUT' || e.code === 'UPSTREAM_ERROR');
          if (!transient) throw e;
          failures += 1;
          if (failures >= maxPollFailures) {
            throw new LoraloopError('UPSTREAM_UNREACHABLE', `Lost ComfyUI at ${server} while prompt ${promptId} was queued or running: ${e.message}`, {
              hint: 'The server went away mid-job; run the request again (on another server if you have one).',
              cause: e,
              details: { promptId },
            });
          }
        }
        if (!socketOpen) {
          polled = true;
          // A proxy that dropped the socket may take it back; events beat polling when it does.
          if (now() - lastConnectAt >= reconnectIntervalMs) void connect();
        }
        // After a "done" event the history entry lands within milliseconds; otherwise the socket (or the poll) paces us.
        const waitMs = terminalSeen ? Math.min(pollMs, 100) : socketOpen && failures === 0 ? safetyPollMs : pollMs;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            wake = undefined;
            resolve();
          }, waitMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      messageListeners.delete(onMessage);
      closeListeners.delete(poke);
      f.abortSignal?.removeEventListener('abort', poke);
    }
  }

  async function view(ref: { filename: string; subfolder?: string; type?: string }): Promise<Buffer> {
    const query = { filename: ref.filename, subfolder: ref.subfolder ?? '', type: ref.type ?? 'output' };
    const res = await request('GET', 'view', { query });
    if (!res.ok) throw await failed(res, 'GET', `view?filename=${ref.filename}`);
    return Buffer.from(await res.arrayBuffer());
  }

  async function uploadImage(data: Uint8Array, filename: string, u: UploadOptions = {}): Promise<UploadedImage> {
    const form = new FormData();
    form.set('image', new Blob([new Uint8Array(data)]), filename);
    form.set('type', u.type ?? 'input');
    if (u.subfolder) form.set('subfolder', u.subfolder);
    if (u.overwrite) form.set('overwrite', 'true');
    const res = await request('POST', 'upload/image', { body: form });
    if (!res.ok) throw await failed(res, 'POST', 'upload/image');
    return parse(UploadedImageSchema, await res.json().catch(() => undefined), 'POST /upload/image');
  }

  return {
    baseUrl: server,
    clientId,
    objectInfo,
    listCheckpoints: () => comboOrFolder([['CheckpointLoaderSimple', 'ckpt_name']], 'checkpoints'),
    listLoras: () =>
      comboOrFolder(
        [
          ['LoraLoader', 'lora_name'],
          ['LoraLoaderModelOnly', 'lora_name'],
        ],
        'loras',
      ),
    listModels,
    samplers: async () => {
      const info = await objectInfo('KSampler');
      return { samplers: comboOptions(info, 'KSampler', 'sampler_name') ?? [], schedulers: comboOptions(info, 'KSampler', 'scheduler') ?? [] };
    },
    queuePrompt,
    follow,
    history,
    view,
    uploadImage,
    interrupt,
    deleteQueued,
    queueLength: async () => (await getJson('prompt', PromptInfoSchema)).exec_info.queue_remaining,
    systemStats: () => getJson('system_stats', SystemStatsSchema),
    connect,
    close,
  };
}
