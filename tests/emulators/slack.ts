/**
 * A local Slack for tests, both directions:
 *
 * - the Web API the bot calls (`slackApiUrl` = `apiUrl`): auth.test, chat.postMessage / update /
 *   postEphemeral / delete, and the files upload flow (files.getUploadURLExternal -> POST the bytes to the
 *   returned upload_url, served here -> files.completeUploadExternal), plus the `response_url` of slash
 *   commands. Requests need `Authorization: Bearer <botToken>`; bodies are parsed the way Slack accepts them
 *   (form, JSON, multipart). Everything is recorded for assertions; faults can be queued per method.
 * - Socket Mode: apps.connections.open (with the app token) returns a ws:// URL served here; the emulator
 *   says `hello`, then `socketSend` delivers envelopes (events_api, slash_commands, interactive) and resolves
 *   with the app's ack.
 * - the requests Slack sends to the app: `signSlackRequest` computes the v0 signature
 *   (`v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret), `postToApp` sends it,
 *   and the payload builders make event_callback, slash command and block_actions bodies.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

// ---------------------------------------------------------------------------------------------------------
// Web API emulator
// ---------------------------------------------------------------------------------------------------------

/** One Web API call as the bot made it. */
export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  /** Whether the bearer token matched. */
  authed: boolean;
}

/** A message in the emulated workspace, with its edit history. */
export interface SlackMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: unknown[];
  /** Every text it has had, first to last (chat.update appends). */
  history: string[];
}

/** A file going through the external upload flow. */
export interface SlackUpload {
  file_id: string;
  filename: string;
  /** The length announced to files.getUploadURLExternal. */
  length: number;
  alt_text?: string;
  /** The bytes POSTed to the upload URL (undefined until then). */
  bytes?: Buffer;
  /** Set by files.completeUploadExternal. */
  completed: boolean;
  channel_id?: string;
  thread_ts?: string;
  initial_comment?: string;
  title?: string;
}

export interface SlackEmulatorOptions {
  /** The accepted bot token. Default `xoxb-emulator`. */
  botToken?: string;
  /** Channels the bot is not a member of: posting there gives `not_in_channel`. */
  notInChannel?: string[];
  /** The accepted app-level token (Socket Mode). Default `xapp-emulator`. */
  appToken?: string;
}

/** What the app answered to a Socket Mode envelope. */
export interface SocketAck {
  envelope_id: string;
  payload?: unknown;
}

