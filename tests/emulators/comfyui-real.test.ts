/**
 * Holds the ComfyUI emulator to what real ComfyUI 0.3.64 answered (tests/fixtures/real-upstream): the same
 * requests get the same status, content type, error types, messages, details and extra_info; the node classes
 * loraloop uses have the same inputs, types, ranges and fixed vocabularies; a generation sends the frames a
 * client reads in the real order.
 *
 * The refused requests were not stored by the recording, only their names and answers; each is rebuilt here
 * from the recorded base workflow (history.json) with the one change its name and its answer's
 * `received_value` say.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createComfyBackend } from '../../src/cover/backends/comfyui/backend.js';
import { LoraloopError } from '../../src/core/errors.js';
import { realJson, sd15, sdxlFlux } from '../support/real-upstream.js';
import { startComfyEmulator, type ComfyEmulator, type EmulatedWorkflow } from './comfyui.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The emulator with the real server's model files. */
async function emulator(): Promise<ComfyEmulator> {
  const emu = await startComfyEmulator({ checkpoints: ['random_sd15.safetensors'], loras: ['broken.safetensors'], vaes: [], unets: [], textEncoders: [], stepMs: 1 });
  cleanups.push(() => emu.close());
  return emu;
}

const workflow = (file: string): EmulatedWorkflow => {
  const h = realJson<Record<string, { prompt: [number, string, EmulatedWorkflow] }>>(`comfyui-0.3.64-sd15/${file}`);
  return structuredClone(Object.values(h)[0]?.prompt[2] as EmulatedWorkflow);
};
const edit = (file: string, f: (wf: EmulatedWorkflow) => void): EmulatedWorkflow => {
  const wf = workflow(file);
  f(wf);
  return wf;
};
const input = (wf: EmulatedWorkflow, id: string): Record<string, unknown> => (wf[id] as { inputs: Record<string, unknown> }).inputs;
const body = (wf: EmulatedWorkflow): string => JSON.stringify({ prompt: wf, client_id: 'conformance' });

/** Recorded name -> the request body that produced it. */
const REQUESTS: Record<string, string> = {
  'bad_bad_lora_name:post': body(edit('history_lora.json', (wf) => (input(wf, '20')['lora_name'] = 'no_such_lora.safetensors'))),
  'bad_bad_ckpt_name:post': body(edit('history.json', (wf) => (input(wf, '1')['ckpt_name'] = 'no_such.safetensors'))),
  'bad_bad_sampler:post': body(edit('history.json', (wf) => (input(wf, '7')['sampler_name'] = 'no_such_sampler'))),
  'bad_steps_below_min:post': body(edit('history.json', (wf) => (input(wf, '7')['steps'] = 0))),
  'bad_cfg_not_number:post': body(edit('history.json', (wf) => (input(wf, '7')['cfg'] = 'abc'))),
  'bad_missing_seed:post': body(edit('history.json', (wf) => delete input(wf, '7')['seed'])),
  'bad_unknown_class:post': body(edit('history.json', (wf) => ((wf['7'] as { class_type: string }).class_type = 'NoSuchNode'))),
  'bad_no_output_node:post': body(edit('history.json', (wf) => delete wf['9'])),
  'bad_link_to_missing_node:post': body(edit('history.json', (wf) => (input(wf, '8')['samples'] = ['77', 0]))),
  'bad_width_not_multiple_of_8:post': body(edit('history.json', (wf) => (input(wf, '6')['width'] = 100))),
  // 2^64 as the digits Python received: JSON.stringify cannot write it, so it goes into the text.
  'bad_seed_too_large:post': body(edit('history.json', (wf) => (input(wf, '7')['seed'] = 4242424242))).replace('4242424242', '18446744073709551616'),
  'bad_seed_negative:post': body(edit('history.json', (wf) => (input(wf, '7')['seed'] = -1))),
  no_prompt_key: JSON.stringify({ client_id: 'conformance' }),
  not_json: 'this is not json',
};

/** Tooltips are documentation the emulator does not copy; `[T]` and `[T, {}]` say the same. */
function normalizeConfig(v: unknown): unknown {
  if (Array.isArray(v)) {
    const out = v.map(normalizeConfig);
    if (out.length === 1) out.push({});
    return out;
  }
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'tooltip').map(([k, x]) => [k, normalizeConfig(x)]));
  return v;
}

