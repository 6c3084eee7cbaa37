/**
 * loraloop's ComfyUI client and backend against the answers real ComfyUI 0.3.64 gave (tests/fixtures/real-upstream),
 * replayed over real HTTP and WebSocket connections by tests/support/comfy-replay.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createComfyBackend } from '../../../../src/cover/backends/comfyui/backend.js';
import { formatNodeErrors } from '../../../../src/cover/backends/comfyui/node-errors.js';
import { comboOptions, ObjectInfoSchema } from '../../../../src/cover/backends/comfyui/object-info.js';
import {
  ExecutionErrorSchema,
  ExecutionInterruptedSchema,
  HistoryAnswerSchema,
  ProgressSchema,
  WsEventSchema,
} from '../../../../src/cover/backends/comfyui/wire.js';
import type { ComfyWorkflow } from '../../../../src/cover/backends/comfyui/workflow.js';
import { LoraloopError } from '../../../../src/core/errors.js';
import type { GenerateRequest } from '../../../../src/cover/backends/types.js';
import { startComfyReplay, type ComfyReplay } from '../../../support/comfy-replay.js';
import { realJson, sd15 } from '../../../support/real-upstream.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function replay(script: string[], phase: 'pre' | 'post' = 'pre') {
  const server = await startComfyReplay({ script, phase });
  const backend = createComfyBackend({ baseUrl: server.url, pollIntervalMs: 20, safetyPollMs: 50 });
  cleanups.push(() => server.close(), () => backend.client.close());
  return { server, backend, client: backend.client };
}

async function rejection(p: Promise<unknown>): Promise<LoraloopError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof LoraloopError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

/** The request the recording's probe made (its workflow is in history.json). */
const probeRequest = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({
  prompt: 'prbtrig, a probe image',
  negativePrompt: 'blurry',
  width: 64,
  height: 64,
  seed: 42,
  steps: 2,
  cfg: 7,
  sampler: 'euler',
  scheduler: 'normal',
  checkpoint: 'random_sd15.safetensors',
  ...over,
});

const recordedWorkflow = (file: string): ComfyWorkflow => {
  const h = realJson<Record<string, { prompt: [number, string, ComfyWorkflow] }>>(`comfyui-0.3.64-sd15/${file}`);
  const entry = Object.values(h)[0];
  if (!entry) throw new Error(`no entry in ${file}`);
  return entry.prompt[2];
};

const lastPosted = (server: ComfyReplay): ComfyWorkflow => {
  const r = server.requests.filter((q) => q.method === 'POST' && q.path === '/prompt').at(-1);
  return (r?.body as { prompt: ComfyWorkflow }).prompt;
};

describe('ComfyUI client on the real /object_info (376 classes, V1 list combos)', () => {
  it('parses it and finds checkpoints, LoRAs, samplers, schedulers and the FLUX loaders', async () => {
    const { client } = await replay([]);
    const info = ObjectInfoSchema.parse(sd15.objectInfo());
    expect(Object.keys(info)).toHaveLength(376);
    expect(await client.listCheckpoints()).toEqual(['random_sd15.safetensors']);
    expect(await client.listLoras()).toEqual(['broken.safetensors']);
    const { samplers, schedulers } = await client.samplers();
    expect(samplers).toHaveLength(42);
    expect(schedulers).toEqual(expect.arrayContaining(['simple', 'karras', 'normal']));
    // What a FLUX generation needs from the server, in the real shapes.
    expect(Object.keys(await client.objectInfo('FluxGuidance'))).toEqual(['FluxGuidance']);
    expect(comboOptions(info, 'DualCLIPLoader', 'type')).toContain('flux');
    expect(comboOptions(info, 'UNETLoader', 'weight_dtype')).toEqual(['default', 'fp8_e4m3fn', 'fp8_e4m3fn_fast', 'fp8_e5m2']);
    expect(comboOptions(info, 'VAELoader', 'vae_name')).toEqual(['pixel_space']);
    expect(await client.objectInfo('NoSuchNode')).toEqual({});
  });
});

