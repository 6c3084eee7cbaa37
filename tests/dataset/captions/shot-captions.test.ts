/**
 * With no vision model, the local captioner writes the shot it measured on real photos, stores the categories,
 * and the analysis, the balance and the kohya subsets then know the framing: the embedded default is no longer
 * blind on a character set.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../../../src/app.js';
import { makeTestApp } from '../../support/app.js';
import { dataOf } from '../../support/result.js';

const PEOPLE = new URL('../../fixtures/people/', import.meta.url).pathname;

describe('local captions from the pixels of real photos', () => {
  let app: App;
  let home: string;
  let dispose: () => Promise<void>;
  beforeEach(() => ({ app, home, dispose } = makeTestApp()));
  afterEach(async () => dispose());

  it('writes framing, people, face position and background; analysis and kohya subsets follow', async () => {
    const dir = join(home, 'in');
    mkdirSync(dir);
    const photos = ['tfjs-portrait-woman.jpg', 'coco-yoga.jpg', 'wh-obama-biden-room.jpg', 'coco-person-bench.jpg', 'wh-biden-standing.jpg'];
    for (const f of photos) copyFileSync(join(PEOPLE, f), join(dir, f));
    const created = await app.tools.execute('lora_create', { name: 'hero', base_model: 'sd15', asset_type: 'character', trigger_word: 'zxq person' }, app.context());
    const loraId = dataOf<{ lora_id: string }>(created).lora_id;
    // The last one's tag names its framing: the tag wins and the detector is not asked about it.
    const images = photos.map((f) => ({ path: join(dir, f), ...(f === 'wh-biden-standing.jpg' ? { tags: ['cowboy shot'] } : {}) }));
    const up = await app.tools.execute('lora_upload_images', { lora_id: loraId, images }, app.context());
    expect(up.success, up.reasoning).toBe(true);

    const before = await app.tools.execute('dataset_analyze', { lora_id: loraId }, app.context());
    expect(dataOf(before)).toMatchObject({ unclassified: 0, typed_from_pixels: 4 });
    expect(before.reasoning).toMatch(/4 images without framing words .* were typed from the pixels/);

    const r = await app.tools.execute('caption_write', { lora_id: loraId, captioner: 'local' }, app.context());
    expect(r.success, r.reasoning).toBe(true);
    const byFile = new Map(
      (await app.services.store.loras.listImages(loraId)).map((i) => [i.file_name, { caption: i.caption ?? '', categories: i.categories ?? [] }]),
    );
    expect(byFile.get('tfjs-portrait-woman.jpg')?.caption).toMatch(/^zxq person, close-up, one person, face cent(r|er)ed, plain background/);
    expect(byFile.get('tfjs-portrait-woman.jpg')?.categories).toEqual(['close-up']);
    expect(byFile.get('coco-yoga.jpg')?.caption).toMatch(/full-body, one person/);
    expect(byFile.get('wh-obama-biden-room.jpg')?.caption).toMatch(/medium shot, two people, .*busy background/);
    expect(byFile.get('wh-obama-biden-room.jpg')?.categories).toEqual(['medium shot', 'multi-character', 'complex background']);
    expect(byFile.get('coco-person-bench.jpg')?.categories[0]).toBe('far/wide');
    // Tagged: the tag's framing (cowboy shot = medium shot), no detector words.
    expect(byFile.get('wh-biden-standing.jpg')?.caption).not.toMatch(/one person/);

    const out = join(home, 'kohya');
    const ex = await app.tools.execute('dataset_export', { lora_id: loraId, target: 'kohya', out }, app.context());
    expect(ex.success, ex.reasoning).toBe(true);
    const subsets = dataOf<{ subsets: Array<{ name: string; images: number }> }>(ex).subsets.map((s) => s.name).sort();
    expect(subsets).toEqual(expect.arrayContaining(['close-up', 'far-wide', 'full-body', 'medium-shot']));
  }, 60_000);
});
