/**
 * The ComfyUI backend against the emulator: nothing of ours is mocked; every request crosses real HTTP and
 * WebSocket connections.
 */
import { afterEach, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { createComfyBackend, inferBaseModel, type ComfyBackendOptions } from '../../../../src/cover/backends/comfyui/backend.js';
import { LoraloopError } from '../../../../src/core/errors.js';
import type { GenerateRequest } from '../../../../src/cover/backends/types.js';
import { startComfyEmulator, type ComfyEmulator, type ComfyEmulatorOptions, type EmulatedWorkflow } from '../../../emulators/comfyui.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(emuOpts: ComfyEmulatorOptions = {}, backendOpts: Partial<ComfyBackendOptions> = {}) {
  const emu = await startComfyEmulator({ stepMs: 1, ...emuOpts });
  const backend = createComfyBackend({ baseUrl: emu.url, pollIntervalMs: 20, ...backendOpts });
  cleanups.push(() => emu.close(), () => backend.client.close());
  return { emu, backend };
}

const req = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({ prompt: 'a solana coin on a desk', width: 96, height: 64, seed: 1234, ...over });

async function rejection(p: Promise<unknown>): Promise<LoraloopError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof LoraloopError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

const byClass = (wf: EmulatedWorkflow, cls: string): Array<[string, EmulatedWorkflow[string]]> =>
  Object.entries(wf).filter(([, n]) => n.class_type === cls);
const lastPrompt = (emu: ComfyEmulator): EmulatedWorkflow => {
  const r = emu.state.received.at(-1);
  if (!r) throw new Error('nothing was queued');
  return r.prompt;
};

