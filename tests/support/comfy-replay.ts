/**
 * A ComfyUI stand-in that answers exactly what the real ComfyUI 0.3.64 answered (tests/fixtures/real-upstream):
 * the same status, content type and body for each request, and the same WebSocket frames in the same order.
 * It holds no logic of its own beyond putting the prompt id the client chose where the recording has the
 * real one, so a test proves how loraloop's client reads the real server, not how it reads our emulator.
 *
 * `POST /prompt` answers come from a script: each call takes the next recorded exchange by name (`base`,
 * `broken_lora`, `bad_bad_sampler`, ...). For an accepted prompt the recorded frames of that prompt are sent
 * to the client's socket (time-compressed), and `GET /history/{id}` gives `{}` until they are all out, then the
 * recorded entry.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { sd15, sdxlFlux, type RecordedFrame, type RecordedHttp } from './real-upstream.js';

export interface ComfyReplay {
  url: string;
  /** Every request as received (JSON bodies parsed). */
  requests: Array<{ method: string; path: string; body: unknown }>;
  /** Names still waiting in the POST /prompt script. */
  script: string[];
  close(): Promise<void>;
}

interface Played {
  recordedId: string;
  history: RecordedHttp | undefined;
  done: boolean;
}

const EMPTY = (h: RecordedHttp): boolean => typeof h.body === 'object' && h.body !== null && 'bytes' in h.body && (h.body as { bytes: number }).bytes === 0;

/**
 * Start a replay server; `script` lists the recorded POST /prompt exchanges to answer with, in order.
 * `recording`: `sd15` (phases `pre` / `post`) or `sdxl-flux`. The SDXL/FLUX recording kept each image's size and
 * hash, not its bytes (megabytes of noise), so `/view` answers the SD 1.5 PNG there.
 */
