/**
 * cover_generate on ComfyUI (composition of the correct logo and title, raw images, LoRA names mapped to the
 * servers' files, refusals with the server's list), backends_status, and batches that return at once and
 * resume after their process is gone.
 */
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { createBatch, runBatch } from '../../src/cover/batch.js';
import { startComfyEmulator, type ComfyEmulator } from '../emulators/comfyui.js';
import { makeTestApp } from '../support/app.js';
import { storeFile } from '../support/sqlite.js';
import { dataOf } from '../support/result.js';

const CKPTS = ['beenyouLite_l15.safetensors', 'realisticVisionV60B1_v51VAE.safetensors', 'dreamshaper_8.safetensors'];
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function emulator(over: Parameters<typeof startComfyEmulator>[0] = {}): Promise<ComfyEmulator> {
  const e = await startComfyEmulator({ stepMs: 1, steps: 2, checkpoints: CKPTS, loras: ['brand/solana_v2.safetensors', 'style_flat.safetensors'], ...over });
  cleanups.push(() => e.close());
  return e;
}

function app(urls: string[]) {
  const t = makeTestApp(
    urls.length ? { COMFYUI_URLS: urls.join(',') } : {},
    { generationOptions: { seed: 1, backends: { comfy: { pollIntervalMs: 20, maxPollFailures: 2, requestTimeoutMs: 3000 } }, pool: { probeMs: 50, giveUpMs: 2000 } } },
  );
  cleanups.push(t.dispose);
  return t;
}

const ckptOf = (e: ComfyEmulator, i = -1) => Object.values(e.state.received.at(i)?.prompt ?? {}).find((n) => n.class_type === 'CheckpointLoaderSimple')?.inputs.ckpt_name;

describe('cover_generate on ComfyUI', () => {
  it('composes the correct logo and title on the server image; raw keeps the image as made', async () => {
    const e = await emulator();
    const { app: a } = app([e.url]);
    const r = await a.tools.execute('cover_generate', { title: 'Solana ETF inflows hit $1B', backend: 'comfyui', seed: 9, loras: [{ name: 'solana_v2', strength: 0.8 }] }, a.context());
    expect(r.success, r.reasoning).toBe(true);
    const d = dataOf(r) as { logo: { symbol: string } | null; checkpoint: string; loras: Array<{ name: string }>; raw: boolean; path: string; contrast: number | null; prompt: string; server: string };
    expect(d.logo?.symbol).toBe('SOL');
    expect(d.raw).toBe(false);
    expect(d.contrast).toBeGreaterThanOrEqual(4.5);
    expect(d.checkpoint).toBe('beenyouLite_l15.safetensors'); // first of the sd15_draft tier with no selection history
    expect(d.loras).toEqual([{ name: 'brand/solana_v2.safetensors', strength: 0.8 }]);
    expect(d.server).toBe(e.url);
    expect(d.prompt).toContain('Solana (SOL) cryptocurrency');
    const lora = Object.values(e.state.received.at(-1)!.prompt).find((n) => n.class_type === 'LoraLoader');
    expect(lora?.inputs).toMatchObject({ lora_name: 'brand/solana_v2.safetensors', strength_model: 0.8 });
    expect((await sharp(d.path).metadata()).width).toBe(1200);

    const raw = await a.tools.execute('cover_generate', { title: 'Solana ETF inflows hit $1B', backend: 'comfyui', seed: 9, raw: true, checkpoint: 'dreamshaper' }, a.context());
    expect(raw.success, raw.reasoning).toBe(true);
    const rd = dataOf(raw) as { logo: unknown; raw: boolean; path: string; text_box: unknown; checkpoint: string; width: number };
    expect(rd).toMatchObject({ logo: null, raw: true, text_box: null, checkpoint: 'dreamshaper_8.safetensors' });
    expect(ckptOf(e)).toBe('dreamshaper_8.safetensors');
    // The raw file is the server's picture, byte for byte.
    const out = [...e.state.files.entries()].find(([k]) => k.startsWith('output/'))?.[1];
    expect(out).toBeDefined();
    const rawMeta = await sharp(rd.path).metadata();
    expect(rawMeta.width).toBe(rd.width);
    expect(rawMeta.width).not.toBe(1200);
  });

  it('refuses an unknown checkpoint with the server\'s list; names COMFYUI_URLS when unset', async () => {
    const e = await emulator();
    const { app: a } = app([e.url]);
    const bad = await a.tools.execute('cover_generate', { title: 'Bitcoin slides', backend: 'comfyui', checkpoint: 'noSuchModel' }, a.context());
    expect(bad.success).toBe(false);
    expect(bad.reasoning).toContain('noSuchModel');
    expect(bad.reasoning).toContain('dreamshaper_8.safetensors');
    const { app: none } = app([]);
    const nc = await none.tools.execute('cover_generate', { title: 'Bitcoin slides', backend: 'comfyui' }, none.context());
    expect(nc.success).toBe(false);
    expect(nc.reasoning).toContain('COMFYUI_URLS');
  });
});