export interface SlackEmulator {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** What the bot's WebClient takes as `slackApiUrl`: `${url}/api/`. */
  apiUrl: string;
  calls: SlackCall[];
  messages: SlackMessage[];
  uploads: SlackUpload[];
  ephemerals: Array<{ channel: string; user: string; text: string; thread_ts?: string }>;
  /** Bodies POSTed to response URLs, by id. */
  responses: Array<{ id: string; body: unknown }>;
  /** A response_url served by this emulator. */
  responseUrl(id: string): string;
  /** The next `times` calls of `method` answer `{ ok: false, error }`. */
  failNext(method: string, error: string, times?: number): void;
  /** Messages (top-level or replies) of one thread, oldest first. */
  thread(channel: string, ts: string): SlackMessage[];
  /** Socket Mode connections currently open (after `hello`). */
  sockets(): number;
  /** Deliver an envelope over the newest Socket Mode connection; resolves with the app's ack. */
  socketSend(type: 'events_api' | 'slash_commands' | 'interactive', payload: unknown): Promise<SocketAck>;
  /** Poll until `probe` returns something truthy (default 10 s). */
  waitFor<T>(probe: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Form values that hold JSON (blocks, files) come back as objects, like Slack reads them. */
function decodeArgs(pairs: Iterable<[string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of pairs) {
    if (typeof v === 'string' && /^[[{]/.test(v.trim())) {
      try {
        out[k] = JSON.parse(v) as unknown;
        continue;
      } catch {
        /* a text that merely starts with a bracket */
      }
    }
    out[k] = v;
  }
  return out;
}

/** Parse a body the way Slack's API accepts it; files in multipart bodies become Buffers. */
async function parseBody(req: IncomingMessage, raw: Buffer): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/json')) return raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
  if (type.includes('multipart/form-data')) {
    const form = await new Request('http://emulator.local/', { method: 'POST', headers: { 'content-type': type }, body: new Uint8Array(raw) }).formData();
    const parts: Array<[string, FormDataEntryValue]> = [];
    form.forEach((v, k) => parts.push([k, v]));
    const out: Record<string, unknown> = {};
    for (const [k, v] of parts) out[k] = typeof v === 'string' ? v : Buffer.from(await v.arrayBuffer());
    return decodeArgs(Object.entries(out));
  }
  return decodeArgs(new URLSearchParams(raw.toString('utf8')).entries());
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json; charset=utf-8' });
  res.end(text);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

export async function startSlackEmulator(opts: SlackEmulatorOptions = {}): Promise<SlackEmulator> {
  const botToken = opts.botToken ?? 'xoxb-emulator';
  const appToken = opts.appToken ?? 'xapp-emulator';
  const openSockets: WebSocket[] = [];
  const pendingAcks = new Map<string, (ack: SocketAck) => void>();
  const notIn = new Set(opts.notInChannel ?? []);
  const calls: SlackCall[] = [];
  const messages: SlackMessage[] = [];
  const uploads: SlackUpload[] = [];
  const ephemerals: SlackEmulator['ephemerals'] = [];
  const responses: SlackEmulator['responses'] = [];
  const faults = new Map<string, Array<string>>();
  let counter = 0;
  let base = '';
  const nextTs = () => `${Math.floor(Date.now() / 1000)}.${String(++counter).padStart(6, '0')}`;

  const api = (method: string, args: Record<string, unknown>): Record<string, unknown> => {
    const queued = faults.get(method);
    const fault = queued?.shift();
    if (fault) return { ok: false, error: fault };
    switch (method) {
      case 'api.test':
        return { ok: true, args };
      case 'apps.connections.open':
        return { ok: true, url: `${base.replace(/^http/, 'ws')}/socket?ticket=${++counter}` };
      case 'auth.test':
        return { ok: true, url: 'https://emulated.slack.com/', team: 'Emulated', user: 'loraloop', team_id: 'T0EMU', user_id: 'UBOT', bot_id: 'BBOT' };
      case 'chat.postMessage': {
        const channel = str(args.channel);
        if (!channel) return { ok: false, error: 'channel_not_found' };
        if (notIn.has(channel)) return { ok: false, error: 'not_in_channel' };
        const text = str(args.text) ?? '';
        if (!text && !Array.isArray(args.blocks)) return { ok: false, error: 'no_text' };
        const thread_ts = str(args.thread_ts);
        const m: SlackMessage = { channel, ts: nextTs(), text, history: [text], ...(thread_ts ? { thread_ts } : {}), ...(Array.isArray(args.blocks) ? { blocks: args.blocks } : {}) };
        messages.push(m);
        return { ok: true, channel, ts: m.ts, message: { type: 'message', text, ts: m.ts, user: 'UBOT', bot_id: 'BBOT', ...(thread_ts ? { thread_ts } : {}) } };
      }
      case 'chat.update': {
        const m = messages.find((x) => x.channel === str(args.channel) && x.ts === str(args.ts));
        if (!m) return { ok: false, error: 'message_not_found' };
        if (args.text !== undefined) m.text = str(args.text) ?? '';
        if (Array.isArray(args.blocks)) m.blocks = args.blocks;
        m.history.push(m.text);
        return { ok: true, channel: m.channel, ts: m.ts, text: m.text };
      }
      case 'chat.postEphemeral': {
        const channel = str(args.channel);
        const user = str(args.user);
        if (!channel || !user) return { ok: false, error: 'invalid_arguments' };
        if (notIn.has(channel)) return { ok: false, error: 'not_in_channel' };
        const thread_ts = str(args.thread_ts);
        ephemerals.push({ channel, user, text: str(args.text) ?? '', ...(thread_ts ? { thread_ts } : {}) });
        return { ok: true, message_ts: nextTs() };
      }
      case 'chat.delete': {
        const i = messages.findIndex((x) => x.channel === str(args.channel) && x.ts === str(args.ts));
        if (i < 0) return { ok: false, error: 'message_not_found' };
        messages.splice(i, 1);
        return { ok: true, channel: str(args.channel), ts: str(args.ts) };
      }
      case 'files.getUploadURLExternal': {
        const filename = str(args.filename);
        const length = Number(args.length);
        if (!filename || !Number.isInteger(length) || length <= 0) return { ok: false, error: 'invalid_arguments' };
        const file_id = `F${String(++counter).padStart(8, '0')}`;
        const alt = str(args.alt_text);
        uploads.push({ file_id, filename, length, completed: false, ...(alt ? { alt_text: alt } : {}) });
        return { ok: true, upload_url: `${base}/upload/${file_id}`, file_id };
      }
      case 'files.completeUploadExternal': {
        const files = args.files;
        if (!Array.isArray(files) || files.length === 0) return { ok: false, error: 'invalid_arguments' };
        const channel_id = str(args.channel_id);
        if (channel_id && notIn.has(channel_id)) return { ok: false, error: 'not_in_channel' };
        const done: unknown[] = [];
        for (const f of files as Array<{ id?: unknown; title?: unknown }>) {
          const u = uploads.find((x) => x.file_id === str(f.id));
          // Slack refuses to complete a file whose bytes never arrived.
          if (!u || !u.bytes) return { ok: false, error: 'file_not_found' };
          u.completed = true;
          const title = str(f.title);
          const thread_ts = str(args.thread_ts);
          const comment = str(args.initial_comment);
          Object.assign(u, { ...(channel_id ? { channel_id } : {}), ...(thread_ts ? { thread_ts } : {}), ...(comment ? { initial_comment: comment } : {}), ...(title ? { title } : {}) });
          done.push({ id: u.file_id, name: u.filename, title: title ?? u.filename, mimetype: 'image/png', size: u.bytes.length });
        }
        return { ok: true, files: done };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://emulator.local');
      const raw = await readBody(req);
      const upload = /^\/upload\/([A-Z0-9]+)$/.exec(url.pathname);
      if (req.method === 'POST' && upload) {
        const u = uploads.find((x) => x.file_id === upload[1]);
        if (!u) return send(res, 404, 'unknown upload');
        const type = req.headers['content-type'] ?? '';
        if (type.includes('multipart/form-data')) {
          const args = await parseBody(req, raw);
          const file = Object.values(args).find((v): v is Buffer => Buffer.isBuffer(v));
          if (!file) return send(res, 400, 'no file part');
          u.bytes = file;
        } else {
          u.bytes = raw;
        }
        return send(res, 200, `OK - ${u.bytes.length}`);
      }
      const response = /^\/response\/([\w-]+)$/.exec(url.pathname);
      if (req.method === 'POST' && response?.[1]) {
        responses.push({ id: response[1], body: raw.length ? (JSON.parse(raw.toString('utf8')) as unknown) : null });
        return send(res, 200, 'ok');
      }
      const m = /^\/api\/([\w.]+)$/.exec(url.pathname);
      if (!m?.[1] || (req.method !== 'POST' && req.method !== 'GET')) return send(res, 404, 'not found');
      const args = req.method === 'GET' ? decodeArgs(url.searchParams.entries()) : await parseBody(req, raw);
      const auth = req.headers.authorization;
      const token = auth?.startsWith('Bearer ') ? auth.slice(7) : str(args.token);
      const authed = token === (m[1] === 'apps.connections.open' ? appToken : botToken);
      const { token: _t, ...recorded } = args;
      calls.push({ method: m[1], args: recorded, authed });
      if (!token) return send(res, 200, { ok: false, error: 'not_authed' });
      if (!authed) return send(res, 200, { ok: false, error: 'invalid_auth' });
      return send(res, 200, api(m[1], recorded));
    })().catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, { ok: false, error: 'emulator_error', detail: String(e) });
    });
  });
  const wss = new WebSocketServer({ server, path: '/socket' });
  wss.on('connection', (ws) => {
    openSockets.push(ws);
    ws.on('close', () => openSockets.splice(openSockets.indexOf(ws), 1));
    ws.on('message', (data: Buffer) => {
      const ack = JSON.parse(data.toString('utf8')) as SocketAck;
      pendingAcks.get(ack.envelope_id)?.(ack);
      pendingAcks.delete(ack.envelope_id);
    });
    ws.send(JSON.stringify({ type: 'hello', num_connections: openSockets.length, connection_info: { app_id: 'A0EMU' }, debug_info: { host: 'emulator' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let envelopes = 0;

  return {
    url: base,
    apiUrl: `${base}/api/`,
    calls,
    messages,
    uploads,
    ephemerals,
    responses,
    responseUrl: (id) => `${base}/response/${id}`,
    failNext(method, error, times = 1) {
      const q = faults.get(method) ?? [];
      for (let i = 0; i < times; i++) q.push(error);
      faults.set(method, q);
    },
    sockets: () => openSockets.length,
    socketSend(type, payload) {
      const ws = openSockets[openSockets.length - 1];
      if (!ws) return Promise.reject(new Error('slack emulator: no Socket Mode connection'));
      const envelope_id = `env-${++envelopes}`;
      return new Promise<SocketAck>((resolve) => {
        pendingAcks.set(envelope_id, resolve);
        ws.send(JSON.stringify({ envelope_id, type, payload, accepts_response_payload: type !== 'events_api', retry_attempt: 0, retry_reason: '' }));
      });
    },
    thread: (channel, ts) => messages.filter((x) => x.channel === channel && (x.ts === ts || x.thread_ts === ts)),
    async waitFor<T>(probe: () => T | undefined | null | false, timeoutMs = 10_000): Promise<T> {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const v = probe();
        if (v) return v;
        if (Date.now() > end) throw new Error('slack emulator: timed out waiting for a condition');
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of openSockets) ws.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Requests from Slack to the app
// ---------------------------------------------------------------------------------------------------------

/** The `X-Slack-Signature` value for a body sent at `timestamp` (seconds). */
export function signSlackRequest(signingSecret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface PostToAppOptions {
  /** Signs the request; omitted to send no signature at all. */
  signingSecret?: string;
  /** Seconds since the epoch. Default now. */
  timestamp?: number;
  /** Send this signature instead of the computed one (a forgery). */
  signature?: string;
  contentType?: 'application/json' | 'application/x-www-form-urlencoded';
}

/** POST a body to the app as Slack would. Returns the status and the response text. */
export async function postToApp(url: string, body: string, o: PostToAppOptions = {}): Promise<{ status: number; text: string; ms: number }> {
  const timestamp = o.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = { 'content-type': o.contentType ?? 'application/json', 'x-slack-request-timestamp': String(timestamp) };
  const sig = o.signature ?? (o.signingSecret ? signSlackRequest(o.signingSecret, timestamp, body) : undefined);
  if (sig) headers['x-slack-signature'] = sig;
  const t0 = Date.now();
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, text, ms: Date.now() - t0 };
}

let eventCounter = 0;

/** An `event_callback` envelope around `event`, JSON-encoded. */
export function eventBody(event: Record<string, unknown>, eventId = `Ev${++eventCounter}${Date.now()}`): string {
  return JSON.stringify({
    token: 'legacy-verification-token',
    team_id: 'T0EMU',
    api_app_id: 'A0EMU',
    event,
    type: 'event_callback',
    event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: 'T0EMU', user_id: 'UBOT', is_bot: true }],
  });
}

/** `@loraloop <text>` in a channel. */
export function mentionEvent(text: string, o: { channel?: string; ts?: string; thread_ts?: string; user?: string } = {}): Record<string, unknown> {
  return {
    type: 'app_mention',
    user: o.user ?? 'UHUMAN',
    text: `<@UBOT> ${text}`,
    ts: o.ts ?? `${Math.floor(Date.now() / 1000)}.000100`,
    channel: o.channel ?? 'CNEWS',
    event_ts: o.ts ?? `${Math.floor(Date.now() / 1000)}.000100`,
    ...(o.thread_ts ? { thread_ts: o.thread_ts } : {}),
  };
}

/** A direct message to the bot. */
export function dmEvent(text: string, o: { channel?: string; ts?: string; user?: string } = {}): Record<string, unknown> {
  const ts = o.ts ?? `${Math.floor(Date.now() / 1000)}.000200`;
  return { type: 'message', channel_type: 'im', user: o.user ?? 'UHUMAN', text, ts, channel: o.channel ?? 'DHUMAN', event_ts: ts };
}

/** The form body of a slash command. */
export function slashCommandBody(text: string, o: { command?: string; channel?: string; user?: string; responseUrl?: string } = {}): string {
  return new URLSearchParams({
    token: 'legacy-verification-token',
    team_id: 'T0EMU',
    team_domain: 'emulated',
    channel_id: o.channel ?? 'CNEWS',
    channel_name: 'news',
    user_id: o.user ?? 'UHUMAN',
    user_name: 'human',
    command: o.command ?? '/cover',
    text,
    api_app_id: 'A0EMU',
    response_url: o.responseUrl ?? 'http://127.0.0.1:9/response/unused',
    trigger_id: 'trigger-1',
  }).toString();
}

/** The form body of a button click (`payload=<block_actions JSON>`) on a message. */
export function blockActionBody(
  action: { action_id: string; value: string; block_id?: string },
  o: { channel?: string; message_ts: string; thread_ts?: string; user?: string; responseUrl?: string },
): string {
  const payload = {
    type: 'block_actions',
    user: { id: o.user ?? 'UHUMAN', username: 'human', name: 'human', team_id: 'T0EMU' },
    api_app_id: 'A0EMU',
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: o.message_ts, channel_id: o.channel ?? 'CNEWS', is_ephemeral: false, ...(o.thread_ts ? { thread_ts: o.thread_ts } : {}) },
    trigger_id: 'trigger-2',
    team: { id: 'T0EMU', domain: 'emulated' },
    channel: { id: o.channel ?? 'CNEWS', name: 'news' },
    message: { type: 'message', user: 'UBOT', bot_id: 'BBOT', ts: o.message_ts, text: 'cover', ...(o.thread_ts ? { thread_ts: o.thread_ts } : {}) },
    response_url: o.responseUrl ?? 'http://127.0.0.1:9/response/unused',
    actions: [{ type: 'button', action_id: action.action_id, block_id: action.block_id ?? 'cover_actions', value: action.value, text: { type: 'plain_text', text: 'x' }, action_ts: `${Date.now() / 1000}` }],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
