import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../../../src/app.js';
import { startOpenAIEmulator, type OpenAIEmulator } from '../../emulators/openai.js';
import { makeTestApp } from '../../support/app.js';
import { makeProject } from '../helpers.js';
import { dataOf, errorOf } from '../../support/result.js';

interface WriteData {
  captioner: string;
  model: string | null;
  captioned: number;
  failed: number;
  skipped: number;
  vocabulary_replacements: number;
  results: Array<{ image_id: string; ok: boolean; caption?: string; categories?: string[]; error?: string }>;
}

describe('caption_write with the local captioner', () => {
  let app: App;
  let home: string;
  let dispose: () => Promise<void>;
  beforeEach(() => ({ app, home, dispose } = makeTestApp()));
  afterEach(async () => dispose());

  it('states only measured facts, tags and the coin in the file name, trigger word first, and says the captions are basic', async () => {
    const p = await makeProject(app, join(home, 'in'), { name: 'sol-coins', asset_type: 'coin', trigger_word: 'sks coin', coins: ['SOL'] }, [
      { name: 'solana-gold-3.png', seed: 1, tags: ['close-up', 'studio light'], width: 512, height: 512, background: '#f28c28' },
      { name: 'IMG_2031.png', seed: 2, width: 900, height: 500 },
    ]);
    const r = await app.tools.execute('caption_write', { lora_id: p.lora_id }, app.context());
    expect(r.success).toBe(true);
    const d = dataOf<WriteData>(r);
    expect(d.captioner).toBe('local');
    expect(d.captioned).toBe(2);
    const [sol, other] = d.results;
    expect(sol?.caption).toMatch(/^sks coin, Solana \(SOL\) coin, close-up, studio light, /);
    expect(sol?.caption).toMatch(/orange/);
    expect(sol?.caption).toMatch(/square format/);
    expect(other?.caption).toMatch(/^sks coin, /);
    expect(other?.caption).toMatch(/horizontal format/);
    expect(other?.caption).not.toMatch(/Solana/);
    expect(r.reasoning).toMatch(/basic/);
    // Stored, and no longer pending.
    const stored = await app.services.store.loras.getImage(sol!.image_id);
    expect(stored).toMatchObject({ caption: sol?.caption, caption_status: 'ok', caption_source: 'local' });
    // A second run has nothing left to do unless asked.
    const again = await app.tools.execute('caption_write', { lora_id: p.lora_id }, app.context());
    expect(dataOf<WriteData>(again).skipped).toBe(2);
    expect(again.reasoning).toMatch(/overwrite/);
  });

  it('fails with NOT_CONFIGURED naming OPENAI_API_KEY when the vision captioner is required but not configured', async () => {
    const p = await makeProject(app, join(home, 'in'), { name: 'x' }, [{ name: 'a.png', seed: 3, width: 300, height: 300 }]);
    const r = await app.tools.execute('caption_write', { lora_id: p.lora_id, captioner: 'vision' }, app.context());
    expect(r.success).toBe(false);
    expect(errorOf(r)).toMatchObject({ code: 'NOT_CONFIGURED' });
    expect(r.reasoning).toContain('OPENAI_API_KEY');
  });
});

