/**
 * The ComfyUI emulator's HTTP API, every route also under `/api` (CONTRACTS.md §1, server.py of 0.3.64):
 * object_info, models, prompt (validated like execution.py), queue, interrupt, history, view, upload, system
 * stats; aiohttp's origin check; and which upgrades reach the WebSocket.
 */
import type http from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { createHash, randomUUID } from 'node:crypto';
import sharp from 'sharp';
import type { ComfyEmulatorFaults } from './faults.js';
import { parseJsonExact, stringifyJsonExact } from './json.js';
import { objectInfoFor } from './nodes.js';
import { fileKey, sleep, type ComfyWorld, type QueueItem } from './state.js';
import { isObj, validatePrompt, type EmulatedWorkflow } from './validate.js';

export interface ComfyRoutes {
  handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
}

export function createRoutes(world: ComfyWorld, faults: ComfyEmulatorFaults, comboShape: 'v1' | 'v3'): ComfyRoutes {
  const { state, specs, queueRemaining } = world;

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
        const rows = world.queueRows();
        return json(res, 200, { queue_running: rows.running, queue_pending: rows.pending });
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
        const hit = world.interrupt(wanted);
        state.interrupts.push({ promptId: wanted, hit });
        return empty(res, 200);
      }
      if (p === '/queue') {
        const body = await readJson(req).catch(() => undefined);
        if (isObj(body)) {
          if (body.clear === true) world.clearPending();
          if (Array.isArray(body.delete)) for (const id of body.delete) world.deletePending(id);
          world.broadcastStatus();
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
    else number = world.nextNumber(body.front === true);
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
    world.enqueue(item);
    json(res, 200, { prompt_id: promptId, number, node_errors: v.nodeErrors });
    world.run();
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

  function upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const u = new URL(req.url ?? '/', 'http://x');
    const p = u.pathname.replace(/^\/api(?=\/)/, '');
    if (p !== '/ws' || world.isDown() || faults.refuseWebSockets) {
      socket.end(`HTTP/1.1 ${p !== '/ws' ? '404 Not Found' : '503 Service Unavailable'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    world.acceptWebSocket(req, socket, head, u);
  }

  return { handle, upgrade };
}
