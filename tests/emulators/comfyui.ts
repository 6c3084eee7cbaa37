/**
 * A local ComfyUI server for tests and benchmarks, written from CONTRACTS.md §1 (ComfyUI 0.3.64).
 *
 * It validates workflows like `execution.py` `validate_prompt` (same error types, messages and details
 * format), runs one prompt at a time (`steps * stepMs` per KSampler), speaks the WebSocket protocol
 * (events only to the prompt's client_id socket; progress and interrupts broadcast when there is none),
 * keeps history, serves real PNGs from `/view` (a gradient whose colours depend on seed, checkpoint, LoRAs
 * and prompt, so tests can tell outputs apart), takes uploads, and can misbehave on demand (`faults`).
 *
 * Every route also answers under `/api`. Several emulators can run side by side (each binds 127.0.0.1:0).
 * Node classes live in comfyui/nodes.ts, validation in comfyui/validate.ts, exact big-integer JSON in
 * comfyui/json.ts; tests/emulators/comfyui-real.test.ts holds all of it to the real server's recorded answers.
 */
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createHash, randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { WebSocketServer, type WebSocket } from 'ws';
import { parseJsonExact, stringifyJsonExact } from './comfyui/json.js';
import { nodeSpecs, objectInfoFor } from './comfyui/nodes.js';
import { isObj, validatePrompt, type EmulatedNode, type EmulatedWorkflow } from './comfyui/validate.js';

export type { EmulatedNode, EmulatedWorkflow } from './comfyui/validate.js';

/** A prompt the emulator accepted, exactly as received. */
export interface ReceivedPrompt {
  promptId: string;
  number: number;
  clientId: string | undefined;
  prompt: EmulatedWorkflow;
  extraData: Record<string, unknown>;
  /** Output node ids that passed validation. */
  outputs: string[];
}

/** HistoryEntry (§1.3) as JSON. */
export interface EmulatedHistoryEntry {
  prompt: [number, string, EmulatedWorkflow, Record<string, unknown>, string[]];
  outputs: Record<string, { images: ImageOut[] }>;
  status: { status_str: 'success' | 'error'; completed: boolean; messages: Array<[string, Record<string, unknown>]> };
  meta: Record<string, { node_id: string; display_node: string; parent_node: null; real_node_id: string }>;
}

interface ImageOut {
  filename: string;
  subfolder: string;
  type: 'output' | 'temp';
}

export interface ComfyEmulatorOptions {
  checkpoints?: string[];
  loras?: string[];
  /** models/diffusion_models (UNETLoader). */
  unets?: string[];
  /** models/text_encoders (DualCLIPLoader). */
  textEncoders?: string[];
  /** models/vae (VAELoader). */
  vaes?: string[];
  /** Milliseconds per sampler step (default 5). Changeable later through `faults.stepMs`. */
  stepMs?: number;
  /** Sampler steps to emulate whatever KSampler.steps says (default: KSampler.steps). */
  steps?: number;
  /** How combo inputs look in /object_info: V1 `[[...], {}]` (default) or V3 `["COMBO", {options}]`. */
  comboShape?: 'v1' | 'v3';
  /** Shown in /system_stats (device name) so a pool can tell servers apart. */
  name?: string;
  /** '2024' answers a missing prompt with `{"error": "no prompt", "node_errors": []}`. */
  errorShape?: 'current' | '2024';
  /** Reuse node outputs of the previous prompt like ComfyUI's cache (default true). */
  cache?: boolean;
}

/** What the emulator saw and holds; tests read it, and may edit the model lists. */
export interface ComfyEmulatorState {
  readonly name: string;
  checkpoints: string[];
  loras: string[];
  unets: string[];
  textEncoders: string[];
  vaes: string[];
  /** Every accepted `POST /prompt`. */
  received: ReceivedPrompt[];
  /** Every refused `POST /prompt` (status and JSON body sent back). */
  rejected: Array<{ status: number; body: unknown }>;
  /** Every `POST /interrupt`: the prompt id asked for, and whether something was interrupted. */
  interrupts: Array<{ promptId: string | undefined; hit: boolean }>;
  /** Every HTTP request, path as sent (with or without `/api`). */
  requests: Array<{ method: string; path: string }>;
  history: Map<string, EmulatedHistoryEntry>;
  /** Virtual disk: key `${type}/${subfolder}/${filename}` (subfolder may be empty). */
  files: Map<string, Buffer>;
  /** WebSocket connections accepted so far. */
  wsConnections: number;
  running(): string | undefined;
  pending(): string[];
}

