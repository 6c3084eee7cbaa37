import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveHttp, type HttpFace } from '../../src/faces/mcp/http.js';
import { startComfyEmulator, type ComfyEmulator } from '../emulators/comfyui.js';
import { makeTestApp } from '../support/app.js';

const TOKEN = 'static-token-for-remote-tests';
const PHOTO = resolve('../shared/fixtures/images/Landscape_1.jpg');
let offsetMs = 0;
const now = () => new Date(Date.now() + offsetMs);

let t: ReturnType<typeof makeTestApp>;
let face: HttpFace;
let comfy: ComfyEmulator;

beforeAll(async () => {
  // About 10 s per image on the emulated GPU, against a 6 s call budget (local covers stay well inside it).
  comfy = await startComfyEmulator({ stepMs: 1000, steps: 10, checkpoints: ['dreamshaper_8.safetensors'] });
  t = makeTestApp(
    { LORALOOP_HTTP_TOKEN: TOKEN, LORALOOP_CALL_BUDGET_S: '6', COMFYUI_URLS: comfy.url },
    { now, generationOptions: { seed: 1, backends: { comfy: { pollIntervalMs: 20, requestTimeoutMs: 10_000 } }, pool: { probeMs: 50, giveUpMs: 20_000 } } },
  );
  face = await serveHttp(t.app, { port: 0, host: '127.0.0.1', token: TOKEN, insecureLocal: false });
  // Fonts and the renderer load once per process; do it here so no test measures a cold start.
  await t.app.tools.execute('cover_generate', { title: 'Warm up', seed: 1 }, t.app.context());
}, 30_000);
afterAll(async () => {
  await face?.close();
  await t?.dispose();
  await comfy?.close();
});

async function connect(mode: 'legacy' | { pin: string }): Promise<Client> {
  const client = new Client({ name: 'remote-test', version: '1' }, { versionNegotiation: { mode } });
  await client.connect(new StreamableHTTPClientTransport(new URL(face.url), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }));
  return client;
}

interface Published {
  uri: string;
  url: string | null;
  name: string;
  mime_type: string;
}