describe('caption_write with a vision model (openai SDK against the emulator)', () => {
  let emu: OpenAIEmulator;
  let app: App;
  let home: string;
  let dispose: () => Promise<void>;
  beforeEach(async () => {
    emu = await startOpenAIEmulator({ apiKey: 'sk-test-123' });
    ({ app, home, dispose } = makeTestApp({ OPENAI_API_KEY: 'sk-test-123', OPENAI_BASE_URL: emu.baseUrl, LORALOOP_VISION_MODEL: 'emu-vision' }));
  });
  afterEach(async () => {
    await dispose();
    await emu.close();
  });

  it('sends a downscaled data URL with the style guide, and stores the caption with the trigger first, the vocabulary applied and the categories', async () => {
    const p = await makeProject(app, join(home, 'in'), { name: 'ui-icons', asset_type: 'icons', trigger_word: 'flaticonz' }, [
      { name: 'clipboard.png', seed: 4, width: 1600, height: 1200, tags: ['checkmarks'] },
    ]);
    emu.push({
      content:
        '```json\n{"caption": "A flat design clipboard icon with three checkmarks, orange and white colour scheme, minimal vector style, solid light grey backdrop, clean edges, professional UI icon", "categories": ["closeup", "nonsense"]}\n```',
    });
    const r = await app.tools.execute('caption_write', { lora_id: p.lora_id, vocabulary: { backdrop: 'background' } }, app.context());
    expect(r.success).toBe(true);
    const d = dataOf<WriteData>(r);
    expect(d).toMatchObject({ captioner: 'vision', model: 'emu-vision', captioned: 1 });
    expect(d.results[0]?.caption).toBe(
      'flaticonz, A flat design clipboard icon with three checkmarks, orange and white color scheme, minimal vector style, solid light gray background, clean edges, professional UI icon',
    );
    expect(d.vocabulary_replacements).toBe(3);
    expect(d.results[0]?.categories).toEqual(['close-up']);
    expect(await app.services.store.loras.getImage(p.image_ids[0]!)).toMatchObject({ caption_source: 'vision', categories: ['close-up'] });
    // The project keeps the vocabulary.
    expect((await app.services.store.loras.get(p.lora_id))?.vocabulary).toEqual({ backdrop: 'background' });

    const req = emu.requests[0]!;
    expect(req.model).toBe('emu-vision');
    expect(req.headers.authorization).toBe('Bearer sk-test-123');
    expect(req.text).toContain('Style guide');
    expect(req.text).toContain('never just "icon"');
    expect(req.text).toContain('flaticonz');
    expect(req.text).toContain('"background" (not "backdrop"');
    expect(req.text).toContain('checkmarks');
    expect(req.images).toHaveLength(1);
    expect(req.images[0]?.mime).toBe('image/jpeg');
    const meta = await sharp(req.images[0]!.bytes!).metadata();
    expect(Math.max(meta.width ?? 0, meta.height ?? 0)).toBe(768);
  });

  it('keeps going when one image fails, and uses a plain-text answer as the caption', async () => {
    const p = await makeProject(app, join(home, 'in'), { name: 'chars', trigger_word: 'zxq' }, [
      { name: 'a.png', seed: 5, width: 400, height: 600 },
      { name: 'b.png', seed: 6, width: 400, height: 600 },
    ]);
    emu.push({ status: 400, error: { message: 'image too complex', type: 'invalid_request_error' } }, { content: 'full-body, standing in a busy street, red jacket' });
    const r = await app.tools.execute('caption_write', { lora_id: p.lora_id, captioner: 'vision' }, app.context());
    expect(r.success).toBe(true);
    const d = dataOf<WriteData>(r);
    expect(d.captioned).toBe(1);
    expect(d.failed).toBe(1);
    expect(d.results.find((x) => !x.ok)?.error).toMatch(/HTTP 400/);
    expect(d.results.find((x) => x.ok)?.caption).toBe('zxq, full-body, standing in a busy street, red jacket');
  });

  it('stops at once with NOT_CONFIGURED when the endpoint refuses the key', async () => {
    await dispose();
    ({ app, home, dispose } = makeTestApp({ OPENAI_API_KEY: 'sk-wrong', OPENAI_BASE_URL: emu.baseUrl }));
    const p = await makeProject(app, join(home, 'in'), { name: 'k' }, [
      { name: 'a.png', seed: 7, width: 300, height: 300 },
      { name: 'b.png', seed: 8, width: 300, height: 300 },
      { name: 'c.png', seed: 9, width: 300, height: 300 },
    ]);
    const r = await app.tools.execute('caption_write', { lora_id: p.lora_id }, app.context());
    expect(r.success).toBe(false);
    expect(errorOf(r)).toMatchObject({ code: 'NOT_CONFIGURED' });
    expect(r.reasoning).toContain('OPENAI_API_KEY');
    expect(emu.requests.length).toBe(0); // the emulator refuses before recording
    expect((await app.services.store.loras.listImages(p.lora_id)).every((i) => i.caption_status === 'pending')).toBe(true);
  });
});
