/**
 * cover_batch over three ComfyUI emulators of different speeds: drafts spread over checkpoints, every draft
 * delivered exactly once even when a server crashes mid-batch, a labelled contact sheet, resumable jobs.
 */
import { existsSync } from 'node:fs';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { startComfyEmulator, type ComfyEmulator } from '../emulators/comfyui.js';
import { makeTestApp } from '../support/app.js';
import { storeFile } from '../support/sqlite.js';
import { dataOf } from '../support/result.js';

const CHECKPOINTS = ['beenyouLite_l15.safetensors', 'realisticVisionV60B1_v51VAE.safetensors', 'dreamshaper_8.safetensors', 'sd_xl_base_1.0.safetensors'];
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function pool(stepMs: number[]): Promise<ComfyEmulator[]> {
  const emus = await Promise.all(stepMs.map((ms, i) => startComfyEmulator({ stepMs: ms, steps: 4, name: `gpu${i}`, checkpoints: CHECKPOINTS })));
  cleanups.push(() => Promise.all(emus.map((e) => e.close())));
  return emus;
}

function app(emus: ComfyEmulator[]) {
  const t = makeTestApp(
    { COMFYUI_URLS: emus.map((e) => e.url).join(',') },
    {
      generationOptions: {
        seed: 7,
        backends: { comfy: { pollIntervalMs: 20, maxPollFailures: 2, requestTimeoutMs: 5000, objectInfoTtlMs: 60_000 } },
        pool: { probeMs: 50, minTimeoutMs: 20_000, giveUpMs: 5000 },
      },
    },
  );
  cleanups.push(t.dispose);
  return t.app;
}

describe('cover_batch on the ComfyUI pool', () => {
  it('spreads 12 drafts 4/4/4 over the tier checkpoints, delivers each once although a server crashes mid-batch', async () => {
    const emus = await pool([2, 4, 8]);
    const a = app(emus);
    // The fastest server crashes while sampling its second prompt.
    let crashed = false;
    const fast = emus[0] as ComfyEmulator;
    const timer = setInterval(() => {
      if (!crashed && fast.state.received.length >= 2) {
        crashed = true;
        fast.faults.downAtStep = 2;
      }
    }, 2);
    cleanups.push(() => clearInterval(timer));
    const progress: number[] = [];
    const ctx = { ...a.context(), progress: (p: { progress: number }) => progress.push(p.progress) };
    const r = await a.tools.execute('cover_batch', { title: 'Solana rallies as ETF inflows hit $1B', count: 12, mode: 'explore', backend: 'comfyui', wait: true }, ctx);
    expect(r.success, r.reasoning).toBe(true);
    const data = dataOf(r) as {
      batch_id: string;
      status: string;
      gpu_distribution: Record<string, number>;
      checkpoint_distribution: Record<string, number>;
      drafts: Array<{ status: string; cover_id: string | null; checkpoint: string; server: string; path: string }>;
      contact_sheet: string | null;
      progress: { done: number; total: number };
    };
    expect(data.status).toBe('done');
    expect(data.progress).toMatchObject({ done: 12, total: 12 });
    expect(Object.values(data.checkpoint_distribution).sort()).toEqual([4, 4, 4]);
    expect(Object.keys(data.checkpoint_distribution).sort()).toEqual(CHECKPOINTS.slice(0, 3).sort());
    // Exactly once: 12 distinct covers stored for the batch, one per draft.
    const ids = data.drafts.map((d) => d.cover_id);
    expect(new Set(ids).size).toBe(12);
    const rows = storeFile(a.services.config.home).prepare('SELECT COUNT(*) AS n FROM covers WHERE batch_id = ?').get(data.batch_id) as { n: number };
    expect(rows.n).toBe(12);
    expect(Object.values(data.gpu_distribution).reduce((x, y) => x + y, 0)).toBe(12);
    expect(crashed).toBe(true);
    // The crashed server's interrupted draft was made elsewhere; the slower servers did the rest.
    expect((data.gpu_distribution[emus[1]!.url] ?? 0) + (data.gpu_distribution[emus[2]!.url] ?? 0)).toBeGreaterThan(0);
    // Each draft's checkpoint is what the server was asked for.
    const asked = emus.flatMap((e) => e.state.received.map((p) => Object.values(p.prompt).find((n) => n.class_type === 'CheckpointLoaderSimple')?.inputs.ckpt_name));
    for (const d of data.drafts) expect(asked).toContain(d.checkpoint);
    expect(data.contact_sheet).not.toBeNull();
    const meta = await sharp(data.contact_sheet as string).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(600);
    expect(progress.at(-1)).toBe(12);
    for (const d of data.drafts) expect(existsSync(d.path)).toBe(true);
  }, 60_000);
});
