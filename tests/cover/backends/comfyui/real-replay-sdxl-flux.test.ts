/**
 * loraloop's ComfyUI backend against what real ComfyUI 0.3.64 answered with random-weight, full-size SDXL and
 * FLUX.1-dev files (tests/fixtures/real-upstream/comfyui-0.3.64-sdxl-flux): SDXL through CheckpointLoaderSimple with
 * one and two chained LoraLoaders, FLUX through UNETLoader + DualCLIPLoader + VAELoader + FluxGuidance with a
 * LoraLoaderModelOnly, replayed over real HTTP and WebSocket connections.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createComfyBackend } from '../../../../src/cover/backends/comfyui/backend.js';
import { formatNodeErrors } from '../../../../src/cover/backends/comfyui/node-errors.js';
import { HistoryAnswerSchema, ProgressSchema, WsEventSchema } from '../../../../src/cover/backends/comfyui/wire.js';
import type { ComfyWorkflow } from '../../../../src/cover/backends/comfyui/workflow.js';
import type { GenerateRequest } from '../../../../src/cover/backends/types.js';
import { startComfyReplay, type ComfyReplay } from '../../../support/comfy-replay.js';
import { realText, sdxlFlux } from '../../../support/real-upstream.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function replay(script: string[]) {
  const server = await startComfyReplay({ script, recording: 'sdxl-flux' });
  const backend = createComfyBackend({ baseUrl: server.url, pollIntervalMs: 20, safetyPollMs: 50 });
  cleanups.push(() => server.close(), () => backend.client.close());
  return { server, backend };
}

const lastPosted = (server: ComfyReplay): ComfyWorkflow => {
  const r = server.requests.filter((q) => q.method === 'POST' && q.path === '/prompt').at(-1);
  return (r?.body as { prompt: ComfyWorkflow }).prompt;
};

/** The graph the real server ran for a recorded generation (its history entry). */
const ranOnServer = (name: string): ComfyWorkflow => {
  const body = sdxlFlux.httpNamed(`${name}:history`).body as Record<string, { prompt: [number, string, ComfyWorkflow] }>;
  const entry = Object.values(body)[0];
  if (!entry) throw new Error(`no history for ${name}`);
  return entry.prompt[2];
};

const classes = (wf: ComfyWorkflow): string[] => Object.values(wf).map((n) => n.class_type).sort();

describe('SDXL and FLUX.1 on real ComfyUI 0.3.64 (random full-size weights), replayed', () => {
  const requests = sdxlFlux.requests();

  it.each(['sdxl_lora', 'sdxl_two_loras', 'flux_lora', 'flux_plain'])('%s: loraloop sends the graph the real server ran and reads its answer', async (name) => {
    const rec = requests[name];
    if (!rec) throw new Error(`no recorded request ${name}`);
    const { server, backend } = await replay([name]);
    const progress: Array<{ value: number; max: number }> = [];
    const out = await backend.generate({ ...(rec.request as unknown as GenerateRequest), onProgress: (p) => progress.push(p) });
    expect(lastPosted(server)).toEqual(ranOnServer(name));
    expect(out.warnings).toEqual(rec.warnings);
    const steps = Number(rec.request['steps']);
    expect(progress).toEqual(Array.from({ length: steps }, (_, i) => ({ value: i + 1, max: steps })));
    expect(out.images).toHaveLength(1);
    expect(out.images[0]?.png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  });

  it('builds SDXL as one checkpoint with chained LoraLoaders, FLUX as the UNET trio with FluxGuidance and a model-only LoRA', () => {
    expect(classes(ranOnServer('sdxl_two_loras'))).toEqual(['CLIPTextEncode', 'CLIPTextEncode', 'CheckpointLoaderSimple', 'EmptyLatentImage', 'KSampler', 'LoraLoader', 'LoraLoader', 'SaveImage', 'VAEDecode']);
    const flux = ranOnServer('flux_lora');
    expect(classes(flux)).toEqual(['CLIPTextEncode', 'CLIPTextEncode', 'DualCLIPLoader', 'EmptyLatentImage', 'FluxGuidance', 'KSampler', 'LoraLoaderModelOnly', 'SaveImage', 'UNETLoader', 'VAEDecode', 'VAELoader']);
    // The real server ran it with the LoRA on the transformer: the FLUX graph's sampler takes the LoRA's model.
    expect(flux['7']?.inputs['model']).toEqual(['20', 0]);
    expect(flux['20']?.inputs).toMatchObject({ lora_name: 'random_flux_lora.safetensors', model: ['1', 0] });
  });

  it('a FLUX LoRA the server lacks: the real refusal becomes a sentence naming the node and the files it has', async () => {
    const { backend } = await replay(['flux_bad_lora_name']);
    const err = await backend.client.queuePrompt(ranOnServer('flux_lora')).then(() => undefined, (e: unknown) => e);
    expect((err as { code?: string }).code).toBe('UPSTREAM_ERROR');
    expect((err as Error).message).toBe(formatNodeErrors(sdxlFlux.httpNamed('flux_bad_lora_name:post').body));
    expect((err as Error).message).toBe(
      "ComfyUI refused the workflow: Prompt outputs failed validation. Node 20 (LoraLoaderModelOnly): Value not in list: lora_name: 'no_such_flux_lora.safetensors' not in ['random_flux_lora.safetensors', 'random_sdxl_lora.safetensors'].",
    );
  });

  it('every frame and history the real server sent parses; the LoRAs loaded with no unmatched keys', () => {
    const frames = sdxlFlux.frames();
    expect(frames.length).toBeGreaterThan(100);
    for (const f of frames) expect(WsEventSchema.safeParse(f.json).success).toBe(true);
    expect(frames.filter((f) => f.json.type === 'progress').every((f) => ProgressSchema.safeParse(f.json.data).success)).toBe(true);
    for (const h of sdxlFlux.http().filter((x) => x.path.startsWith('/history'))) expect(HistoryAnswerSchema.safeParse(h.body).success).toBe(true);
    const log = realText('comfyui-0.3.64-sdxl-flux/comfyui.log.gz');
    expect(log).toContain('model_type FLUX');
    expect(log).not.toMatch(/lora key not loaded/);
  });
});
