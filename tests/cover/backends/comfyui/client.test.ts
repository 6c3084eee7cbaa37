/**
 * The ComfyUI client's own surface against the emulator: uploads, queue/system info, URL prefixes,
 * the /object_info cache and following without any WebSocket.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createComfyClient, type ComfyClientOptions } from '../../../../src/cover/backends/comfyui/client.js';
import { buildWorkflow } from '../../../../src/cover/backends/comfyui/workflow.js';
import { LoraloopError } from '../../../../src/core/errors.js';
import { startComfyEmulator, type ComfyEmulatorOptions } from '../../../emulators/comfyui.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(emuOpts: ComfyEmulatorOptions = {}, clientOpts: Partial<ComfyClientOptions> = {}) {
  const emu = await startComfyEmulator({ stepMs: 1, ...emuOpts });
  const client = createComfyClient({ baseUrl: emu.url, pollIntervalMs: 20, ...clientOpts });
  cleanups.push(() => emu.close(), () => client.close());
  return { emu, client };
}

const sdxl = (seed: number) =>
  buildWorkflow(
    { prompt: 'a coin', seed },
    {
      baseModel: 'sdxl', loader: { kind: 'checkpoint', ckptName: 'sd_xl_base_1.0.safetensors' }, loras: [], sampler: 'euler', scheduler: 'normal',
      steps: 3, cfg: 6, width: 64, height: 64, denoise: 1, filenamePrefix: 'covers/solana',
    },
  );

describe('ComfyUI client', () => {
  it('uploads images, renaming on collision, and LoadImage then accepts the name', async () => {
    const { client, emu } = await setup();
    const a = await client.uploadImage(Buffer.from('first'), 'logo.png');
    const b = await client.uploadImage(Buffer.from('second'), 'logo.png');
    const c = await client.uploadImage(Buffer.from('third'), 'logo.png', { overwrite: true });
    expect([a.name, b.name, c.name]).toEqual(['logo.png', 'logo (1).png', 'logo.png']);
    expect(emu.state.files.get('input//logo.png')?.toString()).toBe('third');
    expect(await client.view({ filename: 'logo (1).png', type: 'input' })).toEqual(Buffer.from('second'));
  });

  it('reports queue length and system stats, and an unknown model folder as empty', async () => {
    const { client } = await setup({ name: 'gpu-a' });
    expect(await client.queueLength()).toBe(0);
    const stats = await client.systemStats();
    expect(stats.system.comfyui_version).toBe('0.3.64');
    expect(stats.devices[0]?.name).toContain('gpu-a');
    expect(await client.listModels('nope')).toEqual([]);
    expect(await client.listModels('vae')).toContain('ae.safetensors');
  });

  it('works behind a path prefix (the /api routes), HTTP and WebSocket alike', async () => {
    const { emu } = await setup();
    const client = createComfyClient({ baseUrl: `${emu.url}/api/` });
    cleanups.push(() => client.close());
    expect(await client.connect()).toBe(true);
    const q = await client.queuePrompt(sdxl(1));
    const run = await client.follow(q.promptId);
    expect(run.polled).toBe(false);
    expect(run.images).toEqual([{ filename: 'solana_00001_.png', subfolder: 'covers', type: 'output', node: '9' }]);
    expect(emu.state.requests.every((r) => r.path.startsWith('/api/'))).toBe(true);
  });

  it('follows by polling when the WebSocket is refused from the start', async () => {
    const { client, emu } = await setup();
    emu.faults.refuseWebSockets = true;
    expect(await client.connect()).toBe(false);
    const q = await client.queuePrompt(sdxl(2));
    const run = await client.follow(q.promptId);
    expect(run.polled).toBe(true);
    expect(run.entry.status?.status_str).toBe('success');
    expect((await client.view(run.images[0] ?? { filename: '' })).subarray(1, 4).toString()).toBe('PNG');
  });

  it('caches /object_info for its TTL, then asks again', async () => {
    let t = 0;
    const { client, emu } = await setup({}, { now: () => t, objectInfoTtlMs: 1000 });
    const count = (): number => emu.state.requests.filter((r) => r.path === '/object_info/LoraLoader').length;
    await Promise.all([client.listLoras(), client.listLoras()]);
    t = 900;
    emu.state.loras = ['new.safetensors'];
    expect(await client.listLoras()).not.toContain('new.safetensors');
    expect(count()).toBe(1);
    t = 1500;
    expect(await client.listLoras()).toEqual(['new.safetensors']);
    expect(count()).toBe(2);
  });

  it('refuses a base URL that is not http(s) before any request', () => {
    expect(() => createComfyClient({ baseUrl: 'gpu-box:8188' })).toThrow(/is not a ComfyUI URL/);
    expect(() => createComfyClient({ baseUrl: 'ftp://gpu-box' })).toThrow(LoraloopError);
  });

  it('says which server is unreachable', async () => {
    const { client, emu } = await setup();
    await emu.faults.goDown();
    const e = await client.queueLength().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LoraloopError);
    expect((e as LoraloopError).code).toBe('UPSTREAM_UNREACHABLE');
    expect((e as LoraloopError).message).toContain(`ComfyUI at ${emu.url} is unreachable`);
    expect(await client.connect()).toBe(false);
  });
});