describe('backends_status', () => {
  it('reports each server: reachable with queue, checkpoints and LoRAs, or unreachable; unconfigured Replicate', async () => {
    const up = await emulator({ name: 'gpu-a' });
    const down = await emulator();
    await down.faults.goDown();
    const { app: a } = app([up.url, down.url]);
    const r = await a.tools.execute('backends_status', {}, a.context());
    expect(r.success, r.reasoning).toBe(true);
    const list = dataOf<{ backends: Array<{ backend: string; id: string; configured: boolean; reachable: boolean | null; queue_length: number | null; checkpoints: string[]; loras: string[]; device: string | null }> }>(r).backends;
    const u = list.find((b) => b.id === up.url);
    expect(u).toMatchObject({ backend: 'comfyui', configured: true, reachable: true, queue_length: 0, checkpoints: CKPTS });
    expect(u?.loras).toContain('brand/solana_v2.safetensors');
    expect(u?.device).toContain('gpu-a');
    expect(list.find((b) => b.id === down.url)).toMatchObject({ reachable: false, checkpoints: [] });
    expect(list.find((b) => b.backend === 'replicate')).toMatchObject({ configured: false, reachable: null });
    expect(list.find((b) => b.backend === 'local')).toMatchObject({ configured: true, reachable: true });
  });
});

describe('persistent batches', () => {
  it('returns at once when not waiting, and reports progress by batch_id', async () => {
    const e = await emulator();
    const { app: a } = app([e.url]);
    const r = await a.tools.execute('cover_batch', { title: 'Ethereum gas fees fall', count: 10, backend: 'comfyui' }, a.context());
    expect(r.success, r.reasoning).toBe(true);
    const d = dataOf(r) as { batch_id: string; status: string; progress: { done: number } };
    expect(d.status).toBe('running');
    expect(r.reasoning).toContain('batch_id');
    const later = await a.tools.execute('cover_batch', { batch_id: d.batch_id, wait: true }, a.context());
    expect(dataOf(later)).toMatchObject({ status: 'done', progress: { done: 10, total: 10, pending: 0 } });
    const job = await a.services.store.jobs.get(dataOf<{ job_id: string }>(later).job_id);
    expect(job?.status).toBe('succeeded');
    expect((job?.state as { done: number[] }).done).toHaveLength(10);
  });

  it('a restarted process makes only the drafts that were not done', async () => {
    const e = await emulator();
    const t = app([e.url]);
    const s = t.app.services;
    const planned = await createBatch(s, { title: 'XRP jumps after court ruling', count: 6, mode: 'explore', backend: 'comfyui', width: 1200, height: 630 });
    // The first process made drafts 1-3, then died (its lease lapsed).
    const first = await runBatch(s, planned.batch.id);
    expect(first.done).toBe(6);
    const drafts = await s.store.generation.listDrafts(planned.batch.id);
    storeFile(s.config.home).prepare("UPDATE drafts SET status = 'pending', cover_id = NULL, blob_path = NULL WHERE batch_id = ? AND idx >= 3").run(planned.batch.id);
    await s.store.generation.updateBatch(planned.batch.id, { status: 'running' });
    const jobId = planned.batch.job_id as string;
    // While another live process holds the lease, nothing is run twice: the call only reports.
    expect(await s.store.jobs.claim(jobId, 'other-process', 60_000)).toBe(true);
    const sent = e.state.received.length;
    const held = await t.app.tools.execute('cover_batch', { batch_id: planned.batch.id, wait: true }, t.app.context());
    expect(dataOf(held)).toMatchObject({ status: 'running', progress: { done: 3, pending: 3 } });
    expect(e.state.received.length).toBe(sent);
    // That process dies: its lease lapses, and the next call resumes the 3 drafts left.
    await s.store.jobs.release(jobId, 'other-process');
    expect(await s.store.jobs.claim(jobId, 'dead-process', 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 10));
    const r = await t.app.tools.execute('cover_batch', { batch_id: planned.batch.id, wait: true }, t.app.context());
    expect(dataOf(r)).toMatchObject({ status: 'done', progress: { done: 6 } });
    expect(e.state.received.length - sent).toBe(3);
    const after = await s.store.generation.listDrafts(planned.batch.id);
    for (const d of after.slice(0, 3)) expect(d.cover_id).toBe(drafts.find((x) => x.idx === d.idx)?.cover_id);
  });
});
