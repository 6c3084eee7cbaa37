/**
 * A local OpenAI-compatible chat completions endpoint: a node:http server on 127.0.0.1 (port 0) that the real
 * `openai` SDK talks to (`baseURL: emulator.baseUrl`, which ends in `/v1`, as OPENAI_BASE_URL does).
 *
 * It replays SCRIPTED turns: each POST /v1/chat/completions takes the next turn from the script (or asks a
 * responder function), answering with a text message, tool calls, or an HTTP error. Requests are parsed and
 * recorded (messages, image_url content parts decoded from data URLs, tools), so tests can assert what the
 * client actually sent. Streaming is supported for text turns (`stream: true` gets SSE chunks).
 *
 * Also: GET /v1/models lists the configured models; a wrong bearer key gets 401 like the real API.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One tool call the model makes. `arguments` may be an object (serialised for you) or a raw JSON string. */
export interface ScriptedToolCall {
  id?: string;
  name: string;
  arguments: Record<string, unknown> | string;
}

/** One answer of the emulated model. */
export type ScriptedTurn =
  | { content: string; finish_reason?: 'stop' | 'length' }
  | { tool_calls: ScriptedToolCall[]; content?: string | null }
  | { status: number; error?: { message: string; type?: string; code?: string | null }; headers?: Record<string, string> };

/** An image the client sent as an `image_url` content part. */
export interface RecordedImage {
  /** The URL as sent (data: URLs included). */
  url: string;
  /** For data URLs: the MIME type and decoded bytes. */
  mime?: string;
  bytes?: Buffer;
  detail?: string;
}

/** A chat completion request as received. */
export interface RecordedRequest {
  model: string;
  /** The messages as sent (JSON). */
  messages: Array<Record<string, unknown>>;
  /** All text of all messages, joined by newlines (handy for `toContain`). */
  text: string;
  /** Every image_url part, in order. */
  images: RecordedImage[];
  tools: Array<Record<string, unknown>>;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

/** Options for {@link startOpenAIEmulator}. */
export interface OpenAIEmulatorOptions {
  /** Turns answered in order. When they run out, `respond` is asked; without it the server answers 500. */
  script?: ScriptedTurn[];
  /** Computes a turn from the request (used after the script is exhausted). */
  respond?: (req: RecordedRequest, index: number) => ScriptedTurn | Promise<ScriptedTurn>;
  /** Bearer key to require (default: any key accepted). */
  apiKey?: string;
  /** Model ids listed by GET /v1/models. */
  models?: string[];
}

export interface OpenAIEmulator {
  /** Base URL including `/v1`, for the SDK's `baseURL` and OPENAI_BASE_URL. */
  baseUrl: string;
  /** Every chat completion request received, in order. */
  requests: RecordedRequest[];
  /** Append turns to the script. */
  push(...turns: ScriptedTurn[]): void;
  close(): Promise<void>;
}

function parseDataUrl(url: string): { mime: string; bytes: Buffer } | undefined {
  const m = /^data:([^;,]+)(;base64)?,(.*)$/s.exec(url);
  if (!m) return undefined;
  const mime = m[1] as string;
  const payload = m[3] as string;
  return { mime, bytes: m[2] ? Buffer.from(payload, 'base64') : Buffer.from(decodeURIComponent(payload)) };
}

function record(body: Record<string, unknown>, headers: IncomingMessage['headers']): RecordedRequest {
  const messages = Array.isArray(body.messages) ? (body.messages as Array<Record<string, unknown>>) : [];
  const texts: string[] = [];
  const images: RecordedImage[] = [];
  for (const m of messages) {
    const c = m.content;
    if (typeof c === 'string') texts.push(c);
    else if (Array.isArray(c)) {
      for (const part of c as Array<Record<string, unknown>>) {
        if (part.type === 'text' && typeof part.text === 'string') texts.push(part.text);
        if (part.type === 'image_url') {
          const iu = part.image_url as { url?: string; detail?: string } | undefined;
          const url = iu?.url ?? '';
          const d = parseDataUrl(url);
          images.push({ url, ...(d ? { mime: d.mime, bytes: d.bytes } : {}), ...(iu?.detail ? { detail: iu.detail } : {}) });
        }
      }
    }
  }
  return {
    model: typeof body.model === 'string' ? body.model : '',
    messages,
    text: texts.join('\n'),
    images,
    tools: Array.isArray(body.tools) ? (body.tools as Array<Record<string, unknown>>) : [],
    body,
    headers,
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

let counter = 0;

function completion(model: string, turn: Exclude<ScriptedTurn, { status: number }>): Record<string, unknown> {
  const id = `chatcmpl-emu${++counter}`;
  const created = Math.floor(Date.now() / 1000);
  if ('tool_calls' in turn) {
    return {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          message: {
            role: 'assistant',
            content: turn.content ?? null,
            tool_calls: turn.tool_calls.map((t, i) => ({
              id: t.id ?? `call_${counter}_${i}`,
              type: 'function',
              function: { name: t.name, arguments: typeof t.arguments === 'string' ? t.arguments : JSON.stringify(t.arguments) },
            })),
          },
        },
      ],
      usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
    };
  }
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, finish_reason: turn.finish_reason ?? 'stop', message: { role: 'assistant', content: turn.content } }],
    usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
  };
}