export async function startComfyReplay(opts: { script: string[]; phase?: 'pre' | 'post'; recording?: 'sd15' | 'sdxl-flux'; frameScale?: number }): Promise<ComfyReplay> {
  const phase = opts.phase ?? 'pre';
  const big = opts.recording === 'sdxl-flux';
  // The phase's own recordings first (after the trained LoRAs were copied in, /models/loras lists them).
  const http0 = big ? sdxlFlux.http() : phase === 'post' ? [...sd15.http('post'), ...sd15.http('pre')] : sd15.http('pre');
  const frames: RecordedFrame[] = big ? sdxlFlux.frames() : sd15.frames(phase);
  const scale = opts.frameScale ?? 0.002;
  const named = (name: string): RecordedHttp | undefined => http0.find((h) => h.name === name);
  // /object_info was recorded before the LoRAs were copied in. ComfyUI fills the lora_name combo from the same
  // folder listing that /models/loras returns, so after that the recorded listing is put into the combo.
  const postLoras = phase === 'post' && !big ? (named('models_loras_after')?.body as string[] | undefined) : undefined;
  const objectInfo = (): Record<string, unknown> => {
    const all = big ? sdxlFlux.objectInfo() : sd15.objectInfo();
    if (postLoras) {
      for (const cls of ['LoraLoader', 'LoraLoaderModelOnly']) {
        const spec = (all[cls] as { input: { required: Record<string, unknown[]> } } | undefined)?.input.required['lora_name'];
        if (spec) spec[0] = postLoras;
      }
    }
    return all;
  };
  // Before, the recorded text is sent as is: its seed max 18446744073709551615 does not survive JSON.parse.
  const objectInfoText = postLoras ? JSON.stringify(objectInfo()) : big ? sdxlFlux.objectInfoText() : sd15.objectInfoText();
  const byPath = (method: string, p: string): RecordedHttp | undefined => http0.find((h) => h.method === method && h.path === p);
  const played = new Map<string, Played>();
  const sockets = new Map<string, WebSocket>();
  const state: ComfyReplay = { url: '', requests: [], script: [...opts.script], close: async () => undefined };

  const swap = (text: string, from: string, to: string): string => text.split(from).join(to);

  function send(res: http.ServerResponse, rec: RecordedHttp, rewrite?: (t: string) => string): void {
    const headers: Record<string, string> = {};
    if (rec.content_type) headers['content-type'] = rec.content_type;
    if (EMPTY(rec)) {
      res.writeHead(rec.status, headers);
      res.end();
      return;
    }
    let text = typeof rec.body === 'string' && !rec.content_type?.startsWith('application/json') ? rec.body : JSON.stringify(rec.body);
    if (rewrite) text = rewrite(text);
    res.writeHead(rec.status, headers);
    res.end(text);
  }

  async function play(clientId: string, recordedId: string, promptId: string): Promise<void> {
    const mine = frames.filter((f) => f.json.data['prompt_id'] === recordedId);
    const start = mine[0]?.t ?? 0;
    for (const f of mine) {
      await new Promise((r) => setTimeout(r, Math.max(0, (f.t - start) * 1000 * scale)));
      const ws = sockets.get(clientId);
      if (ws?.readyState === ws?.OPEN) ws?.send(swap(JSON.stringify(f.json), recordedId, promptId));
    }
    const p = played.get(promptId);
    if (p) p.done = true;
  }

  async function readBody(req: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    return Buffer.concat(chunks).toString('utf8');
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const method = req.method ?? 'GET';
      const raw = method === 'POST' ? await readBody(req) : '';
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        // multipart uploads stay text
      }
      state.requests.push({ method, path: u.pathname + u.search, body });
      const p = u.pathname;
      if (method === 'GET' && p === '/object_info') {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        return res.end(objectInfoText);
      }
      if (method === 'GET' && p.startsWith('/object_info/')) {
        const rec = postLoras ? undefined : byPath('GET', p);
        if (rec) return send(res, rec);
        const cls = decodeURIComponent(p.slice('/object_info/'.length));
        const all = objectInfo();
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        return res.end(JSON.stringify(cls in all ? { [cls]: all[cls] } : {}));
      }
      if (method === 'GET' && p.startsWith('/history/')) {
        const id = decodeURIComponent(p.slice('/history/'.length));
        const pl = played.get(id);
        if (!pl?.done || !pl.history) {
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
          return res.end('{}');
        }
        return send(res, pl.history, (t) => swap(t, pl.recordedId, id));
      }
      if (method === 'GET' && p === '/view') {
        res.writeHead(200, { 'content-type': 'image/png' });
        return res.end(sd15.basePng());
      }
      if (method === 'POST' && p === '/prompt') {
        const name = state.script.shift();
        const rec = name ? (named(`${name}:post`) ?? named(name)) : undefined;
        if (!rec) {
          res.writeHead(599);
          return res.end(`replay: no recorded answer left for POST /prompt (${name ?? 'script empty'})`);
        }
        if (rec.status !== 200) return send(res, rec);
        const recordedId = (rec.body as { prompt_id: string }).prompt_id;
        const sent = body as { prompt_id?: string; client_id?: string } | undefined;
        const promptId = sent?.prompt_id ?? recordedId;
        played.set(promptId, { recordedId, history: named(`${name}:history`), done: false });
        send(res, rec, (t) => swap(t, recordedId, promptId));
        void play(sent?.client_id ?? '', recordedId, promptId);
        return;
      }
      if (method === 'POST' && p === '/upload/image') {
        const rec = named('upload_plain');
        if (rec) return send(res, rec);
      }
      const rec = byPath(method, p) ?? (method === 'POST' && p === '/interrupt' ? named('interrupt_running') : undefined) ?? (method === 'POST' && p === '/queue' ? named('delete_pending') : undefined);
      if (rec) return send(res, rec);
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('404: Not Found');
    })();
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const u = new URL(req.url ?? '/', 'http://x');
    wss.handleUpgrade(req, socket, head, (ws) => {
      const sid = u.searchParams.get('clientId') ?? '';
      sockets.set(sid, ws);
      // The first frame the real server sent on connect: status with our sid.
      const first = frames.find((f) => f.json.type === 'status' && 'sid' in f.json.data);
      if (first) ws.send(JSON.stringify({ ...first.json, data: { ...first.json.data, sid } }));
    });
  });

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  };
  return state;
}