/** Misbehaviour on demand. Fields can be changed at any time. */
export interface ComfyEmulatorFaults {
  stepMs: number;
  /** Delay before every HTTP answer. */
  latencyMs: number;
  errorShape: 'current' | '2024';
  /** Make a node raise during execution (matched by class or id). `once` clears the fault after it fires. */
  executionError?: { classType?: string; nodeId?: string; exceptionType?: string; message: string; once?: boolean };
  /** Crash (like `goDown`) when the running prompt reaches this sampler step. Fires once. */
  downAtStep?: number;
  /** Drop every WebSocket when the running prompt reaches this step, and refuse new ones. Fires once. */
  dropWsAtStep?: number;
  /** Refuse WebSocket upgrades (HTTP keeps working). */
  refuseWebSockets: boolean;
  /** Crash now: close every socket and stop listening (connections are refused); queue is lost. */
  goDown(): Promise<void>;
  /** Restart on the same port with empty queue and history (files stay, like a disk). */
  comeBack(): Promise<void>;
  /** Terminate every WebSocket now. */
  dropWebSockets(): void;
}

export interface ComfyEmulator {
  url: string;
  port: number;
  state: ComfyEmulatorState;
  faults: ComfyEmulatorFaults;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------
// Images

/** Deterministic gradient PNG: colours from a hash of everything that would change a real sample. */
async function renderPng(width: number, height: number, key: string): Promise<Buffer> {
  const h = createHash('sha256').update(key).digest();
  const a = [h[0] ?? 0, h[1] ?? 0, h[2] ?? 0];
  const b = [h[3] ?? 255, h[4] ?? 255, h[5] ?? 255];
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    const shade = 0.6 + (0.4 * y) / Math.max(1, height - 1);
    for (let x = 0; x < width; x++) {
      const t = x / Math.max(1, width - 1);
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) raw[o + c] = Math.round(((a[c] ?? 0) * (1 - t) + (b[c] ?? 0) * t) * shade);
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
}

/** Everything upstream of a node, through links. */
function upstream(wf: EmulatedWorkflow, id: string, seen = new Set<string>()): Set<string> {
  if (seen.has(id)) return seen;
  seen.add(id);
  for (const v of Object.values(wf[id]?.inputs ?? {})) {
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && wf[v[0]]) upstream(wf, v[0], seen);
  }
  return seen;
}

const fileKey = (type: string, subfolder: string, filename: string): string => `${type}/${subfolder}/${filename}`;

// ---------------------------------------------------------------------------------------------------------

interface QueueItem {
  number: number;
  promptId: string;
  prompt: EmulatedWorkflow;
  extraData: Record<string, unknown>;
  outputs: string[];
  clientId: string | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => (ms > 0 ? setTimeout(r, ms) : setImmediate(r)));