function stream(res: ServerResponse, model: string, turn: Exclude<ScriptedTurn, { status: number }>): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const full = completion(model, turn);
  const choice = (full.choices as Array<{ message: Record<string, unknown>; finish_reason: string }>)[0]!;
  const base = { id: full.id, object: 'chat.completion.chunk', created: full.created, model };
  const chunk = (delta: Record<string, unknown>, finish: string | null): void => {
    res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
  };
  chunk({ role: 'assistant', content: '' }, null);
  if (typeof choice.message.content === 'string') {
    for (const piece of choice.message.content.match(/.{1,16}/gs) ?? []) chunk({ content: piece }, null);
  }
  if (Array.isArray(choice.message.tool_calls)) {
    (choice.message.tool_calls as Array<Record<string, unknown>>).forEach((tc, index) => chunk({ tool_calls: [{ index, ...tc }] }, null));
  }
  chunk({}, choice.finish_reason);
  res.write('data: [DONE]\n\n');
  res.end();
}

/** Start the emulator on 127.0.0.1, a free port. */
export async function startOpenAIEmulator(opts: OpenAIEmulatorOptions = {}): Promise<OpenAIEmulator> {
  const script = [...(opts.script ?? [])];
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const auth = req.headers.authorization;
        if (opts.apiKey !== undefined && auth !== `Bearer ${opts.apiKey}`) {
          send(res, 401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } });
          return;
        }
        const url = (req.url ?? '').split('?')[0] ?? '';
        if (req.method === 'GET' && url === '/v1/models') {
          send(res, 200, { object: 'list', data: (opts.models ?? ['emu-vision']).map((id) => ({ id, object: 'model', created: 0, owned_by: 'emulator' })) });
          return;
        }
        if (req.method !== 'POST' || url !== '/v1/chat/completions') {
          send(res, 404, { error: { message: `No route ${req.method} ${url}`, type: 'invalid_request_error' } });
          return;
        }
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        } catch {
          send(res, 400, { error: { message: 'Body is not JSON.', type: 'invalid_request_error' } });
          return;
        }
        const rec = record(body, req.headers);
        requests.push(rec);
        const turn = script.shift() ?? (opts.respond ? await opts.respond(rec, requests.length - 1) : undefined);
        if (!turn) {
          send(res, 500, { error: { message: 'The emulator script has no more turns.', type: 'server_error' } });
          return;
        }
        if ('status' in turn) {
          send(res, turn.status, { error: turn.error ?? { message: `status ${turn.status}`, type: 'server_error' } }, turn.headers ?? {});
          return;
        }
        if (body.stream === true) stream(res, rec.model, turn);
        else send(res, 200, completion(rec.model, turn));
      })().catch((e: unknown) => {
        if (!res.headersSent) send(res, 500, { error: { message: String(e), type: 'server_error' } });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    push: (...turns) => void script.push(...turns),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