describe('both protocol eras from one /mcp handler', () => {
  for (const [label, mode, era] of [
    ['2025-11-25 (initialize)', 'legacy', 'legacy'],
    ['2026-07-28 (server/discover, stateless)', { pin: '2026-07-28' }, 'modern'],
  ] as const) {
    it(`${label}: lists tools and makes a cover whose file comes back as a link, not a path to guess`, async () => {
      const client = await connect(mode);
      try {
        expect(client.getProtocolEra()).toBe(era);
        const { tools } = await client.listTools();
        expect(tools.map((x) => x.name)).toEqual(expect.arrayContaining(['cover_generate', 'job_status', 'lora_upload_urls']));
        const r = await client.callTool({ name: 'cover_generate', arguments: { title: 'Solana ETF inflows hit $1B', seed: 3 } });
        expect(r.isError).toBeFalsy();
        const sc = r.structuredContent as { reasoning: string; next?: string; resources: Published[]; cover_id: string };
        expect(sc.reasoning).toMatch(/Solana/);
        expect(sc.resources).toHaveLength(1);
        const res = sc.resources[0]!;
        expect(res.uri).toMatch(/^loraloop:\/\/artifacts\//);
        expect(res.url).toMatch(new RegExp(`^${face.baseUrl}/files/`));
        const link = (r.content as Array<{ type: string; uri?: string }>).find((c) => c.type === 'resource_link');
        expect(link?.uri).toBe(res.uri);
        // The signed URL needs no bearer token.
        const dl = await fetch(res.url!);
        expect(dl.status).toBe(200);
        expect(dl.headers.get('content-type')).toBe('image/png');
        expect((await sharp(Buffer.from(await dl.arrayBuffer())).metadata()).width).toBe(1200);
      } finally {
        await client.close();
      }
    }, 30_000);
  }
});

describe('signed download links', () => {
  it('refuses a tampered link and an expired one with 403, and an unknown file with 404', async () => {
    const client = await connect('legacy');
    try {
      const r = await client.callTool({ name: 'cover_generate', arguments: { title: 'Bitcoin breaks $100k', seed: 5 } });
      const url = new URL((r.structuredContent as { resources: Published[] }).resources[0]!.url!);
      const tampered = new URL(url);
      tampered.searchParams.set('exp', String(Number(url.searchParams.get('exp')) + 3600));
      expect((await fetch(tampered)).status).toBe(403);
      const otherPath = new URL(url);
      otherPath.pathname = otherPath.pathname.replace(/\/files\/[\w-]+\//, '/files/AAAAAAAAAAAAAAAAAAAAAA/');
      expect((await fetch(otherPath)).status).toBe(403);
      expect((await fetch(face.links.sign('/files/AAAAAAAAAAAAAAAAAAAAAA/x.png'))).status).toBe(404);
      offsetMs = 2 * 3600 * 1000;
      try {
        const expired = await fetch(url);
        expect(expired.status).toBe(403);
        expect(await expired.text()).toMatch(/expired/);
      } finally {
        offsetMs = 0;
      }
    } finally {
      await client.close();
    }
  });

  it('lists and reads artifacts as loraloop:// resources', async () => {
    const client = await connect('legacy');
    try {
      const r = await client.callTool({ name: 'cover_generate', arguments: { title: 'Ethereum upgrade ships', seed: 8 } });
      const uri = (r.structuredContent as { resources: Published[] }).resources[0]!.uri;
      const list = await client.listResources();
      expect(list.resources.map((x) => x.uri)).toContain(uri);
      const templates = await client.listResourceTemplates();
      expect(templates.resourceTemplates[0]!.uriTemplate).toBe('loraloop://artifacts/{id}/{name}');
      const read = await client.readResource({ uri });
      const c = read.contents[0] as { mimeType: string; blob: string };
      expect(c.mimeType).toBe('image/png');
      expect((await sharp(Buffer.from(c.blob, 'base64')).metadata()).height).toBe(630);
      await expect(client.readResource({ uri: 'loraloop://artifacts/BBBBBBBBBBBBBBBBBBBBBB/nope.png' })).rejects.toThrow(/No loraloop resource/);
    } finally {
      await client.close();
    }
  });
});

describe('no call past its budget', () => {
  it('hands a slow cover over as a job within about a second of the budget, then job_status returns it; the GPU work is done once', async () => {
    const client = await connect('legacy');
    try {
      const before = comfy.state.received.length;
      const started = Date.now();
      const r = await client.callTool({ name: 'cover_generate', arguments: { title: 'Solana ETF inflows hit $1B', backend: 'comfyui', seed: 11 } });
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(5900);
      expect(took).toBeLessThan(7000); // within a second of the budget
      const sc = r.structuredContent as { status: string; job_id: string; next: string; reasoning: string };
      expect(sc.status).toBe('running');
      expect(sc.job_id).toMatch(/^job_/);
      expect(sc.next).toContain('job_status');
      // Polling within the budget: each call answers in time, until the result is there.
      let done: { status: string; result: { cover_id: string; backend: string } | null; resources?: Published[] } | undefined;
      for (let i = 0; i < 30; i++) {
        const t0 = Date.now();
        const s = await client.callTool({ name: 'job_status', arguments: { job_id: sc.job_id, wait_seconds: 30 } });
        expect(Date.now() - t0).toBeLessThan(7000);
        done = s.structuredContent as typeof done;
        if (done!.status !== 'running') break;
      }
      expect(done!.status).toBe('succeeded');
      expect(done!.result!.backend).toBe('comfyui');
      expect(done!.resources?.[0]?.mime_type).toBe('image/png');
      expect(comfy.state.received.length - before).toBe(1);
      const cover = await t.app.services.store.covers.get(done!.result!.cover_id);
      expect(cover?.backend).toBe('comfyui');
    } finally {
      await client.close();
    }
  }, 60_000);

  it('a quick call is answered in place, with no job', async () => {
    const client = await connect('legacy');
    try {
      const r = await client.callTool({ name: 'cover_route', arguments: { title: 'Dogecoin rallies' } });
      expect((r.structuredContent as { status?: string }).status).toBeUndefined();
      const bad = await client.callTool({ name: 'job_status', arguments: { job_id: 'job_nope' } });
      expect(bad.isError).toBe(true);
    } finally {
      await client.close();
    }
  });
});

describe('training images from a remote client', () => {
  it('takes a PUT to a single-use upload URL, refuses a second PUT and non-image bytes, and takes small images inline', async () => {
    const client = await connect('legacy');
    try {
      const created = await client.callTool({ name: 'lora_create', arguments: { name: 'remote-set', trigger_word: 'zxq', base_model: 'sd15', asset_type: 'character' } });
      expect(created.isError, JSON.stringify(created.content)).toBeFalsy();
      const loraId = (created.structuredContent as { lora_id: string }).lora_id;
      const u = await client.callTool({ name: 'lora_upload_urls', arguments: { lora_id: loraId, count: 2 } });
      const uploads = (u.structuredContent as { uploads: Array<{ url: string }> }).uploads;
      expect(uploads).toHaveLength(2);
      const photo = readFileSync(PHOTO);
      const first = await fetch(uploads[0]!.url, { method: 'PUT', body: photo, headers: { 'content-type': 'application/octet-stream' } });
      expect(first.status).toBe(201);
      expect(((await first.json()) as { ok: boolean; image_id: string }).image_id).toBeTruthy();
      const again = await fetch(uploads[0]!.url, { method: 'PUT', body: photo });
      expect(again.status).toBe(409);
      const text = await fetch(uploads[1]!.url, { method: 'PUT', body: 'this is not an image', headers: { 'content-type': 'image/jpeg' } });
      expect(text.status).toBe(415);
      expect(((await text.json()) as { error: string }).error).toMatch(/not a JPEG, PNG/);
      const small = await sharp(photo).resize(256).jpeg().toBuffer();
      const inline = await client.callTool({ name: 'lora_upload_images', arguments: { lora_id: loraId, images: [{ data_base64: small.toString('base64'), file_name: 'small.jpg' }] } });
      expect((inline.structuredContent as { added: number; total_images: number })).toMatchObject({ added: 1, total_images: 2 });
      const tampered = uploads[1]!.url.replace(/sig=[^&]+/, 'sig=AAAA');
      expect((await fetch(tampered, { method: 'PUT', body: photo })).status).toBe(403);

      // The training bundle and the dataset report reach the remote client as links, with no path to choose.
      const exp = await client.callTool({ name: 'dataset_export', arguments: { lora_id: loraId, target: 'replicate' } });
      expect(exp.isError, JSON.stringify(exp.content)).toBeFalsy();
      const zipLink = (exp.structuredContent as { resources: Published[] }).resources[0]!;
      expect(zipLink.mime_type).toBe('application/zip');
      const zip = Buffer.from(await (await fetch(zipLink.url!)).arrayBuffer());
      expect(zip.subarray(0, 2).toString('latin1')).toBe('PK');
      const rep = await client.callTool({ name: 'dataset_report', arguments: { lora_id: loraId } });
      // On a loaded machine the report can outlast the 6 s budget: then it is handed over, and job_status brings the
      // same links once it is done (the hand-over itself is tested above).
      let report = rep.structuredContent as { status?: string; job_id?: string; resources: Published[] };
      for (let i = 0; i < 20 && report.status === 'running'; i++) {
        report = (await client.callTool({ name: 'job_status', arguments: { job_id: report.job_id, wait_seconds: 5 } })).structuredContent as typeof report;
      }
      const links = report.resources;
      expect(links.map((l) => l.mime_type)).toEqual(['text/html', 'image/png']);
      const html = await fetch(links[0]!.url!);
      expect(html.headers.get('content-security-policy')).toMatch(/sandbox/);
      expect(await html.text()).toMatch(/<html/i);
    } finally {
      await client.close();
    }
  }, 30_000);
});