describe('ComfyUI backend replaying real generations', () => {
  it('SD 1.5: sends the graph the real server ran, follows the real frames, returns the real PNG', async () => {
    const { server, backend } = await replay(['base']);
    const progress: Array<{ value: number; max: number }> = [];
    const out = await backend.generate(probeRequest({ onProgress: (p) => progress.push(p) }));
    expect(lastPosted(server)).toEqual(recordedWorkflow('history.json'));
    expect(progress).toEqual([{ value: 1, max: 2 }, { value: 2, max: 2 }]);
    expect(out.warnings).toEqual([]);
    expect(out.images).toHaveLength(1);
    expect(out.images[0]?.png.equals(sd15.basePng())).toBe(true);
    expect(out.images[0]?.meta).toMatchObject({ filename: 'loraloop_00001_.png', node: '9', sampler: 'euler', scheduler: 'normal' });
  });

  it('SD 1.5 with a trained LoRA: the LoraLoader chain the real server ran', async () => {
    const { server, backend } = await replay(['lora_quality'], 'post');
    const out = await backend.generate(probeRequest({ loras: [{ name: 'probe_quality', strength: 0.8 }] }));
    expect(lastPosted(server)).toEqual(recordedWorkflow('history_lora.json'));
    expect(out.images[0]?.meta).toMatchObject({ loras: [{ name: 'probe_quality.safetensors', strength: 0.8 }] });
  });

  it('a corrupt LoRA: the real execution_error becomes JOB_FAILED naming the node and the exception', async () => {
    const { backend } = await replay(['broken_lora']);
    const e = await rejection(backend.generate(probeRequest({ loras: [{ name: 'broken', strength: 0.8 }] })));
    expect(e.code).toBe('JOB_FAILED');
    expect(e.message).toMatch(/failed on node 20 \(LoraLoader\): safetensors\._safetensors_rust\.SafetensorError: Error while deserializing header: header too large$/);
  });

  it('an interrupted prompt: the real execution_interrupted history becomes CANCELED at KSampler', async () => {
    const { client } = await replay(['long_running']);
    const q = await client.queuePrompt(recordedWorkflow('history.json'));
    const e = await rejection(client.follow(q.promptId, { timeoutMs: 10_000 }));
    expect(e.code).toBe('CANCELED');
    expect(e.message).toBe(`ComfyUI at ${client.baseUrl} interrupted prompt ${q.promptId} at KSampler.`);
  });
});

describe('ComfyUI client on the real refusals', () => {
  const formatted = realJson<{ formatNodeErrors: Record<string, { status: number; formatted: string }> }>('loraloop_parsers_on_real_output.json.gz').formatNodeErrors;
  const refused = Object.entries(formatted).filter(([, v]) => v.status === 400);

  it.each(refused)('%s: UPSTREAM_ERROR with a sentence that says what to change', async (name, want) => {
    const script = name === 'no_prompt_key' ? 'no_prompt_key' : `bad_${name}`;
    const { client } = await replay([script]);
    const e = await rejection(client.queuePrompt(recordedWorkflow('history.json')));
    expect(e.code).toBe('UPSTREAM_ERROR');
    expect(e.message).toBe(want.formatted);
  });

  it('words the real seed and link errors the way the server does', () => {
    const body = (n: string) => sd15.httpNamed(`bad_${n}:post`).body;
    expect(formatNodeErrors(body('seed_too_large'))).toContain('Node 7 (KSampler): Value 18446744073709551616 bigger than max of 18446744073709551615: seed.');
    expect(formatNodeErrors(body('link_to_missing_node'))).toContain("Node 8 (VAEDecode): Exception when validating inner node: '77'.");
  });

  it('a body the server cannot read: its 500 text/plain answer is quoted', async () => {
    const { client } = await replay(['not_json']);
    const e = await rejection(client.queuePrompt(recordedWorkflow('history.json')));
    expect(e.code).toBe('UPSTREAM_ERROR');
    expect(e.message).toBe(`ComfyUI at ${client.baseUrl} answered 500 to POST prompt: 500 Internal Server Error\n\nServer got itself in trouble`);
  });

  it('uploads: the real answer parses', async () => {
    const { client } = await replay([]);
    expect(await client.uploadImage(sd15.basePng(), 'probe_upload.png')).toEqual({ name: 'probe_upload.png', subfolder: '', type: 'input' });
  });
});

describe('real WebSocket frames and histories', () => {
  it('every recorded frame parses, and progress / error / interrupt frames carry what the client reads', () => {
    const frames = [...sd15.frames('pre'), ...sd15.frames('post')];
    expect(frames.length).toBeGreaterThan(100);
    for (const f of frames) expect(WsEventSchema.safeParse(f.json).success).toBe(true);
    const of = (t: string) => frames.filter((f) => f.json.type === t).map((f) => f.json.data);
    expect(of('progress').every((d) => ProgressSchema.safeParse(d).success)).toBe(true);
    expect(ExecutionErrorSchema.parse(of('execution_error')[0])).toMatchObject({ node_id: '20', node_type: 'LoraLoader' });
    expect(ExecutionInterruptedSchema.parse(of('execution_interrupted')[0])).toMatchObject({ node_id: '7', node_type: 'KSampler' });
    // The real server ends a prompt with `executing` node null, after execution_success.
    const done = frames.filter((f) => f.json.type === 'executing' && f.json.data['node'] === null);
    expect(done.length).toBe(of('execution_success').length + of('execution_error').length + of('execution_interrupted').length);
  });

  it('every recorded history answer parses', () => {
    for (const h of sd15.http().filter((x) => x.path.startsWith('/history'))) expect(HistoryAnswerSchema.safeParse(h.body).success).toBe(true);
  });
});
