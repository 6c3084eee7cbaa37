/**
 * Shared set-up for training tests: a real app on a temp home, a LoRA project with real (small, distinct)
 * images uploaded through lora_upload_images, and the kohya stand-in command line.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { App } from '../../../src/app.js';
import type { CommandResult } from '../../../src/core/result.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '../../..');
/** LORALOOP_KOHYA_CMD for the stand-in, with an absolute script path (the child's cwd is not the repo's). */
export const KOHYA_STANDIN_CMD = `node --import tsx ${JSON.stringify(path.join(REPO_ROOT, 'tests/support/kohya-standin.ts'))}`;

export async function call<T = Record<string, unknown>>(app: App, tool: string, input: unknown): Promise<CommandResult<T>> {
  return (await app.tools.execute(tool, input, app.context())) as CommandResult<T>;
}

export async function callOk<T = Record<string, unknown>>(app: App, tool: string, input: unknown): Promise<T> {
  const r = await call<T>(app, tool, input);
  if (!r.success) throw new Error(`${tool} failed: ${r.reasoning}`);
  return r.data;
}

/** A project with `images` distinct captioned images; categories are assigned round-robin when given. */
export async function seedProject(
  app: App,
  opts: { name: string; base_model: 'flux' | 'sdxl' | 'sd15'; images: number; categories?: string[]; trigger?: string },
): Promise<string> {
  const created = await callOk<{ lora_id: string }>(app, 'lora_create', {
    name: opts.name,
    base_model: opts.base_model,
    asset_type: 'logo',
    trigger_word: opts.trigger ?? 'sks brand',
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'loraloop-train-img-'));
  const images = [];
  for (let i = 0; i < opts.images; i++) {
    const file = path.join(dir, `logo-${i}.png`);
    const png = await sharp({ create: { width: 96, height: 96, channels: 3, background: { r: (i * 53) % 256, g: (i * 97 + 40) % 256, b: (i * 151 + 90) % 256 } } })
      .png()
      .toBuffer();
    writeFileSync(file, png);
    const category = opts.categories?.[i % opts.categories.length];
    images.push({ path: file, caption: `a flat brand logo, variant ${i}, on a plain background`, ...(category ? { categories: [category] } : {}) });
  }
  const up = await callOk<{ results: Array<{ ok: boolean; error?: string }> }>(app, 'lora_upload_images', { lora_id: created.lora_id, images });
  const bad = up.results.filter((r) => !r.ok);
  if (bad.length) throw new Error(`upload failed: ${bad.map((b) => b.error).join('; ')}`);
  return created.lora_id;
}

/** Wait until `check` is true (polling), or throw after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
