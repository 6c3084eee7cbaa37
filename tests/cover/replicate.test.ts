/**
 * The Replicate image backend against the Replicate emulator, through the official client: trained LoRA
 * versions, the FLUX LoRA runner with a weights URL, Prefer: wait then polling, and the final states.
 */
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { LoraloopError } from '../../src/core/errors.js';
import { createReplicateBackend, type ReplicateBackendOptions } from '../../src/cover/backends/replicate.js';
import { createReplicateClient } from '../../src/clients/replicate.js';
import { startReplicateEmulator, type ReplicateEmulator, type ReplicateEmulatorOptions } from '../emulators/replicate.js';
import { makeTestApp } from '../support/app.js';
import { dataOf } from '../support/result.js';

const VERSION = 'a'.repeat(64);
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(emuOpts: ReplicateEmulatorOptions = {}, backendOpts: Partial<ReplicateBackendOptions> = {}) {
  const emu = await startReplicateEmulator({
    models: [
      { owner: 'loraloop', name: 'solana-lora', versions: [VERSION] },
      { owner: 'black-forest-labs', name: 'flux-dev-lora', official: true },
    ],
    ...emuOpts,
  });
  cleanups.push(() => emu.close());
  const client = createReplicateClient({ baseUrl: emu.url, apiKey: emu.token, retry: { sleep: async () => {} } });
  const backend = createReplicateBackend({
    client,
    pollIntervalMs: 5,
    waitSeconds: 1,
    resolveLora: async (name) =>
      name === 'solana-lora'
        ? { version: `loraloop/solana-lora:${VERSION}`, weights_url: null }
        : name === 'flat-style'
          ? { version: null, weights_url: 'https://example.invalid/flat.safetensors' }
          : undefined,
    ...backendOpts,
  });
  return { emu, backend };
}

const req = { prompt: 'SOLTOK, Solana (SOL) cryptocurrency, etf inflows', width: 1216, height: 640, seed: 42 };
const predictionBodies = (emu: ReplicateEmulator) => emu.state.predictions.map((p) => ({ model: p.model, version: p.version, input: p.input }));

async function rejection(p: Promise<unknown>): Promise<LoraloopError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof LoraloopError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('Replicate backend', () => {
  it('runs a trained LoRA version with lora_scale and a second LoRA as extra_lora, in sync mode', async () => {
    const { emu, backend } = await setup();
    const out = await backend.generate({
      ...req,
      loras: [
        { name: 'solana-lora', strength: 0.8 },
        { name: 'flat-style', strength: 0.55 },
      ],
    });
    const [p] = predictionBodies(emu);
    expect(p?.model).toBe('loraloop/solana-lora');
    expect(p?.version).toBe(VERSION);
    expect(p?.input).toMatchObject({ prompt: req.prompt, seed: 42, lora_scale: 0.8, extra_lora: 'https://example.invalid/flat.safetensors', extra_lora_scale: 0.55, width: 1216, height: 640 });
    const createReq = emu.state.requests.find((r) => r.method === 'POST' && r.path === '/v1/predictions');
    expect(createReq?.status).toBe(201);
    expect(out.images).toHaveLength(1);
    const meta = await sharp(out.images[0]!.png).metadata();
    expect(meta).toMatchObject({ format: 'png', width: 1216, height: 640 });
    expect(out.images[0]!.meta).toMatchObject({ provider: 'replicate', checkpoint: `loraloop/solana-lora:${VERSION}` });
  });

  it('runs a weights-only LoRA on the FLUX LoRA runner with lora_weights and lora_scale', async () => {
    const { emu, backend } = await setup();
    await backend.generate({ ...req, loras: [{ name: 'flat-style', strength: 0.6 }] });
    const [p] = predictionBodies(emu);
    expect(p?.model).toBe('black-forest-labs/flux-dev-lora');
    expect(p?.input).toMatchObject({ lora_weights: 'https://example.invalid/flat.safetensors', lora_scale: 0.6 });
    expect(emu.state.requests.some((r) => r.method === 'POST' && r.path === '/v1/models/black-forest-labs/flux-dev-lora/predictions')).toBe(true);
  });

  it('polls when Prefer: wait runs out, and downloads the output', async () => {
    const { emu, backend } = await setup({ predictionPlan: { syncCompletes: false, progressTicks: 2 } });
    const out = await backend.generate({ ...req, loras: [{ name: 'solana-lora', strength: 0.7 }] });
    expect(out.images).toHaveLength(1);
    const gets = emu.state.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/predictions/'));
    expect(gets.length).toBeGreaterThanOrEqual(3);
    expect(emu.state.requests.find((r) => r.method === 'POST' && r.path === '/v1/predictions')?.status).toBe(202);
    expect(emu.state.predictions[0]?.status).toBe('succeeded');
  });

  it('treats failed, aborted and canceled as final', async () => {
    const { emu, backend } = await setup({ predictionPlan: { syncCompletes: false } });
    emu.plan('prediction', { outcome: 'failed', error: 'CUDA out of memory', syncCompletes: false });
    const failed = await rejection(backend.generate(req));
    expect(failed.code).toBe('JOB_FAILED');
    expect(failed.message).toContain('CUDA out of memory');

    emu.plan('prediction', { outcome: 'aborted', syncCompletes: false });
    const aborted = await rejection(backend.generate(req));
    expect(aborted.code).toBe('JOB_FAILED');
    expect(aborted.message).toContain('aborted');
    // It stopped polling at once: an aborted prediction is never polled again.
    const abortedId = emu.state.predictions[1]!.id;
    const polls = emu.state.requests.filter((r) => r.path === `/v1/predictions/${abortedId}`).length;
    expect(polls).toBeLessThanOrEqual(1);
  });

  it('cancels the prediction when the caller aborts', async () => {
    const { emu, backend } = await setup({ drive: { by: 'manual' }, predictionPlan: { syncCompletes: false } });
    const ctl = new AbortController();
    const p = backend.generate({ ...req, abortSignal: ctl.signal });
    while (emu.state.predictions.length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 30));
    ctl.abort();
    const err = await rejection(p);
    expect(err.code).toBe('CANCELED');
    expect(emu.state.predictions[0]?.status).toBe('canceled');
    expect(emu.state.requests.some((r) => r.method === 'POST' && r.path.endsWith('/cancel'))).toBe(true);
  });

  it('refuses a LoRA that has no Replicate version or weights, before any request', async () => {
    const { emu, backend } = await setup();
    const err = await rejection(backend.generate({ ...req, loras: [{ name: 'unknown-lora', strength: 0.8 }] }));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain('unknown-lora');
    expect(emu.state.predictions).toHaveLength(0);
  });
});

