/**
 * The ComfyUI emulator speaks the wire contract (CONTRACTS.md §1). Checked with plain fetch and ws, not
 * with our client, so a client bug cannot hide an emulator bug.
 */
import { afterEach, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import WebSocket from 'ws';
import { startComfyEmulator, type ComfyEmulator } from './comfyui.js';

const running: ComfyEmulator[] = [];
async function start(opts: Parameters<typeof startComfyEmulator>[0] = {}): Promise<ComfyEmulator> {
  const emu = await startComfyEmulator({ stepMs: 1, ...opts });
  running.push(emu);
  return emu;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

interface Msg {
  type: string;
  data: Record<string, unknown>;
}

/** Open a socket and collect its JSON messages (binary frames counted apart). */
async function listen(url: string, clientId?: string): Promise<{ msgs: Msg[]; binary: Buffer[]; ws: WebSocket }> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws${clientId ? `?clientId=${clientId}` : ''}`);
  const msgs: Msg[] = [];
  const binary: Buffer[] = [];
  ws.on('message', (d, isBinary) => {
    if (isBinary) binary.push(d as Buffer);
    else msgs.push(JSON.parse(d.toString()) as Msg);
  });
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  return { msgs, binary, ws };
}

const waitFor = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

function graph(over: { ckpt?: string; lora?: string; seed?: number; steps?: number } = {}): Record<string, unknown> {
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: over.ckpt ?? 'sd_xl_base_1.0.safetensors' } },
    '10': { class_type: 'LoraLoader', inputs: { model: ['4', 0], clip: ['4', 1], lora_name: over.lora ?? 'style_flat.safetensors', strength_model: 0.8, strength_clip: 0.8 } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a coin', clip: ['10', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['10', 1] } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 48, batch_size: 1 } },
    '3': { class_type: 'KSampler', inputs: { model: ['10', 0], seed: over.seed ?? 42, steps: over.steps ?? 4, cfg: 7, sampler_name: 'euler', scheduler: 'normal', positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0], denoise: 1 } },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: 'ComfyUI' } },
  };
}

async function post(url: string, path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
}

describe('ComfyUI emulator', () => {
  it('describes nodes in both combo shapes, under / and /api', async () => {
    const v1 = await start({ loras: ['a.safetensors', 'sub/b.safetensors'] });
    const v3 = await start({ loras: ['a.safetensors'], comboShape: 'v3' });
    const i1 = (await (await fetch(`${v1.url}/api/object_info/LoraLoader`)).json()) as Record<string, { input: { required: Record<string, unknown[]> } }>;
    expect(i1.LoraLoader?.input.required.lora_name?.[0]).toEqual(['a.safetensors', 'sub/b.safetensors']);
    expect(i1.LoraLoader?.input.required.strength_model).toEqual(['FLOAT', { default: 1, min: -100, max: 100, step: 0.01 }]);
    const i3 = (await (await fetch(`${v3.url}/object_info`)).json()) as Record<string, { input: { required: Record<string, unknown[]> } }>;
    expect(i3.LoraLoader?.input.required.lora_name?.[0]).toBe('COMBO');
    expect(i3.LoraLoader?.input.required.lora_name?.[1]).toMatchObject({ options: ['a.safetensors'] });
    expect(Object.keys(i3)).toEqual(expect.arrayContaining(['KSampler', 'VAEDecode', 'SaveImage', 'LoadImage', 'UNETLoader', 'LoraLoaderModelOnly']));
    expect(await (await fetch(`${v1.url}/object_info/NoSuchNode`)).json()).toEqual({});
    expect(await (await fetch(`${v1.url}/models/loras`)).json()).toEqual(['a.safetensors', 'sub/b.safetensors']);
    expect((await fetch(`${v1.url}/models/nope`)).status).toBe(404);
  });

  it('refuses bad workflows with the real error shapes', async () => {
    const emu = await start({ loras: ['a.safetensors', 'b.safetensors'] });
    const noPrompt = await post(emu.url, '/prompt', { client_id: 'x' });
    expect(noPrompt).toEqual({ status: 400, json: { error: { type: 'no_prompt', message: 'No prompt provided', details: 'No prompt provided', extra_info: {} }, node_errors: {} } });
    emu.faults.errorShape = '2024';
    expect((await post(emu.url, '/prompt', {})).json).toEqual({ error: 'no prompt', node_errors: [] });

    const unknown = await post(emu.url, '/api/prompt', { prompt: { '1': { class_type: 'Nope', inputs: {} } } });
    expect(unknown.json).toMatchObject({ error: { type: 'invalid_prompt', message: 'Cannot execute because node Nope does not exist.', details: "Node ID '#1'" } });
    const noOut = await post(emu.url, '/prompt', { prompt: { '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'x' } } } });
    expect(noOut.json).toMatchObject({ error: { type: 'prompt_no_outputs' } });

    const g = graph({ lora: 'missing.safetensors' }) as Record<string, { inputs: Record<string, unknown> }>;
    delete g['6']?.inputs.text;
    (g['8'] as { inputs: Record<string, unknown> }).inputs.vae = ['4', 2, 'x'];
    const bad = await post(emu.url, '/prompt', { prompt: g });
    expect(bad.status).toBe(400);
    const body = bad.json as { error: { type: string; details: string }; node_errors: Record<string, { errors: Array<{ type: string; details: string }>; dependent_outputs: string[]; class_type: string }> };
    expect(body.error.type).toBe('prompt_outputs_failed_validation');
    expect(body.node_errors['10']).toEqual({
      errors: [expect.objectContaining({ type: 'value_not_in_list', message: 'Value not in list', details: "lora_name: 'missing.safetensors' not in ['a.safetensors', 'b.safetensors']" })],
      dependent_outputs: ['9'],
      class_type: 'LoraLoader',
    });
    expect(body.node_errors['6']?.errors[0]).toMatchObject({ type: 'required_input_missing', details: 'text' });
    expect(body.node_errors['8']?.errors[0]).toMatchObject({ type: 'bad_linked_input', details: 'vae' });
    // downstream nodes that only fail because of upstream ones carry no errors and are not listed
    expect(body.node_errors['3']).toBeUndefined();
    // like execution.py: the top-level details only hold the output node's own errors (none here)
    expect(body.error.details).toBe('');
    expect(emu.state.received).toHaveLength(0);
  });

  it('runs a prompt: targeted events, progress, history, a PNG from /view', async () => {
    const emu = await start();
    const mine = await listen(emu.url, 'me');
    const other = await listen(emu.url, 'other');
    const q = await post(emu.url, '/prompt', { prompt: graph(), client_id: 'me', prompt_id: 'p-1' });
    expect(q).toEqual({ status: 200, json: { prompt_id: 'p-1', number: 0, node_errors: {} } });
    await waitFor(() => mine.msgs.some((m) => m.type === 'executing' && m.data.node === null));
    expect(mine.msgs[0]).toEqual({ type: 'status', data: { status: { exec_info: { queue_remaining: 0 } }, sid: 'me' } });
    const types = mine.msgs.map((m) => m.type).filter((t) => t !== 'status' && t !== 'progress_state');
    expect(types.slice(0, 3)).toEqual(['execution_start', 'execution_cached', 'executing']);
    expect(types.filter((t) => t === 'progress')).toHaveLength(4);
    expect(types.slice(-3)).toEqual(['executed', 'execution_success', 'executing']);
    expect(mine.msgs.find((m) => m.type === 'progress')?.data).toEqual({ value: 1, max: 4, prompt_id: 'p-1', node: '3' });
    expect(mine.binary.length).toBeGreaterThan(0);
    expect(mine.binary[0]?.readUInt32BE(0)).toBe(1);
    expect(other.msgs.filter((m) => m.type !== 'status')).toEqual([]);

    const hist = (await (await fetch(`${emu.url}/history/p-1`)).json()) as Record<string, { outputs: Record<string, { images: Array<{ filename: string; subfolder: string; type: string }> }>; status: { status_str: string; messages: Array<[string, unknown]> } }>;
    const entry = hist['p-1'];
    expect(entry?.status.status_str).toBe('success');
    expect(entry?.status.messages.map((m) => m[0])).toEqual(['execution_start', 'execution_cached', 'execution_success']);
    const img = entry?.outputs['9']?.images[0];
    expect(img).toEqual({ filename: 'ComfyUI_00001_.png', subfolder: '', type: 'output' });
    const png = Buffer.from(await (await fetch(`${emu.url}/view?filename=${img?.filename}&type=output&subfolder=`)).arrayBuffer());
    expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 64, height: 48 });

    expect((await fetch(`${emu.url}/view?filename=../x.png`)).status).toBe(400);
    expect((await fetch(`${emu.url}/view?filename=a.png&type=secret`)).status).toBe(400);
    expect((await fetch(`${emu.url}/view?filename=a.png&subfolder=../../etc`)).status).toBe(403);
    expect((await fetch(`${emu.url}/view?filename=nope.png`)).status).toBe(404);
    expect((await fetch(`${emu.url}/view?filename=${img?.filename} [output]&type=input`)).status).toBe(200);
    mine.ws.close();
    other.ws.close();
  });

  it('reuses cached outputs for an identical prompt, and different seeds give different pixels', async () => {
    const emu = await start();
    const ids: string[] = [];
    for (const seed of [1, 1, 2]) ids.push(((await post(emu.url, '/prompt', { prompt: graph({ seed }) })).json as { prompt_id: string }).prompt_id);
    await waitFor(() => emu.state.history.size === 3);
    const images = ids.map((id) => emu.state.history.get(id)?.outputs['9']?.images[0]?.filename);
    expect(images[1]).toBe(images[0]); // cached: same file, like ComfyUI
    expect(images[2]).not.toBe(images[0]);
    const cached = emu.state.history.get(ids[1] as string)?.status.messages.find((m) => m[0] === 'execution_cached')?.[1];
    expect(cached?.nodes).toHaveLength(8);
    const px = async (f: string | undefined): Promise<Buffer> => sharp(emu.state.files.get(`output//${f}`)).raw().toBuffer();
    expect((await px(images[0])).equals(await px(images[2]))).toBe(false);
  });

  it('without a client_id: progress is broadcast, targeted events are not sent', async () => {
    const emu = await start();
    const sock = await listen(emu.url);
    expect(sock.msgs[0]?.data.sid).toMatch(/^[0-9a-f]{32}$/);
    await post(emu.url, '/prompt', { prompt: graph({ seed: 7 }) });
    await waitFor(() => emu.state.history.size === 1);
    // Socket messages can trail the history entry: wait for the broadcast progress, then a moment for any
    // targeted event that (wrongly) followed it.
    await waitFor(() => sock.msgs.some((m) => m.type === 'progress'));
    await new Promise((r) => setTimeout(r, 50));
    const types = new Set(sock.msgs.map((m) => m.type));
    expect(types.has('progress')).toBe(true);
    for (const t of ['execution_start', 'executing', 'executed', 'execution_success']) expect(types.has(t)).toBe(false);
    sock.ws.close();
  });

  it('interrupts only the named running prompt, and reports it', async () => {
    const emu = await start({ stepMs: 20 });
    const sock = await listen(emu.url, 'c');
    await post(emu.url, '/prompt', { prompt: graph({ steps: 50 }), client_id: 'c', prompt_id: 'long' });
    await waitFor(() => sock.msgs.some((m) => m.type === 'progress'));
    const queue = (await (await fetch(`${emu.url}/queue`)).json()) as { queue_running: unknown[][]; queue_pending: unknown[] };
    expect(queue.queue_running[0]?.[1]).toBe('long');
    expect(queue.queue_pending).toEqual([]);
    await post(emu.url, '/interrupt', { prompt_id: 'someone-else' });
    await post(emu.url, '/interrupt', { prompt_id: 'long' });
    await waitFor(() => emu.state.history.has('long'));
    expect(emu.state.interrupts).toEqual([
      { promptId: 'someone-else', hit: false },
      { promptId: 'long', hit: true },
    ]);
    const h = emu.state.history.get('long');
    expect(h?.status).toMatchObject({ status_str: 'error', completed: false });
    expect(h?.status.messages.at(-1)?.[0]).toBe('execution_interrupted');
    // The history entry is written before the socket message reaches us: wait for the message itself.
    await waitFor(() => sock.msgs.some((m) => m.type === 'execution_interrupted' && m.data.node_type === 'KSampler'));
    // without a prompt id: whatever runs, and nothing when idle
    await post(emu.url, '/prompt', { prompt: graph({ steps: 50, seed: 2 }), client_id: 'c', prompt_id: 'next' });
    await waitFor(() => emu.state.running() === 'next');
    await fetch(`${emu.url}/interrupt`, { method: 'POST' });
    await waitFor(() => emu.state.history.has('next'));
    await fetch(`${emu.url}/api/interrupt`, { method: 'POST' });
    expect(emu.state.interrupts.slice(2)).toEqual([
      { promptId: undefined, hit: true },
      { promptId: undefined, hit: false },
    ]);
    sock.ws.close();
  });

  it('renames colliding uploads unless the bytes are identical, and LoadImage lists them', async () => {
    const emu = await start();
    const up = async (bytes: string, name = 'cover.png'): Promise<unknown> => {
      const form = new FormData();
      form.set('image', new Blob([bytes]), name);
      return (await fetch(`${emu.url}/upload/image`, { method: 'POST', body: form })).json();
    };
    expect(await up('one')).toEqual({ name: 'cover.png', subfolder: '', type: 'input' });
    expect(await up('two')).toEqual({ name: 'cover (1).png', subfolder: '', type: 'input' });
    expect(await up('one')).toEqual({ name: 'cover.png', subfolder: '', type: 'input' });
    expect(await up('three')).toEqual({ name: 'cover (2).png', subfolder: '', type: 'input' });
    const noFile = new FormData();
    noFile.set('type', 'input');
    expect((await fetch(`${emu.url}/upload/image`, { method: 'POST', body: noFile })).status).toBe(400);
    const info = (await (await fetch(`${emu.url}/object_info/LoadImage`)).json()) as { LoadImage: { input: { required: { image: unknown[] } } } };
    expect(info.LoadImage.input.required.image[0]).toEqual(['cover (1).png', 'cover (2).png', 'cover.png']);
  });

  it('goes down (connections refused) and comes back on the same port', async () => {
    const emu = await start({ stepMs: 10 });
    emu.faults.downAtStep = 2;
    await post(emu.url, '/prompt', { prompt: graph({ steps: 20 }), prompt_id: 'lost' });
    await waitFor(() => emu.faults.downAtStep === undefined);
    await expect(fetch(`${emu.url}/prompt`)).rejects.toThrow();
    await emu.faults.comeBack();
    expect(await (await fetch(`${emu.url}/api/prompt`)).json()).toEqual({ exec_info: { queue_remaining: 0 } });
    expect(await (await fetch(`${emu.url}/history/lost`)).json()).toEqual({});
  });
});
