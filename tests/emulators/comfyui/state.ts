/**
 * The ComfyUI emulator's world: the model lists, the queue (one prompt at a time), execution with ComfyUI's
 * cache and events, history, the virtual disk of images, and the WebSocket event stream. Routes
 * (comfyui/routes.ts) read and change it; tests read `state`.
 */
import type http from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { createHash, randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { WebSocketServer, type WebSocket } from 'ws';
import { faultHits, type ComfyEmulatorFaults } from './faults.js';
import { stringifyJsonExact } from './json.js';
import { nodeSpecs, type NodeSpec } from './nodes.js';
import type { EmulatedNode, EmulatedWorkflow } from './validate.js';

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
export interface ImageOut {
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

export const fileKey = (type: string, subfolder: string, filename: string): string => `${type}/${subfolder}/${filename}`;

export interface QueueItem {
  number: number;
  promptId: string;
  prompt: EmulatedWorkflow;
  extraData: Record<string, unknown>;
  outputs: string[];
  clientId: string | undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => (ms > 0 ? setTimeout(r, ms) : setImmediate(r)));

export interface ComfyWorld {
  readonly state: ComfyEmulatorState;
  readonly specs: Record<string, NodeSpec>;
  isDown(): boolean;
  queueRemaining(): number;
  /** `/queue`: the running row and the pending rows, in queue order. */
  queueRows(): { running: unknown[][]; pending: unknown[][] };
  /** The number of the next prompt (front of the queue when asked). */
  nextNumber(front: boolean): number;
  /** Queue an accepted prompt (everyone hears the new queue length). */
  enqueue(item: QueueItem): void;
  /** Run the queue, one prompt at a time, unless it is running already. */
  run(): void;
  /** `POST /interrupt`: whether a running prompt (the one asked for, if any) will stop. */
  interrupt(promptId: string | undefined): boolean;
  clearPending(): void;
  deletePending(promptId: unknown): void;
  broadcastStatus(): void;
  /** Take a WebSocket upgrade on /ws. */
  acceptWebSocket(req: http.IncomingMessage, socket: Duplex, head: Buffer, url: URL): void;
  dropWebSockets(): void;
  /** The crash: the queue, the running prompt and every WebSocket are gone. */
  crash(): void;
  /** Back after a crash: empty history and cache (files stay, like a disk). */
  restart(): void;
  closeWebSockets(): Promise<void>;
}

export function createComfyWorld(opts: ComfyEmulatorOptions, faults: ComfyEmulatorFaults, goDown: () => Promise<void>): ComfyWorld {
  const useCache = opts.cache ?? true;
  const pendingQ: QueueItem[] = [];
  let running: QueueItem | undefined;
  let runningNode: string | undefined;
  let interruptRequested = false;
  let numberCounter = 0;
  let epoch = 0;
  let pumping = false;
  let down = false;
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
  const wss = new WebSocketServer({ noServer: true });

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
    const cachedIds = useCache ? order.filter((id) => cache.has(sigs.get(id) ?? '') && !faultHits(faults, id, wf[id] as EmulatedNode)) : [];
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
      if (f && faultHits(faults, id, node)) {
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

  return {
    state,
    specs,
    isDown: () => down,
    queueRemaining,
    queueRows: () => {
      const row = (q: QueueItem): unknown[] => [q.number, q.promptId, q.prompt, q.extraData, q.outputs];
      const pend = [...pendingQ].sort((a, b) => a.number - b.number);
      return { running: running ? [row(running)] : [], pending: pend.map(row) };
    },
    nextNumber: (front) => {
      const number = front ? -numberCounter : numberCounter;
      numberCounter += 1;
      return number;
    },
    enqueue: (item) => {
      pendingQ.push(item);
      broadcast('status', statusData());
    },
    run: () => void pump(),
    interrupt: (wanted) => {
      const hit = running !== undefined && (wanted === undefined || wanted === running.promptId);
      if (hit) interruptRequested = true;
      return hit;
    },
    clearPending: () => {
      pendingQ.length = 0;
    },
    deletePending: (id) => {
      const i = pendingQ.findIndex((q) => q.promptId === id);
      if (i >= 0) pendingQ.splice(i, 1);
    },
    broadcastStatus: () => broadcast('status', statusData()),
    acceptWebSocket: (req, socket, head, u) => {
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
    },
    dropWebSockets,
    crash: () => {
      down = true;
      epoch += 1;
      pendingQ.length = 0;
      running = undefined;
      runningNode = undefined;
      dropWebSockets();
    },
    restart: () => {
      state.history.clear();
      cache = new Map();
      faults.refuseWebSockets = false;
      down = false;
    },
    closeWebSockets: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  };
}
