/**
 * Set-up for the nightly-run tests: a real app whose training backend is the Replicate emulator, a LoRA
 * project already trained once (v1 active, through lora_train against the emulator), and the evaluator.
 *
 * The evaluator is the production one (cover_generate + cover_critique through the tool registry) with its
 * `transform` seam standing in for a LoRA's effect on pixels: the local renderer ignores LoRA weights and the
 * emulator's LoRA is zeros, so a test says which version's covers come out blurred (`degraded`), and the real
 * critic's sharpness check then scores them lower. Nothing in the decision is scripted: the scores are the
 * critic's, measured on the images.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { App } from '../../../src/app.js';
import { createToolEvaluator } from '../../../src/agent/improve/evaluate.js';
import type { ImproveOptions } from '../../../src/agent/improve/types.js';
import type { CommandResult } from '../../../src/core/result.js';
import type { ReplicateEmulator } from '../../emulators/replicate.js';
import { makeTestApp } from '../../support/app.js';
import { storeFile } from '../../support/sqlite.js';

export async function call<T = Record<string, unknown>>(app: App, tool: string, input: unknown): Promise<CommandResult<T>> {
  return (await app.tools.execute(tool, input, app.context())) as CommandResult<T>;
}

export async function callOk<T = Record<string, unknown>>(app: App, tool: string, input: unknown): Promise<T> {
  const r = await call<T>(app, tool, input);
  if (!r.success) throw new Error(`${tool} failed: ${r.reasoning}`);
  return r.data;
}

/** Versions whose covers the evaluator blurs (the stand-in for a worse LoRA). */
export interface Degrade {
  versions: Set<number>;
}

export function testImproveOptions(degrade: Degrade, extra: Partial<ImproveOptions> = {}): ImproveOptions {
  return {
    // One headline per category keeps the suite at 3 prompts x 2 versions (path critiques take ~1 s each).
    promptsPerCategory: 1,
    evaluator: createToolEvaluator({
      // Blurred beyond doubt: a 6 px Gaussian left covers at a Laplacian variance of 40-203 (45 covers), close
      // enough to the critic's 250 that a high-contrast palette could pass; 10 px leaves 5-19.
      transform: async (png, subject) => (degrade.versions.has(subject.version.version) ? sharp(png).blur(10).png().toBuffer() : png),
    }),
    ...extra,
  };
}

export function replicateEnv(emu: ReplicateEmulator, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REPLICATE_API_TOKEN: emu.token,
    REPLICATE_BASE_URL: emu.url,
    LORALOOP_REPLICATE_DESTINATION: `${emu.account}/brand-loras`,
    ...extra,
  };
}

export const TRAINING_OPTIONS = { pollIntervalMs: 20, leaseTtlMs: 1500, scanIntervalMs: 300 };

export function improveApp(emu: ReplicateEmulator, degrade: Degrade, env: Record<string, string> = {}, extra: Partial<ImproveOptions> = {}): { app: App; home: string; dispose: () => Promise<void> } {
  return makeTestApp(replicateEnv(emu, env), { trainingOptions: TRAINING_OPTIONS, improveOptions: testImproveOptions(degrade, extra) });
}

let imageCounter = 0;
/** `n` distinct small PNG files (distinct pixels, so no duplicate refusal). */
export async function pngFiles(n: number): Promise<string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'loraloop-improve-img-'));
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = imageCounter++;
    const file = path.join(dir, `sol-${k}.png`);
    const png = await sharp({ create: { width: 96, height: 96, channels: 3, background: { r: (k * 53) % 256, g: (k * 97 + 40) % 256, b: (k * 151 + 90) % 256 } } })
      .png()
      .toBuffer();
    writeFileSync(file, png);
    out.push(file);
  }
  return out;
}

export async function upload(app: App, loraId: string, n: number): Promise<void> {
  const files = await pngFiles(n);
  const r = await callOk<{ results: Array<{ ok: boolean; error?: string }> }>(app, 'lora_upload_images', {
    lora_id: loraId,
    images: files.map((f, i) => ({ path: f, caption: `sks solana, a solana news picture number ${i}` })),
  });
  const bad = r.results.filter((x) => !x.ok);
  if (bad.length) throw new Error(bad.map((b) => b.error).join('; '));
}

/** A SOL cover project with `images` images, trained once on the emulator: v1 is active. */
export async function trainedProject(app: App, name = 'sol-covers', images = 3): Promise<string> {
  const { lora_id } = await callOk<{ lora_id: string }>(app, 'lora_create', { name, base_model: 'flux', asset_type: 'cover', trigger_word: 'sks solana', coins: ['SOL'] });
  await upload(app, lora_id, images);
  const t = await callOk<{ job_id: string }>(app, 'lora_train', { lora_id, backend: 'replicate' });
  const st = await callOk<{ status: string; version: number }>(app, 'lora_status', { job_id: t.job_id, wait_seconds: 60 });
  if (st.status !== 'ready') throw new Error(`v1 training ended ${st.status}`);
  return lora_id;
}

/** Every row of every table: a dry run must leave this unchanged. */
export function dumpDb(app: App): Record<string, unknown[]> {
  const db = storeFile(app.services.config.home);
  const pg = db.dialect === 'postgres';
  const tables = db
    .prepare(pg ? `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1` : `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
    .all() as Array<{ name: string }>;
  // Insertion order: SQLite's rowid, PostgreSQL's seq column (schema_migrations has neither there: its id).
  const order = (t: string) => (!pg ? 'rowid' : t === 'schema_migrations' ? 'id' : 'seq');
  return Object.fromEntries(tables.map((t) => [t.name, db.prepare(`SELECT * FROM "${t.name}" ORDER BY ${order(t.name)}`).all()]));
}

export interface RunData {
  run_id: string | null;
  dry_run: boolean;
  resumed: boolean;
  new_images: number;
  new_ratings: number;
  feeds: Array<{ source: string; added: number; would_add: number; error: string | null }>;
  loras: Array<{
    lora_id: string;
    name: string;
    outcome: string;
    reason: string;
    positives_added: number;
    negatives_excluded: number;
    gaps: unknown[];
    change: { changed: number; threshold: number } | null;
    job_id: string | null;
    current_version: number | null;
    candidate_version: number | null;
    verdict: { promote: boolean; evaluated: boolean; current: number; candidate: number; delta: number } | null;
    samples: Array<{ role: string; score: number; path: string | null; applied: boolean }>;
  }>;
  report_path: string | null;
}