describe('cover_generate on Replicate', () => {
  it('uses the coin LoRA\'s trained version, puts its trigger word in the prompt, and composites the correct logo', async () => {
    const emu = await startReplicateEmulator({ models: [{ owner: 'loraloop', name: 'solana-lora', versions: [VERSION] }, { owner: 'black-forest-labs', name: 'flux-dev-lora', official: true }] });
    cleanups.push(() => emu.close());
    const t = makeTestApp({ REPLICATE_API_TOKEN: emu.token, REPLICATE_BASE_URL: emu.url }, { generationOptions: { backends: { replicate: { pollIntervalMs: 5 } } } });
    cleanups.push(t.dispose);
    const s = t.app.services;
    const lora = await s.store.loras.create({ name: 'solana-lora', base_model: 'flux', asset_type: 'coin', trigger_word: 'SOLTOK', coins: ['SOL'] });
    const v = await s.store.loras.addVersion({ lora_id: lora.id, status: 'ready', file_sha256: null, file_path: null, file_bytes: null, inspection: null, params: {}, job_id: null, backend: 'replicate', remote_version: `loraloop/solana-lora:${VERSION}`, weights_url: null });
    await s.store.loras.update(lora.id, { active_version: v.version, default_strength: 0.9, status: 'ready' });

    const r = await t.app.tools.execute('cover_generate', { title: 'Solana ETF inflows hit $1B', backend: 'replicate', seed: 5 }, t.app.context());
    expect(r.success, r.reasoning).toBe(true);
    const d = dataOf(r) as { logo: { symbol: string } | null; loras: Array<{ name: string; strength: number }>; prompt: string; backend: string; raw: boolean; path: string };
    expect(d.backend).toBe('replicate');
    expect(d.raw).toBe(false);
    expect(d.logo?.symbol).toBe('SOL');
    expect(d.loras).toEqual([{ name: 'solana-lora', strength: 0.9 }]);
    expect(d.prompt.startsWith('SOLTOK, Solana (SOL) cryptocurrency')).toBe(true);
    expect(emu.state.predictions[0]?.input).toMatchObject({ prompt: d.prompt, lora_scale: 0.9 });
    expect((await sharp(d.path).metadata()).width).toBe(1200);
  });

  it('names REPLICATE_API_TOKEN when Replicate is not configured', async () => {
    const t = makeTestApp();
    cleanups.push(t.dispose);
    const r = await t.app.tools.execute('cover_generate', { title: 'Bitcoin slides', backend: 'replicate' }, t.app.context());
    expect(r.success).toBe(false);
    expect(r.reasoning).toContain('REPLICATE_API_TOKEN');
  });
});