/** What a client can see of a refusal: everything but tracebacks and tooltips. */
function refusal(b: unknown): unknown {
  const r = b as { error: unknown; node_errors: Record<string, { errors: Array<{ extra_info: Record<string, unknown> }> }> };
  const nodeErrors = Object.fromEntries(
    Object.entries(r.node_errors ?? {}).map(([id, ne]) => [
      id,
      {
        ...ne,
        errors: ne.errors.map((e) => {
          const { traceback: _t, input_config: cfg, ...extra } = e.extra_info;
          return { ...e, extra_info: { ...extra, input_config: normalizeConfig(cfg) } };
        }),
      },
    ]),
  );
  return { error: r.error, node_errors: nodeErrors };
}

type Frame = { type: string; data: Record<string, unknown> };
/**
 * What a client acts on, in order, for one prompt: start, cache, sampler progress, the saved image, success, then
 * the queue update and `executing` node null. Node order and per-node progress_state frames are left out (see the README).
 */
function readable(frames: Frame[], pid: string): string[] {
  const i = frames.findIndex((f) => f.data['prompt_id'] === pid);
  const out: string[] = [];
  for (const f of frames.slice(i)) {
    if (f.type === 'executing' && f.data['node'] === null) {
      out.push('executing:null');
      break;
    }
    if (['execution_start', 'execution_cached', 'progress', 'executed', 'execution_success'].includes(f.type)) out.push(f.type);
    if (f.type === 'status') out.push(`status:${String((f.data['status'] as { exec_info: { queue_remaining: number } }).exec_info.queue_remaining)}`);
  }
  return out.filter((t, k, a) => !(t.startsWith('status') && a[k + 1] !== 'executing:null'));
}

