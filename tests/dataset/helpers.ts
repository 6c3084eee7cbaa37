/**
 * Test helpers for the dataset tools: distinct synthetic images (seeded shapes, so no two are near
 * duplicates) and a project filled through the real lora_create / lora_upload_images tools.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { App } from '../../src/app.js';

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A photo-like synthetic image: a background colour and seeded ellipses and bars (distinct per seed). */
export async function syntheticImage(seed: number, width = 640, height = 960, format: 'png' | 'jpeg' = 'png', background?: string): Promise<Buffer> {
  const r = rng(seed);
  const hex = (): string => `#${Math.floor(r() * 0xffffff).toString(16).padStart(6, '0')}`;
  const shapes: string[] = [];
  for (let i = 0; i < 14; i++) {
    const x = Math.floor(r() * width);
    const y = Math.floor(r() * height);
    if (r() < 0.5) shapes.push(`<ellipse cx="${x}" cy="${y}" rx="${20 + r() * width * 0.25}" ry="${20 + r() * height * 0.2}" fill="${hex()}"/>`);
    else shapes.push(`<rect x="${x}" y="${y}" width="${20 + r() * width * 0.4}" height="${10 + r() * 60}" fill="${hex()}" transform="rotate(${Math.floor(r() * 90)} ${x} ${y})"/>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="${background ?? hex()}"/>${shapes.join('')}</svg>`;
  const img = sharp(Buffer.from(svg));
  return format === 'png' ? img.png().toBuffer() : img.jpeg({ quality: 90 }).toBuffer();
}

/** One image to put in a test project. */
export interface SeedImage {
  name: string;
  seed: number;
  tags?: string[];
  caption?: string;
  width?: number;
  height?: number;
  background?: string;
}

/** Write the images under `dir` and create a project holding them (through the real tools). */
export async function makeProject(
  app: App,
  dir: string,
  spec: { name: string; asset_type?: string; base_model?: string; trigger_word?: string; coins?: string[] },
  images: SeedImage[],
): Promise<{ lora_id: string; image_ids: string[] }> {
  mkdirSync(dir, { recursive: true });
  const created = await app.tools.execute(
    'lora_create',
    { name: spec.name, base_model: spec.base_model ?? 'flux', asset_type: spec.asset_type ?? 'character', trigger_word: spec.trigger_word ?? 'zxq', ...(spec.coins ? { coins: spec.coins } : {}) },
    app.context(),
  );
  if (!created.success) throw new Error(`lora_create failed: ${created.reasoning}`);
  const loraId = (created.data as { lora_id: string }).lora_id;
  const items = [];
  for (const im of images) {
    const path = join(dir, im.name);
    writeFileSync(path, await syntheticImage(im.seed, im.width, im.height, im.name.endsWith('.jpg') ? 'jpeg' : 'png', im.background));
    items.push({ path, ...(im.tags ? { tags: im.tags } : {}), ...(im.caption ? { caption: im.caption } : {}) });
  }
  const up = await app.tools.execute('lora_upload_images', { lora_id: loraId, images: items }, app.context());
  if (!up.success) throw new Error(`upload failed: ${up.reasoning}`);
  const results = (up.data as { results: Array<{ ok: boolean; image_id?: string; error?: string }> }).results;
  const bad = results.filter((x) => !x.ok);
  if (bad.length) throw new Error(`upload refused: ${bad.map((b) => b.error).join('; ')}`);
  return { lora_id: loraId, image_ids: results.map((x) => x.image_id as string) };
}