/** Start an emulator on 127.0.0.1 (random port). */
export async function startComfyEmulator(opts: ComfyEmulatorOptions = {}): Promise<ComfyEmulator> {
  const comboShape = opts.comboShape ?? 'v1';
  const useCache = opts.cache ?? true;
  const pendingQ: QueueItem[] = [];
  let running: QueueItem | undefined;
  let runningNode: string | undefined;
  let interruptRequested = false;
  let numberCounter = 0;
  let epoch = 0;
  let pumping = false;
  let down = false;
  let closed = false;
  let cache = new Map<string, { ui?: { images: ImageOut[] } }>();
  const sockets = new Map<string, WebSocket>();

  const state: ComfyEmulatorState = {
    name: opts.name ?? 'comfy-emulator',
    checkpoints: opts.checkpoints ?? ['sd_xl_base_1.0.safetensors', 'v1-5-pruned-emaonly.safetensors', 'flux1-dev-fp8.safetensors'],
    loras: opts.loras ?? ['brand/solana_v2.safetensors', 'brand/bitcoin.safetensors', 'style_flat.safetensors'],
    unets: opts.unets ?? ['flux1-dev.safetensors'],
    textEncoders: opts.textEncoders ?? ['clip_l.safetensors', 't5xxl_fp8_e4m3fn.safetensors'],
    vaes: opts.vaes ?? ['ae.safetensors', 'sdxl_vae.safetensors'],
    received: [],
    rejected: [],
    interrupts: [],
    requests: [],
    history: new Map(),
    files: new Map(),
    wsConnections: 0,
    running: () => running?.promptId,
    pending: () => [...pendingQ].sort((a, b) => a.number - b.number).map((q) => q.promptId),
  };
  const specs = nodeSpecs(state);

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      // aiohttp's answer to an exception in a handler (e.g. a body that is not JSON): it never shows the exception.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('500 Internal Server Error\n\nServer got itself in trouble');
    });
  });
  const wss = new WebSocketServer({ noServer: true });

  const faults: ComfyEmulatorFaults = {
    stepMs: opts.stepMs ?? 5,
    latencyMs: 0,
    errorShape: opts.errorShape ?? 'current',
    refuseWebSockets: false,
    goDown,
    comeBack,
    dropWebSockets,
  };

  // --- WebSocket ---
  const queueRemaining = (): number => pendingQ.length + (running ? 1 : 0);
  const statusData = (): Record<string, unknown> => ({ status: { exec_info: { queue_remaining: queueRemaining() } } });
  function sendJson(ws: WebSocket, type: string, data: Record<string, unknown>): void {
    if (ws.readyState === ws.OPEN) ws.send(stringifyJsonExact({ type, data }));
  }
  function broadcast(type: string, data: Record<string, unknown>): void {
    for (const ws of sockets.values()) sendJson(ws, type, data);
  }
  function sendTo(clientId: string, type: string, data: Record<string, unknown>): void {
    const ws = sockets.get(clientId);
    if (ws) sendJson(ws, type, data);
  }
  function dropWebSockets(): void {
    for (const ws of wss.clients) ws.terminate();
    sockets.clear();
  }

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const p = u.pathname.replace(/^\/api(?=\/)/, '');
    if (p !== '/ws' || down || faults.refuseWebSockets) {
      socket.end(`HTTP/1.1 ${p !== '/ws' ? '404 Not Found' : '503 Service Unavailable'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const sid = u.searchParams.get('clientId') || randomUUID().replace(/-/g, '');
      state.wsConnections += 1;
      sockets.set(sid, ws); // a reconnect with the same id replaces the old socket
      let first = true;
      ws.on('message', (data, isBinary) => {
        if (!first || isBinary) return;
        first = false;
        try {
          const msg = JSON.parse(data.toString()) as { type?: unknown };
          if (msg.type === 'feature_flags') sendJson(ws, 'feature_flags', { supports_preview_metadata: true, max_upload_size: 100 * 1024 * 1024 });
        } catch {
          // not JSON: the real server ignores it too
        }
      });
      ws.on('close', () => {
        if (sockets.get(sid) === ws) sockets.delete(sid);
      });
      sendJson(ws, 'status', { ...statusData(), sid });
      if (running && running.clientId === sid && runningNode !== undefined) {
        sendJson(ws, 'executing', { node: runningNode, display_node: runningNode, prompt_id: running.promptId });
      }
    });
  });

  // --- execution ---
  function signatures(wf: EmulatedWorkflow): Map<string, string> {
    const sigs = new Map<string, string>();
    const sig = (id: string, stack: Set<string>): string => {
      const known = sigs.get(id);
      if (known) return known;
      const node = wf[id];
      if (!node || stack.has(id)) return `missing:${id}`;
      stack.add(id);
      const parts = Object.entries(node.inputs)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' ? `${k}=>${sig(v[0], stack)}#${String(v[1])}` : `${k}=${stringifyJsonExact(v)}`));
      const s = createHash('sha1').update(`${node.class_type}|${parts.join('|')}`).digest('hex');
      sigs.set(id, s);
      return s;
    };
    for (const id of Object.keys(wf)) sig(id, new Set());
    return sigs;
  }

  function executionOrder(wf: EmulatedWorkflow, outputs: string[]): string[] {
    const order: string[] = [];
    const seen = new Set<string>();
    const visit = (id: string): void => {
      if (seen.has(id)) return;
      seen.add(id);
      for (const v of Object.values(wf[id]?.inputs ?? {})) {
        if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && wf[v[0]]) visit(v[0]);
      }
      order.push(id);
    };
    for (const o of [...outputs].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))) visit(o);
    return order;
  }

  const faultHits = (id: string, node: EmulatedNode): boolean => {
    const f = faults.executionError;
    return !!f && (f.nodeId === id || (f.nodeId === undefined && f.classType === node.class_type));
  };

  async function saveImages(item: QueueItem, id: string, temp: boolean): Promise<ImageOut[]> {
    const wf = item.prompt;
    const node = wf[id];
    const nodes = [...upstream(wf, id)].map((n) => wf[n]).filter((n): n is EmulatedNode => n !== undefined);
    const latent = nodes.find((n) => n.class_type === 'EmptyLatentImage')?.inputs ?? {};
    const width = Math.max(16, Math.floor(Number(latent.width ?? 512) / 8) * 8);
    const height = Math.max(16, Math.floor(Number(latent.height ?? 512) / 8) * 8);
    const batch = Math.max(1, Number(latent.batch_size ?? 1));
    const sampler = nodes.find((n) => n.class_type === 'KSampler')?.inputs ?? {};
    const models = nodes.filter((n) => ['CheckpointLoaderSimple', 'UNETLoader'].includes(n.class_type)).map((n) => n.inputs.ckpt_name ?? n.inputs.unet_name);
    const loras = nodes.filter((n) => n.class_type.startsWith('LoraLoader')).map((n) => [n.inputs.lora_name, n.inputs.strength_model]);
    const texts = nodes.filter((n) => n.class_type === 'CLIPTextEncode').map((n) => n.inputs.text);
    const rawPrefix = temp ? `ComfyUI_temp_${randomUUID().slice(0, 5)}` : String(node?.inputs.filename_prefix ?? 'ComfyUI');
    const subfolder = path.posix.dirname(rawPrefix) === '.' ? '' : path.posix.dirname(rawPrefix);
    const prefix = path.posix.basename(rawPrefix);
    const type = temp ? 'temp' : 'output';
    const dir = `${type}/${subfolder}/`;
    let counter = 0;
    const re = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_(\\d{5})_\\.png$`);
    for (const k of state.files.keys()) {
      const m = k.startsWith(dir) ? re.exec(k.slice(dir.length)) : null;
      if (m?.[1]) counter = Math.max(counter, Number(m[1]));
    }
    const out: ImageOut[] = [];
    for (let i = 0; i < batch; i++) {
      counter += 1;
      const filename = `${prefix}_${String(counter).padStart(5, '0')}_.png`;
      const key = stringifyJsonExact({ seed: sampler.seed, models, loras, texts, i });
      state.files.set(fileKey(type, subfolder, filename), await renderPng(width, height, key));
      out.push({ filename, subfolder, type });
    }
    return out;
  }

  let previewPng: Buffer | undefined;
  async function sendPreview(item: QueueItem): Promise<void> {
    previewPng ??= await renderPng(16, 16, 'preview');
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 2]), previewPng]);
    const targets = item.clientId !== undefined ? [sockets.get(item.clientId)] : [...sockets.values()];
    for (const ws of targets) if (ws && ws.readyState === ws.OPEN) ws.send(frame);
  }

  async function execute(item: QueueItem, myEpoch: number): Promise<void> {
    const pid = item.promptId;
    const cid = item.clientId;
    const messages: Array<[string, Record<string, unknown>]> = [];
    const alive = (): boolean => epoch === myEpoch;
    /** Targeted events are dropped without a client id; "broadcast" ones then go to every socket. */
    const send = (type: string, data: Record<string, unknown>, broadcastWithoutClient = false): void => {
      if (cid !== undefined) sendTo(cid, type, data);
      else if (broadcastWithoutClient) broadcast(type, data);
    };
    const record = (type: string, data: Record<string, unknown>, broadcastWithoutClient = false): void => {
      messages.push([type, data]);
      send(type, data, broadcastWithoutClient);
    };
    const outputs: Record<string, { images: ImageOut[] }> = {};
    const finish = (ok: boolean): void => {
      const meta: EmulatedHistoryEntry['meta'] = {};
      for (const id of Object.keys(outputs)) meta[id] = { node_id: id, display_node: id, parent_node: null, real_node_id: id };
      state.history.set(pid, {
        prompt: [item.number, pid, item.prompt, item.extraData, item.outputs],
        outputs,
        status: { status_str: ok ? 'success' : 'error', completed: ok, messages },
        meta,
      });
      runningNode = undefined;
      // As the real server: the queue is updated (status to everyone) before `executing` node null goes out.
      if (running === item) running = undefined;
      broadcast('status', statusData());
      send('executing', { node: null, prompt_id: pid });
    };

    interruptRequested = false;
    record('execution_start', { prompt_id: pid, timestamp: Date.now() });
    const wf = item.prompt;
    const sigs = signatures(wf);
    const order = executionOrder(wf, item.outputs);
    const cachedIds = useCache ? order.filter((id) => cache.has(sigs.get(id) ?? '') && !faultHits(id, wf[id] as EmulatedNode)) : [];
    record('execution_cached', { nodes: cachedIds, prompt_id: pid, timestamp: Date.now() });
    const nextCache = new Map<string, { ui?: { images: ImageOut[] } }>();
    const executed: string[] = [];

    const interrupted = (id: string): void => {
      record('execution_interrupted', { prompt_id: pid, node_id: id, node_type: wf[id]?.class_type, executed, timestamp: Date.now() }, true);
      finish(false);
    };

    for (const id of order) {
      const node = wf[id] as EmulatedNode;
      const sig = sigs.get(id) ?? id;
      if (cachedIds.includes(id)) {
        const hit = cache.get(sig);
        nextCache.set(sig, hit ?? {});
        if (hit?.ui) {
          outputs[id] = hit.ui;
          send('executed', { node: id, display_node: id, output: hit.ui, prompt_id: pid });
        }
        continue;
      }
      if (interruptRequested) return interrupted(id);
      runningNode = id;
      send('executing', { node: id, display_node: id, prompt_id: pid });
      const f = faults.executionError;
      if (f && faultHits(id, node)) {
        if (f.once) faults.executionError = undefined;
        record('execution_error', {
          prompt_id: pid,
          node_id: id,
          node_type: node.class_type,
          executed,
          exception_message: f.message,
          exception_type: f.exceptionType ?? 'RuntimeError',
          traceback: ['  File "/ComfyUI/execution.py", line 496, in execute\n    output_data, output_ui, has_subgraph, has_pending_tasks = await get_output_data(...)\n'],
          current_inputs: Object.fromEntries(Object.entries(node.inputs).filter(([, v]) => !Array.isArray(v)).map(([k, v]) => [k, [String(v)]])),
          current_outputs: executed,
          timestamp: Date.now(),
        });
        cache = nextCache;
        return finish(false);
      }
      if (node.class_type === 'KSampler') {
        const max = opts.steps ?? Math.max(1, Math.trunc(Number(node.inputs.steps ?? 20)));
        for (let step = 1; step <= max; step++) {
          await sleep(faults.stepMs);
          if (!alive()) return;
          if (interruptRequested) return interrupted(id);
          if (faults.downAtStep !== undefined && step >= faults.downAtStep) {
            faults.downAtStep = undefined;
            void goDown();
            return;
          }
          if (faults.dropWsAtStep !== undefined && step >= faults.dropWsAtStep) {
            faults.dropWsAtStep = undefined;
            faults.refuseWebSockets = true;
            dropWebSockets();
          }
          send('progress', { value: step, max, prompt_id: pid, node: id }, true);
          send('progress_state', {
            prompt_id: pid,
            nodes: { [id]: { value: step, max, state: step === max ? 'finished' : 'running', node_id: id, prompt_id: pid, display_node_id: id, parent_node_id: null, real_node_id: id } },
          }, true);
          if (step === max) await sendPreview(item);
        }
      }
      let ui: { images: ImageOut[] } | undefined;
      if (node.class_type === 'SaveImage' || node.class_type === 'PreviewImage') {
        ui = { images: await saveImages(item, id, node.class_type === 'PreviewImage') };
        if (!alive()) return;
        outputs[id] = ui;
        send('executed', { node: id, display_node: id, output: ui, prompt_id: pid });
      }
      executed.push(id);
      nextCache.set(sig, ui ? { ui } : {});
    }
    cache = nextCache;
    record('execution_success', { prompt_id: pid, timestamp: Date.now() });
    finish(true);
  }

  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      while (!down && pendingQ.length > 0) {
        pendingQ.sort((a, b) => a.number - b.number);
        const item = pendingQ.shift() as QueueItem;
        running = item;
        broadcast('status', statusData());
        await execute(item, epoch);
        if (running === item) running = undefined;
      }
    } finally {
      pumping = false;
    }
  }

  // --- HTTP ---
  function json(res: http.ServerResponse, status: number, body: unknown): void {
    const text = stringifyJsonExact(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
  function empty(res: http.ServerResponse, status: number): void {
    res.writeHead(status, { 'content-length': 0 });
    res.end();
  }
  async function readBody(req: http.IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > 100 * 1024 * 1024) throw new Error('request body too large');
      chunks.push(c);
    }
    return Buffer.concat(chunks);
  }
  async function readJson(req: http.IncomingMessage): Promise<unknown> {
    const b = await readBody(req);
    return b.length === 0 ? undefined : parseJsonExact(b.toString('utf8'));
  }

  function originRejected(req: http.IncomingMessage): boolean {
    const origin = req.headers.origin;
    const host = req.headers.host;
    if (!origin || !host) return false;
    const hostname = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    if (!['127.0.0.1', 'localhost', '::1'].includes(hostname)) return false;
    try {
      return new URL(origin).host !== host;
    } catch {
      return true;
    }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    state.requests.push({ method, path: u.pathname });
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    if (originRejected(req)) return empty(res, 403);
    const p = u.pathname.replace(/^\/api(?=\/)/, '');
    const seg = p.split('/').filter(Boolean).map(decodeURIComponent);

    if (method === 'GET') {
      if (p === '/object_info') {
        return json(res, 200, Object.fromEntries(Object.entries(specs).map(([k, s]) => [k, objectInfoFor(k, s, comboShape)])));
      }
      if (seg[0] === 'object_info' && seg.length === 2) {
        const cls = seg[1] as string;
        const spec = specs[cls];
        return json(res, 200, spec ? { [cls]: objectInfoFor(cls, spec, comboShape) } : {});
      }
      if (p === '/models') return json(res, 200, ['checkpoints', 'loras', 'vae', 'text_encoders', 'diffusion_models', 'clip', 'unet', 'embeddings']);
      if (seg[0] === 'models' && seg.length === 2) {
        const lists: Record<string, string[]> = {
          checkpoints: state.checkpoints, loras: state.loras, vae: state.vaes, text_encoders: state.textEncoders, clip: state.textEncoders,
          diffusion_models: state.unets, unet: state.unets, embeddings: [],
        };
        const list = lists[seg[1] as string];
        return list ? json(res, 200, list) : empty(res, 404);
      }
      if (p === '/prompt') return json(res, 200, { exec_info: { queue_remaining: queueRemaining() } });
      if (p === '/queue') {
        const row = (q: QueueItem): unknown[] => [q.number, q.promptId, q.prompt, q.extraData, q.outputs];
        const pend = [...pendingQ].sort((a, b) => a.number - b.number);
        return json(res, 200, { queue_running: running ? [row(running)] : [], queue_pending: pend.map(row) });
      }
      if (p === '/history') {
        const max = Number(u.searchParams.get('max_items') ?? Infinity);
        const entries = [...state.history.entries()];
        return json(res, 200, Object.fromEntries(Number.isFinite(max) ? entries.slice(-max) : entries));
      }
      if (seg[0] === 'history' && seg.length === 2) {
        const id = seg[1] as string;
        const h = state.history.get(id);
        return json(res, 200, h ? { [id]: h } : {});
      }
      if (p === '/view') return view(u, res);
      if (p === '/system_stats') {
        return json(res, 200, {
          system: {
            os: 'posix', ram_total: 68719476736, ram_free: 34359738368, comfyui_version: '0.3.64', required_frontend_version: '1.27.10',
            installed_templates_version: '0.1.94', required_templates_version: '0.1.94', python_version: '3.12.3', pytorch_version: '2.8.0+cu128',
            embedded_python: false, argv: ['main.py', '--listen', '127.0.0.1'],
          },
          devices: [{ name: `cuda:0 ${state.name}`, type: 'cuda', index: 0, vram_total: 25757220864, vram_free: 24000000000, torch_vram_total: 0, torch_vram_free: 0 }],
        });
      }
      if (p === '/features') return json(res, 200, { supports_preview_metadata: true, max_upload_size: 100 * 1024 * 1024 });
      if (p === '/embeddings') return json(res, 200, []);
    }

    if (method === 'POST') {
      if (p === '/prompt') return postPrompt(req, res);
      if (p === '/interrupt') {
        const body = await readJson(req).catch(() => undefined);
        const wanted = isObj(body) && typeof body.prompt_id === 'string' ? body.prompt_id : undefined;
        const hit = running !== undefined && (wanted === undefined || wanted === running.promptId);
        if (hit) interruptRequested = true;
        state.interrupts.push({ promptId: wanted, hit });
        return empty(res, 200);
      }
      if (p === '/queue') {
        const body = await readJson(req).catch(() => undefined);
        if (isObj(body)) {
          if (body.clear === true) pendingQ.length = 0;
          if (Array.isArray(body.delete)) {
            for (const id of body.delete) {
              const i = pendingQ.findIndex((q) => q.promptId === id);
              if (i >= 0) pendingQ.splice(i, 1);
            }
          }
          broadcast('status', statusData());
        }
        return empty(res, 200);
      }
      if (p === '/history') {
        const body = await readJson(req).catch(() => undefined);
        if (isObj(body)) {
          if (body.clear === true) state.history.clear();
          if (Array.isArray(body.delete)) for (const id of body.delete) state.history.delete(String(id));
        }
        return empty(res, 200);
      }
      if (p === '/free') {
        await readBody(req);
        return empty(res, 200);
      }
      if (p === '/upload/image') return upload(req, res);
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('404: Not Found');
  }

  async function postPrompt(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readJson(req);
    if (!isObj(body)) throw new Error('Expecting value: line 1 column 1 (char 0)');
    let number: number;
    if ('number' in body) number = Number(body.number);
    else {
      number = body.front === true ? -numberCounter : numberCounter;
      numberCounter += 1;
    }
    const refuse = (answer: unknown): void => {
      state.rejected.push({ status: 400, body: answer });
      json(res, 400, answer);
    };
    if (!('prompt' in body)) {
      return refuse(
        faults.errorShape === '2024'
          ? { error: 'no prompt', node_errors: [] }
          : { error: { type: 'no_prompt', message: 'No prompt provided', details: 'No prompt provided', extra_info: {} }, node_errors: {} },
      );
    }
    if (!isObj(body.prompt)) throw new Error("'list' object has no attribute 'items'");
    const promptId = typeof body.prompt_id === 'string' && body.prompt_id !== '' ? body.prompt_id : randomUUID();
    const targets = Array.isArray(body.partial_execution_targets) ? body.partial_execution_targets.map(String) : undefined;
    const v = validatePrompt(body.prompt, specs, targets);
    if (!v.ok) return refuse({ error: v.error, node_errors: v.nodeErrors });
    const extraData: Record<string, unknown> = isObj(body.extra_data) ? { ...body.extra_data } : {};
    delete extraData.auth_token_comfy_org;
    delete extraData.api_key_comfy_org;
    const clientId = typeof body.client_id === 'string' ? body.client_id : undefined;
    if (clientId !== undefined) extraData.client_id = clientId;
    const item: QueueItem = { number, promptId, prompt: body.prompt as EmulatedWorkflow, extraData, outputs: v.outputs, clientId };
    state.received.push({ promptId, number, clientId, prompt: item.prompt, extraData, outputs: v.outputs });
    pendingQ.push(item);
    broadcast('status', statusData());
    json(res, 200, { prompt_id: promptId, number, node_errors: v.nodeErrors });
    void pump();
  }

  /** `GET /view` rules of server.py view_image (§1.4). */
  async function view(u: URL, res: http.ServerResponse): Promise<void> {
    let filename = u.searchParams.get('filename');
    if (!filename) return empty(res, 404);
    let type = u.searchParams.get('type') || 'output';
    const annotated = / \[(output|input|temp)\]$/.exec(filename);
    if (annotated?.[1]) {
      type = annotated[1];
      filename = filename.slice(0, -annotated[0].length);
    }
    if (filename.startsWith('/') || filename.includes('..')) return empty(res, 400);
    if (!['output', 'input', 'temp'].includes(type)) return empty(res, 400);
    const sub = u.searchParams.get('subfolder') ?? '';
    const normalized = sub === '' ? '' : path.posix.normalize(sub).replace(/\/$/, '');
    if (path.posix.isAbsolute(normalized) || normalized === '..' || normalized.startsWith('../')) return empty(res, 403);
    const file = state.files.get(fileKey(type, normalized === '.' ? '' : normalized, filename));
    if (!file) return empty(res, 404);
    const preview = u.searchParams.get('preview');
    const channel = u.searchParams.get('channel') ?? 'rgba';
    let out = file;
    let ctype = /\.png$/i.test(filename) ? 'image/png' : /\.jpe?g$/i.test(filename) ? 'image/jpeg' : /\.webp$/i.test(filename) ? 'image/webp' : 'application/octet-stream';
    if (preview) {
      const [fmt, q] = preview.split(';');
      const quality = Math.min(100, Math.max(1, Number(q ?? 90) || 90));
      if (fmt === 'jpeg') {
        out = await sharp(file).jpeg({ quality }).toBuffer();
        ctype = 'image/jpeg';
      } else {
        out = await sharp(file).webp({ quality }).toBuffer();
        ctype = 'image/webp';
      }
    } else if (channel === 'rgb') {
      out = await sharp(file).removeAlpha().png().toBuffer();
      ctype = 'image/png';
    } else if (channel === 'a') {
      out = await sharp(file).ensureAlpha().extractChannel(3).png().toBuffer();
      ctype = 'image/png';
    }
    res.writeHead(200, { 'content-type': ctype, 'content-length': out.length, 'content-disposition': `filename="${filename}"` });
    res.end(out);
  }

  /** `POST /upload/image` rules of server.py image_upload (§1.5). */
  async function upload(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    let form: FormData;
    try {
      form = await new Request('http://x/', { method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '' }, body: new Uint8Array(body) }).formData();
    } catch {
      return empty(res, 400);
    }
    const image = form.get('image');
    if (!(image instanceof Blob) || !('name' in image) || typeof image.name !== 'string' || image.name === '') return empty(res, 400);
    const type = String(form.get('type') ?? 'input');
    if (!['input', 'temp', 'output'].includes(type)) throw new Error("cannot access local variable 'type_dir' where it is not associated with a value");
    const sub = String(form.get('subfolder') ?? '');
    const normalized = sub === '' ? '' : path.posix.normalize(sub).replace(/\/$/, '');
    if (path.posix.isAbsolute(normalized) || normalized === '..' || normalized.startsWith('../')) return empty(res, 400);
    let filename = image.name;
    if (filename.includes('/') || filename.includes('\\') || filename.includes('..')) return empty(res, 400);
    const overwrite = ['true', '1'].includes(String(form.get('overwrite') ?? ''));
    const data = Buffer.from(await image.arrayBuffer());
    const folder = normalized === '.' ? '' : normalized;
    const hash = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    let existing = state.files.get(fileKey(type, folder, filename));
    if (!overwrite && existing) {
      const ext = path.posix.extname(filename);
      const stem = filename.slice(0, filename.length - ext.length);
      let i = 1;
      while (existing && hash(existing) !== hash(data)) {
        filename = `${stem} (${i})${ext}`;
        existing = state.files.get(fileKey(type, folder, filename));
        i += 1;
      }
    }
    if (overwrite || !existing) state.files.set(fileKey(type, folder, filename), data);
    json(res, 200, { name: filename, subfolder: folder, type });
  }

  // --- lifecycle ---
  let port = 0;
  function listen(p: number): Promise<void> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => {
        server.off('error', reject);
        port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  async function goDown(): Promise<void> {
    if (down) return;
    down = true;
    epoch += 1;
    pendingQ.length = 0;
    running = undefined;
    runningNode = undefined;
    dropWebSockets();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  async function comeBack(): Promise<void> {
    if (!down || closed) return;
    state.history.clear();
    cache = new Map();
    faults.refuseWebSockets = false;
    await listen(port);
    down = false;
  }

  await listen(0);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    state,
    faults,
    close: async () => {
      if (closed) return;
      await goDown();
      closed = true;
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