describe('ComfyUI backend', () => {
  it('generates SDXL with two chained LoRAs: graph, links, progress, PNG', async () => {
    const { emu, backend } = await setup();
    const progress: Array<{ value: number; max: number }> = [];
    const out = await backend.generate(
      req({
        checkpoint: 'sd_xl_base_1.0',
        loras: [
          { name: 'solana_v2', strength: 0.9 },
          { name: 'style_flat.safetensors', strength: 0.4 },
        ],
        negativePrompt: 'blurry',
        steps: 6,
        onProgress: (p) => progress.push(p),
      }),
    );

    expect(out.warnings).toEqual([]);
    expect(out.images).toHaveLength(1);
    const img = out.images[0];
    expect(await sharp(img?.png).metadata()).toMatchObject({ format: 'png', width: 96, height: 64 });
    expect(img?.meta).toMatchObject({ provider: 'comfyui', baseModel: 'sdxl', checkpoint: 'sd_xl_base_1.0.safetensors', seed: 1234, steps: 6 });
    expect(progress.map((p) => p.value)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(progress.every((p) => p.max === 6)).toBe(true);

    const received = emu.state.received[0];
    expect(received?.clientId).toBe(backend.client.clientId);
    const wf = lastPrompt(emu);
    const [[ckpt, ckptNode]] = byClass(wf, 'CheckpointLoaderSimple') as [[string, EmulatedWorkflow[string]]];
    expect(ckptNode.inputs.ckpt_name).toBe('sd_xl_base_1.0.safetensors');
    const loras = byClass(wf, 'LoraLoader');
    expect(loras).toHaveLength(2);
    const [[l1, n1], [l2, n2]] = loras as [[string, EmulatedWorkflow[string]], [string, EmulatedWorkflow[string]]];
    // names come back in the server's spelling, chained MODEL (0) and CLIP (1)
    expect(n1.inputs).toEqual({ model: [ckpt, 0], clip: [ckpt, 1], lora_name: 'brand/solana_v2.safetensors', strength_model: 0.9, strength_clip: 0.9 });
    expect(n2.inputs).toEqual({ model: [l1, 0], clip: [l1, 1], lora_name: 'style_flat.safetensors', strength_model: 0.4, strength_clip: 0.4 });
    const encoders = byClass(wf, 'CLIPTextEncode');
    expect(encoders.map(([, n]) => n.inputs)).toEqual([
      { text: 'a solana coin on a desk', clip: [l2, 1] },
      { text: 'blurry', clip: [l2, 1] },
    ]);
    const [[, ks]] = byClass(wf, 'KSampler') as [[string, EmulatedWorkflow[string]]];
    expect(ks.inputs).toMatchObject({ model: [l2, 0], seed: 1234, steps: 6, sampler_name: 'dpmpp_2m', scheduler: 'karras', positive: [encoders[0]?.[0], 0], negative: [encoders[1]?.[0], 0] });
    const [[latent, latentNode]] = byClass(wf, 'EmptyLatentImage') as [[string, EmulatedWorkflow[string]]];
    expect(latentNode.inputs).toEqual({ width: 96, height: 64, batch_size: 1 });
    expect(ks.inputs.latent_image).toEqual([latent, 0]);
    const [[decode, dec]] = byClass(wf, 'VAEDecode') as [[string, EmulatedWorkflow[string]]];
    expect(dec.inputs.vae).toEqual([ckpt, 2]);
    expect(byClass(wf, 'SaveImage')[0]?.[1].inputs.images).toEqual([decode, 0]);
    expect(Object.keys(wf)).toHaveLength(9);
  });

  it('gives different pixels for different seeds and LoRA sets', async () => {
    const { backend } = await setup();
    const a = await backend.generate(req({ checkpoint: 'v1-5-pruned-emaonly', seed: 1 }));
    const b = await backend.generate(req({ checkpoint: 'v1-5-pruned-emaonly', seed: 2 }));
    const c = await backend.generate(req({ checkpoint: 'v1-5-pruned-emaonly', seed: 1, loras: [{ name: 'bitcoin', strength: 1 }] }));
    const raw = (png: Buffer | undefined): Promise<Buffer> => sharp(png).raw().toBuffer();
    const [ra, rb, rc] = await Promise.all([raw(a.images[0]?.png), raw(b.images[0]?.png), raw(c.images[0]?.png)]);
    expect(ra.equals(rb)).toBe(false);
    expect(ra.equals(rc)).toBe(false);
    expect(a.images[0]?.meta.baseModel).toBe('sd15');
  });

  it('builds FLUX with LoraLoaderModelOnly and FluxGuidance, from a checkpoint or a bare diffusion model', async () => {
    const { emu, backend } = await setup();
    const out = await backend.generate(req({ checkpoint: 'flux1-dev-fp8.safetensors', loras: [{ name: 'solana_v2', strength: 1 }, { name: 'bitcoin', strength: 0.5 }], negativePrompt: 'ugly' }));
    expect(out.warnings.join(' ')).toContain('FLUX ignores the negative prompt');
    let wf = lastPrompt(emu);
    expect(byClass(wf, 'LoraLoader')).toEqual([]);
    const mo = byClass(wf, 'LoraLoaderModelOnly');
    expect(mo.map(([, n]) => n.inputs)).toEqual([
      { model: ['1', 0], lora_name: 'brand/solana_v2.safetensors', strength_model: 1 },
      { model: [mo[0]?.[0], 0], lora_name: 'brand/bitcoin.safetensors', strength_model: 0.5 },
    ]);
    // text encoders read CLIP straight from the checkpoint: model-only LoRAs leave it alone
    expect(byClass(wf, 'CLIPTextEncode').every(([, n]) => JSON.stringify(n.inputs.clip) === '["1",1]')).toBe(true);
    const [[g, guidance]] = byClass(wf, 'FluxGuidance') as [[string, EmulatedWorkflow[string]]];
    expect(guidance.inputs.guidance).toBe(3.5);
    expect(byClass(wf, 'KSampler')[0]?.[1].inputs).toMatchObject({ model: [mo[1]?.[0], 0], cfg: 1, sampler_name: 'euler', scheduler: 'simple', positive: [g, 0] });

    await backend.generate(req({ checkpoint: 'flux1-dev', loras: [{ name: 'style_flat', strength: 0.7 }] }));
    wf = lastPrompt(emu);
    expect(byClass(wf, 'CheckpointLoaderSimple')).toEqual([]);
    expect(byClass(wf, 'UNETLoader')[0]?.[1].inputs).toEqual({ unet_name: 'flux1-dev.safetensors', weight_dtype: 'default' });
    expect(byClass(wf, 'DualCLIPLoader')[0]?.[1].inputs).toEqual({ clip_name1: 'clip_l.safetensors', clip_name2: 't5xxl_fp8_e4m3fn.safetensors', type: 'flux' });
    expect(byClass(wf, 'VAELoader')[0]?.[1].inputs).toEqual({ vae_name: 'ae.safetensors' });
    expect(byClass(wf, 'LoraLoaderModelOnly')[0]?.[1].inputs.model).toEqual([byClass(wf, 'UNETLoader')[0]?.[0], 0]);
  });

  it('refuses names the server lacks before queueing anything, listing what it has', async () => {
    const { emu, backend } = await setup();
    const e = await rejection(backend.generate(req({ checkpoint: 'dreamshaper_8.safetensors' })));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toBe(
      `ComfyUI at ${emu.url} has no checkpoint "dreamshaper_8.safetensors". It has: sd_xl_base_1.0.safetensors, v1-5-pruned-emaonly.safetensors, flux1-dev-fp8.safetensors.`,
    );
    const l = await rejection(backend.generate(req({ checkpoint: 'sd_xl_base_1.0.safetensors', loras: [{ name: 'ethereum', strength: 1 }] })));
    expect(l.message).toContain('has no LoRA "ethereum". It has: brand/solana_v2.safetensors, brand/bitcoin.safetensors, style_flat.safetensors.');
    const s = await rejection(backend.generate(req({ checkpoint: 'sd_xl_base_1.0.safetensors', sampler: 'dpm++ 2m' })));
    expect(s.message).toContain('has no sampler "dpm++ 2m". It has: euler, euler_cfg_pp');
    const seed = await rejection(backend.generate(req({ seed: 2 ** 53 })));
    expect(seed.code).toBe('INVALID_INPUT');
    expect(emu.state.requests.filter((r) => r.method === 'POST')).toEqual([]);
    expect(emu.state.received).toEqual([]);
  });

  it('works with V3 combo shapes', async () => {
    const { emu, backend } = await setup({ comboShape: 'v3', checkpoints: ['xl/juggernaut.safetensors'], loras: ['x\\brand.safetensors'] });
    expect(await backend.client.listLoras()).toEqual(['x\\brand.safetensors']);
    expect((await backend.client.samplers()).schedulers).toContain('karras');
    const out = await backend.generate(req({ checkpoint: 'juggernaut', loras: [{ name: 'x/brand.safetensors', strength: 1 }], sampler: 'euler', scheduler: 'normal' }));
    expect(out.images).toHaveLength(1);
    const wf = lastPrompt(emu);
    expect(byClass(wf, 'CheckpointLoaderSimple')[0]?.[1].inputs.ckpt_name).toBe('xl/juggernaut.safetensors');
    expect(byClass(wf, 'LoraLoader')[0]?.[1].inputs.lora_name).toBe('x\\brand.safetensors');
  });

  it('turns a 400 into a readable UPSTREAM_ERROR (the LoRA vanished after the names were cached)', async () => {
    const { emu, backend } = await setup();
    await backend.generate(req({ checkpoint: 'sd_xl_base_1.0', loras: [{ name: 'style_flat', strength: 1 }] }));
    emu.state.loras = ['brand/solana_v2.safetensors'];
    const e = await rejection(backend.generate(req({ seed: 5, checkpoint: 'sd_xl_base_1.0', loras: [{ name: 'style_flat', strength: 1 }] })));
    expect(e.code).toBe('UPSTREAM_ERROR');
    expect(e.message).toBe(
      "ComfyUI refused the workflow: Prompt outputs failed validation. Node 20 (LoraLoader): Value not in list: lora_name: 'style_flat.safetensors' not in ['brand/solana_v2.safetensors'].",
    );
  });

  it('falls back to polling /history when the WebSocket drops, and still returns the image', async () => {
    const { emu, backend } = await setup({ stepMs: 15 });
    emu.faults.dropWsAtStep = 2;
    const out = await backend.generate(req({ checkpoint: 'sd_xl_base_1.0', steps: 20 }));
    expect(out.images).toHaveLength(1);
    expect(await sharp(out.images[0]?.png).metadata()).toMatchObject({ width: 96, height: 64 });
    expect(out.warnings.join(' ')).toContain('the result was polled from /history');
    const id = emu.state.received[0]?.promptId;
    expect(emu.state.requests.filter((r) => r.path === `/history/${id}`).length).toBeGreaterThan(2);
    expect(emu.faults.refuseWebSockets).toBe(true);
  });

  it('surfaces the exception of a failing node', async () => {
    const { emu, backend } = await setup();
    emu.faults.executionError = { classType: 'KSampler', exceptionType: 'torch.OutOfMemoryError', message: 'CUDA out of memory. Tried to allocate 2.00 GiB' };
    const e = await rejection(backend.generate(req({ checkpoint: 'sd_xl_base_1.0' })));
    expect(e.code).toBe('JOB_FAILED');
    expect(e.message).toBe(`ComfyUI at ${emu.url} failed on node 7 (KSampler): torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB`);
  });

  it('interrupts the prompt on abort', async () => {
    const { emu, backend } = await setup({ stepMs: 20 });
    const ac = new AbortController();
    const e = await rejection(
      backend.generate(req({ checkpoint: 'sd_xl_base_1.0', steps: 200, abortSignal: ac.signal, onProgress: (p) => p.value === 2 && ac.abort() })),
    );
    expect(e.code).toBe('CANCELED');
    const id = emu.state.received[0]?.promptId;
    expect(emu.state.interrupts).toEqual([{ promptId: id, hit: true }]);
    await expect.poll(() => emu.state.history.get(id as string)?.status.messages.at(-1)?.[0]).toBe('execution_interrupted');
  });

  it('removes a still-pending prompt from the queue on abort', async () => {
    const { emu, backend } = await setup({ stepMs: 20 });
    const ac1 = new AbortController();
    const first = backend.generate(req({ checkpoint: 'sd_xl_base_1.0', steps: 500, abortSignal: ac1.signal }));
    const ac2 = new AbortController();
    const second = backend.generate(req({ seed: 9, checkpoint: 'sd_xl_base_1.0', steps: 10, abortSignal: ac2.signal }));
    await expect.poll(() => emu.state.pending().length).toBe(1);
    const [firstId, secondId] = emu.state.received.map((r) => r.promptId);
    ac2.abort();
    expect((await rejection(second)).code).toBe('CANCELED');
    expect(emu.state.pending()).toEqual([]);
    expect(emu.state.running()).toBe(firstId);
    expect(emu.state.interrupts).toEqual([{ promptId: secondId, hit: false }]);
    ac1.abort();
    expect((await rejection(first)).code).toBe('CANCELED');
    expect(emu.state.history.has(secondId as string)).toBe(false);
  });

  it('fails fast with UPSTREAM_UNREACHABLE when the server dies mid-job', async () => {
    const { emu, backend } = await setup({ stepMs: 10 });
    emu.faults.downAtStep = 2;
    const e = await rejection(backend.generate(req({ checkpoint: 'sd_xl_base_1.0', steps: 20 })));
    expect(e.code).toBe('UPSTREAM_UNREACHABLE');
    expect(e.message).toContain(`Lost ComfyUI at ${emu.url} while prompt`);
  });

  it('warns instead of failing for options it adjusts', async () => {
    const { backend } = await setup();
    const out = await backend.generate(req({ width: 100, baseModel: 'sd15', providerOptions: { comfyui: { filenamePrefix: 'covers/x', hires: true }, replicate: { go_fast: true } } }));
    expect(out.warnings).toEqual([
      expect.stringContaining('providerOptions.comfyui.hires is not a ComfyUI option'),
      expect.stringContaining('No checkpoint was requested; used "v1-5-pruned-emaonly.safetensors"'),
      'width 100 is not a multiple of 8; used 96.',
    ]);
    expect(out.images[0]?.meta).toMatchObject({ subfolder: 'covers', filename: 'x_00001_.png' });
    expect(await sharp(out.images[0]?.png).metadata()).toMatchObject({ width: 96 });
  });
});

describe('inferBaseModel', () => {
  it('reads the family from common checkpoint names', () => {
    expect(['sd_xl_base_1.0.safetensors', 'juggernautXL_v9.safetensors', 'xl/juggernaut.safetensors', 'ponyDiffusionV6XL.safetensors'].map(inferBaseModel)).toEqual(['sdxl', 'sdxl', 'sdxl', 'sdxl']);
    expect(['flux1-dev-fp8.safetensors', 'v1-5-pruned-emaonly.safetensors', 'flexlora_pixel.safetensors'].map(inferBaseModel)).toEqual(['flux', 'sd15', 'sd15']);
  });
});
