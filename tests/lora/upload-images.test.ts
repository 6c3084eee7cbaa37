import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProgressUpdate } from '../../src/tools/types.js';
import { makeTestApp } from '../support/app.js';
import { dataOf, errorOf } from '../support/result.js';

const FIXTURES = new URL('../../../shared/fixtures/images/', import.meta.url).pathname;

/** Files that must be refused, and the code each gets. */
const BROKEN: Record<string, string> = {
  'corrupt-header.jpg': 'UNSUPPORTED_IMAGE',
  'truncated.jpg': 'UNSUPPORTED_IMAGE',
  'truncated.png': 'UNSUPPORTED_IMAGE',
  'giant-image.jpg': 'IMAGE_TOO_LARGE',
  '65536-uint32-limit.png': 'IMAGE_TOO_LARGE',
};

interface Result {
  ok: boolean;
  source: string;
  image_id?: string;
  error?: string;
  error_code?: string;
  duplicate_of?: string;
  warnings?: string[];
  caption_status?: string;
  width?: number;
  height?: number;
}
interface UploadData {
  lora_id: string;
  results: Result[];
  added: number;
  failed: number;
  pending_captions: number;
  total_images: number;
}

let dir: string;
beforeAll(() => {
  // The fixtures sit outside the test app's allowed roots, so work on a copy under tmpdir.
  dir = mkdtempSync(join(tmpdir(), 'loraloop-fixtures-'));
  cpSync(FIXTURES, dir, { recursive: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lora_upload_images: the fixtures batch', () => {
  const t = makeTestApp();
  const progress: ProgressUpdate[] = [];
  let data: UploadData;
  let reasoning: string;
  let files: string[];

  beforeAll(async () => {
    files = readdirSync(dir).filter((f) => f !== 'SOURCES.md').sort();
    const created = await t.app.tools.execute(
      'lora_create',
      { name: 'solana-coin', base_model: 'flux', asset_type: 'coin', trigger_word: 'sks solana', coins: ['SOL'] },
      t.app.context(),
    );
    expect(created.success).toBe(true);
    const ctx = { ...t.app.context(), progress: (p: ProgressUpdate) => progress.push(p) };
    const r = await t.app.tools.execute('lora_upload_images', { lora_id: 'solana-coin', images: files.map((f) => ({ path: join(dir, f) })) }, ctx);
    expect(r.success).toBe(true);
    data = dataOf<UploadData>(r);
    reasoning = r.reasoning;
  }, 120_000);
  afterAll(() => t.dispose());

  it('returns one result per file, in order', () => {
    expect(data.results.map((r) => r.source)).toEqual(files.map((f) => join(dir, f)));
  });

  it('lands every good file and refuses every broken one with a clear error', () => {
    for (const [i, f] of files.entries()) {
      const r = data.results[i] as Result;
      if (f in BROKEN) {
        expect(r.ok, f).toBe(false);
        expect(r.error_code, f).toBe(BROKEN[f]);
        expect(r.error, f).toMatch(/truncated|cut short|not a readable image|pixels.*limit/i);
      } else {
        expect(r.ok, `${f}: ${r.error}`).toBe(true);
        expect(r.image_id).toMatch(/^img_/);
      }
    }
    expect(data.added).toBe(files.length - Object.keys(BROKEN).length);
    expect(data.failed).toBe(Object.keys(BROKEN).length);
    expect(data.total_images).toBe(data.added);
  });

  it('stores photos upright (EXIF orientation applied) and says so', () => {
    for (const [i, f] of files.entries()) {
      const r = data.results[i] as Result;
      if (f.startsWith('Landscape_')) expect(r.width! > r.height!, f).toBe(true);
      if (f.startsWith('Portrait_')) expect(r.height! > r.width!, f).toBe(true);
    }
    const rotated = data.results.find((r) => r.source.endsWith('Landscape_6.jpg'));
    expect(rotated?.warnings?.join(' ')).toMatch(/EXIF orientation/);
  });

  it('warns about animated, CMYK and 16-bit sources', () => {
    const warn = (name: string) => data.results.find((r) => r.source.endsWith(name))?.warnings?.join(' ') ?? '';
    expect(warn('animated-loop-3.gif')).toMatch(/animated.*first frame/);
    expect(warn('Channel_digital_image_CMYK_color.jpg')).toMatch(/CMYK/);
    expect(warn('16-bit-grey-alpha.png')).toMatch(/16-bit/);
  });

  it('marks uncaptioned images pending and tells the next step', () => {
    expect(data.pending_captions).toBe(data.added);
    expect(data.results.filter((r) => r.ok).every((r) => r.caption_status === 'pending')).toBe(true);
    expect(reasoning).toMatch(new RegExp(`Added ${data.added} of ${files.length}`));
    expect(reasoning).toMatch(/5 refused: .*truncated\.jpg/);
    expect(reasoning).toMatch(/caption_write.*lora_train/);
  });

  it('reports progress once per image', () => {
    const perImage = progress.filter((p) => p.progress > 0);
    expect(perImage.map((p) => p.progress)).toEqual(files.map((_, i) => i + 1));
    expect(perImage.every((p) => p.total === files.length)).toBe(true);
  });

  it('moves the project from created to uploading', async () => {
    const list = await t.app.tools.execute('lora_list', {}, t.app.context());
    const l = dataOf<{ loras: Array<{ status: string; images: { total: number } }> }>(list).loras[0];
    expect(l?.status).toBe('uploading');
    expect(l?.images.total).toBe(data.added);
  });

  it('refuses the same pixels again, naming the image already there, even re-encoded', async () => {
    const first = data.results.find((r) => r.source.endsWith('gradients-rgb8.png')) as Result;
    // Same pixels in another container: a freshly compressed PNG with different bytes.
    const copy = join(dir, 'copy-of-gradients.png');
    writeFileSync(copy, await sharp(readFileSync(join(dir, 'gradients-rgb8.png'))).png({ compressionLevel: 1 }).toBuffer());
    expect(readFileSync(copy).equals(readFileSync(join(dir, 'gradients-rgb8.png')))).toBe(false);
    const r = await t.app.tools.execute(
      'lora_upload_images',
      { lora_id: 'solana-coin', images: [{ path: join(dir, 'gradients-rgb8.png') }, { path: copy }, { path: join(dir, 'Landscape_1.jpg') }] },
      t.app.context(),
    );
    const d = dataOf<UploadData>(r);
    expect(d.added).toBe(0);
    for (const res of d.results.slice(0, 2)) {
      expect(res.error_code).toBe('DUPLICATE_IMAGE');
      expect(res.duplicate_of).toBe(first.image_id);
      expect(res.error).toContain(first.image_id!);
    }
    expect(d.results[2]?.error_code).toBe('DUPLICATE_IMAGE');
  });
});

describe('lora_upload_images: captions, paths and URLs', () => {
  const t = makeTestApp();
  let server: Server;
  let base: string;
  let loraId: string;
  const image = (): Buffer => readFileSync(join(dir, '320x240.jpg'));

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/cover.jpg') {
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        res.end(image());
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const c = await t.app.tools.execute('lora_create', { name: 'icons', base_model: 'sdxl', asset_type: 'icons', trigger_word: 'ohwx icon' }, t.app.context());
    loraId = dataOf<{ lora_id: string }>(c).lora_id;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await t.dispose();
  });

  const upload = async (images: unknown[], app = t.app) =>
    dataOf(await app.tools.execute('lora_upload_images', { lora_id: loraId, images }, app.context())) as UploadData;

  it('checks each caption: 10-500 characters is kept, too short is an error for that image only', async () => {
    const d = await upload([
      { path: join(dir, 'flowers.jpeg'), caption: 'short' },
      { path: join(dir, 'flowers.jpeg'), caption: 'a field of red flowers under a clear sky', tags: ['flowers', 'outdoor'] },
    ]);
    expect(d.results[0]).toMatchObject({ ok: false, error_code: 'INVALID_INPUT' });
    expect(d.results[0]?.error).toMatch(/5 characters.*10-500/);
    expect(d.results[1]).toMatchObject({ ok: true, caption_status: 'ok' });
    expect(d.pending_captions).toBe(0);
  });

  it('refuses paths outside the allowed roots and missing files, and goes on', async () => {
    const d = await upload([{ path: '/etc/hostname' }, { path: '../../../../etc/passwd' }, { path: join(dir, 'missing.jpg') }, { path: join(dir, 'concert.jpg') }]);
    expect(d.results.map((r) => r.error_code ?? 'ok')).toEqual(['PATH_NOT_ALLOWED', 'PATH_NOT_ALLOWED', 'NOT_FOUND', 'ok']);
    expect(d.results[0]?.error).toMatch(/outside the allowed folders.*LORALOOP_ALLOWED_ROOTS/);
  });

  it('needs exactly one of path and url per image', async () => {
    const d = await upload([{}, { path: join(dir, 'random.jpg'), url: 'https://example.com/a.jpg' }]);
    expect(d.results.map((r) => r.error_code)).toEqual(['INVALID_INPUT', 'INVALID_INPUT']);
  });

  it('refuses a private or plain-http URL by default', async () => {
    const d = await upload([{ url: `${base}/cover.jpg` }, { url: `https://127.0.0.1:1/cover.jpg` }, { url: 'file:///etc/passwd' }]);
    expect(d.results.map((r) => r.error_code)).toEqual(['URL_NOT_ALLOWED', 'URL_NOT_ALLOWED', 'URL_NOT_ALLOWED']);
    expect(d.results[1]?.error).toMatch(/loopback/);
    expect(d.results[0]?.error).toMatch(/LORALOOP_ALLOW_PRIVATE_URLS/);
  });

  it('downloads from a local server with LORALOOP_ALLOW_PRIVATE_URLS=1', async () => {
    const t2 = makeTestApp({ LORALOOP_ALLOW_PRIVATE_URLS: '1' });
    try {
      const c = await t2.app.tools.execute('lora_create', { name: 'dl', base_model: 'sd15', asset_type: 'style', trigger_word: 'zxq' }, t2.app.context());
      const id = dataOf<{ lora_id: string }>(c).lora_id;
      const r = await t2.app.tools.execute('lora_upload_images', { lora_id: id, images: [{ url: `${base}/cover.jpg` }, { url: `${base}/nothing.jpg` }] }, t2.app.context());
      const d = dataOf<UploadData>(r);
      expect(d.results[0]).toMatchObject({ ok: true, width: 320, height: 240 });
      expect(d.results[1]).toMatchObject({ ok: false, error_code: 'UPSTREAM_ERROR' });
      expect(d.results[1]?.error).toMatch(/404/);
    } finally {
      await t2.dispose();
    }
  });

  it('trusts a configured backend origin (COMFYUI_URLS) without lifting the rules for others', async () => {
    const t3 = makeTestApp({ COMFYUI_URLS: base });
    try {
      const c = await t3.app.tools.execute('lora_create', { name: 'trusted', base_model: 'sd15', asset_type: 'style', trigger_word: 'zxq' }, t3.app.context());
      const id = dataOf<{ lora_id: string }>(c).lora_id;
      const r = await t3.app.tools.execute('lora_upload_images', { lora_id: id, images: [{ url: `${base}/cover.jpg` }, { url: 'http://127.0.0.2:9/x.jpg' }] }, t3.app.context());
      const d = dataOf<UploadData>(r);
      expect(d.results[0]?.ok).toBe(true);
      expect(d.results[1]?.error_code).toBe('URL_NOT_ALLOWED');
    } finally {
      await t3.dispose();
    }
  });

  it('fails the call (not per image) for a project that does not exist', async () => {
    const r = await t.app.tools.execute('lora_upload_images', { lora_id: 'nope', images: [{ path: join(dir, 'random.jpg') }] }, t.app.context());
    expect(r.success).toBe(false);
    expect(errorOf(r).code).toBe('NOT_FOUND');
  });
});