/** Run `wf` on the emulator over a real socket; the frames it sent and the prompt id. */
async function framesOf(emu: ComfyEmulator, wf: EmulatedWorkflow): Promise<{ frames: Frame[]; id: string }> {
  const frames: Frame[] = [];
  const ws = new WebSocket(`${emu.url.replace('http', 'ws')}/ws?clientId=conformance`);
  cleanups.push(() => ws.close());
  ws.on('message', (d, binary) => {
    if (!binary) frames.push(JSON.parse(d.toString()) as Frame);
  });
  await new Promise((r) => ws.once('open', r));
  const res = await fetch(`${emu.url}/prompt`, { method: 'POST', body: body(wf) });
  const { prompt_id: id } = (await res.json()) as { prompt_id: string };
  const end = Date.now() + 10_000;
  while (!frames.some((f) => f.type === 'executing' && f.data['node'] === null) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return { frames, id };
}

describe('ComfyUI emulator held to the real server', () => {
  it.each(Object.keys(REQUESTS))('%s: same status, content type and answer', async (name) => {
    const emu = await emulator();
    const real = sd15.httpNamed(name);
    const res = await fetch(`${emu.url}/prompt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: REQUESTS[name] });
    expect(res.status).toBe(real.status);
    expect(res.headers.get('content-type')).toBe(real.content_type);
    const text = await res.text();
    if (real.status === 500) return expect(text).toBe(real.body);
    const got = JSON.parse(text) as Record<string, unknown>;
    if (real.status === 200) return expect(Object.keys(got).sort()).toEqual(Object.keys(real.body as object).sort());
    expect(refusal(got)).toEqual(refusal(real.body));
  });

  it('writes the seed max as the exact integer the real server writes', async () => {
    const emu = await emulator();
    const text = await (await fetch(`${emu.url}/object_info/KSampler`)).text();
    expect(text).toContain('"max":18446744073709551615');
    expect(sd15.httpNamed('get/object_info/KSampler').body).toBeTruthy();
  });

  it('describes the node classes loraloop builds with as the real /object_info does', async () => {
    const emu = await emulator();
    const mine = (await (await fetch(`${emu.url}/object_info`)).json()) as Record<string, Record<string, unknown>>;
    const real = sd15.objectInfo() as Record<string, Record<string, unknown>>;
    const classes = ['CheckpointLoaderSimple', 'LoraLoader', 'LoraLoaderModelOnly', 'UNETLoader', 'DualCLIPLoader', 'VAELoader', 'CLIPTextEncode', 'FluxGuidance', 'EmptyLatentImage', 'KSampler', 'VAEDecode', 'SaveImage', 'PreviewImage'];
    for (const cls of classes) {
      const pick = (n: Record<string, unknown> | undefined) => ({
        input: normalizeConfig(n?.['input']),
        output: n?.['output'],
        output_node: n?.['output_node'],
        category: n?.['category'],
      });
      expect({ cls, ...pick(mine[cls]) }).toEqual({ cls, ...pick(real[cls]) });
    }
  });

  it('sends the frames a client reads in the real order, and the same history shape', async () => {
    const emu = await emulator();
    const { frames: seen, id } = await framesOf(emu, workflow('history.json'));
    const real = readable(sd15.frames('pre').map((f) => f.json), 'b30ad264-3782-4305-8b4c-d8983f086b7f');
    expect(real).toEqual(['execution_start', 'execution_cached', 'progress', 'progress', 'executed', 'execution_success', 'status:0', 'executing:null']);
    expect(readable(seen, id)).toEqual(real);

    const mine = (await (await fetch(`${emu.url}/history/${id}`)).json()) as Record<string, Record<string, unknown>>;
    const recorded = realJson<Record<string, Record<string, unknown>>>('comfyui-0.3.64-sd15/history.json');
    const shape = (e: Record<string, unknown> | undefined) => ({
      keys: Object.keys(e ?? {}).sort(),
      promptLength: (e?.['prompt'] as unknown[]).length,
      outputs: e?.['outputs'],
      status: (e?.['status'] as { messages: Array<[string]> }).messages.map((m) => m[0]),
      meta: e?.['meta'],
    });
    expect(shape(mine[id])).toEqual(shape(Object.values(recorded)[0]));
  });

  it('a corrupt LoRA fails with the same words through loraloop as on the real server', async () => {
    const emu = await emulator();
    emu.faults.executionError = {
      classType: 'LoraLoader',
      exceptionType: 'safetensors._safetensors_rust.SafetensorError',
      message: 'Error while deserializing header: header too large\n',
    };
    const backend = createComfyBackend({ baseUrl: emu.url, pollIntervalMs: 20 });
    cleanups.push(() => backend.client.close());
    const real = realJson<{ generate_broken_lora: { error: { code: string; message: string } } }>('comfyui-0.3.64-sd15/ll_probe_pre.json.gz').generate_broken_lora.error;
    const err = await backend
      .generate({ prompt: 'p', width: 64, height: 64, seed: 7, steps: 2, checkpoint: 'random_sd15.safetensors', loras: [{ name: 'broken', strength: 0.8 }] })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(LoraloopError);
    expect((err as LoraloopError).code).toBe(real.code);
    expect((err as LoraloopError).message).toBe(real.message.replace('http://127.0.0.1:8188', emu.url));
  });
});

describe('ComfyUI emulator held to the real SDXL / FLUX.1 recording', () => {
  const files = {
    checkpoints: ['random_sdxl.safetensors'],
    loras: ['random_flux_lora.safetensors', 'random_sdxl_lora.safetensors'],
    unets: ['random_flux1_dev.safetensors'],
    textEncoders: ['clip_l.safetensors', 't5xxl_random.safetensors'],
    vaes: ['ae.safetensors'],
  };

  it('lists the same model files in the FLUX and SDXL loaders as the real server', async () => {
    const emu = await startComfyEmulator({ ...files, stepMs: 1 });
    cleanups.push(() => emu.close());
    const mine = (await (await fetch(`${emu.url}/object_info`)).json()) as Record<string, { input: unknown }>;
    const real = sdxlFlux.objectInfo() as Record<string, { input: unknown }>;
    for (const cls of ['CheckpointLoaderSimple', 'LoraLoader', 'LoraLoaderModelOnly', 'UNETLoader', 'DualCLIPLoader', 'VAELoader', 'FluxGuidance']) {
      expect({ cls, input: normalizeConfig(mine[cls]?.input) }).toEqual({ cls, input: normalizeConfig(real[cls]?.input) });
    }
  });

  it('a FLUX generation with a LoRA sends the frames a client reads in the real order', async () => {
    const emu = await startComfyEmulator({ ...files, stepMs: 1 });
    cleanups.push(() => emu.close());
    const wf = sdxlFlux.requests()['flux_lora']?.workflow as EmulatedWorkflow;
    const { frames, id } = await framesOf(emu, wf);
    const post = sdxlFlux.httpNamed('flux_lora:post').body as { prompt_id: string };
    const real = readable(sdxlFlux.frames().map((f) => f.json), post.prompt_id);
    expect(real).toEqual(['execution_start', 'execution_cached', 'progress', 'progress', 'progress', 'progress', 'executed', 'execution_success', 'status:0', 'executing:null']);
    expect(readable(frames, id)).toEqual(real);
  });
});
