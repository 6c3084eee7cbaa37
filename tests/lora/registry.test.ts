import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandResult } from '../../src/core/result.js';
import { activateVersion, createLoraResolver, registerVersion } from '../../src/lora/registry.js';
import { buildKohyaFluxLora, buildKohyaSdxlLora } from '../support/safetensors.js';
import { makeTestApp } from '../support/app.js';
import { dataOf } from '../support/result.js';

type Data = Record<string, unknown>;

describe('LoRA registry: versions, activation, deletion and routing', () => {
  const t = makeTestApp();
  let dir: string;
  const files: Record<string, string> = {};
  const run = async (tool: string, input: unknown) => t.app.tools.execute(tool, input, t.app.context());
  const code = (r: CommandResult) => (r.success ? undefined : r.error.code);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'loraloop-loras-'));
    const write = (name: string, buf: Buffer) => {
      files[name] = join(dir, name);
      writeFileSync(files[name], buf);
    };
    write('sol-v1.safetensors', buildKohyaFluxLora({ sample: true, rank: 4, seed: 1, metadata: { 'modelspec.trigger_phrase': 'sks solana' } }));
    write('sol-v2.safetensors', buildKohyaFluxLora({ sample: true, rank: 4, seed: 2, metadata: { 'modelspec.usage_hint': 'Use at weight 0.7 for covers' } }));
    write('sdxl.safetensors', buildKohyaSdxlLora({ sample: true, rank: 2, seed: 3 }));
  });
  afterAll(async () => {
    await t.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a duplicate project name with a clear CONFLICT', async () => {
    const input = { name: 'btc-style', base_model: 'sdxl', asset_type: 'style', trigger_word: 'btcstyle' };
    expect((await run('lora_create', input)).success).toBe(true);
    const again = await run('lora_create', input);
    expect(again.success).toBe(false);
    expect(code(again)).toBe('CONFLICT');
    expect(again.reasoning).toMatch(/already exists/);
  });

  it('validates names, trigger words and asset types before creating anything', async () => {
    const bad = [
      { name: '', base_model: 'flux', asset_type: 'coin', trigger_word: 'x' },
      { name: 'x'.repeat(101), base_model: 'flux', asset_type: 'coin', trigger_word: 'x' },
      { name: 'ok', base_model: 'flux', asset_type: 'coin', trigger_word: 'a, b' },
      { name: 'ok', base_model: 'sd3', asset_type: 'coin', trigger_word: 'x' },
      { name: 'ok', base_model: 'flux', asset_type: 'banner', trigger_word: 'x' },
      { name: 'ok', description: 'd'.repeat(501), base_model: 'flux', asset_type: 'coin', trigger_word: 'x' },
    ];
    for (const input of bad) expect(code(await run('lora_create', input)), JSON.stringify(input).slice(0, 60)).toBe('INVALID_INPUT');
    expect(dataOf<{ count: number }>(await run('lora_list', {})).count).toBe(1);
  });

  it('routes nothing for SOL until a SOL LoRA is active', async () => {
    const r = await run('cover_route', { title: 'Solana hits a new high' });
    expect(dataOf<{ lora: unknown }>(r).lora).toBeNull();
  });

  it('imports a FLUX file as v1 of a new project, takes its trigger word, activates it, and routing picks it', async () => {
    const r = await run('lora_import', { path: files['sol-v1.safetensors'], name: 'solana-coin', asset_type: 'coin', coins: ['sol'] });
    expect(r.success, r.reasoning).toBe(true);
    expect(dataOf(r)).toMatchObject({ created: true, version: 1, active_version: 1, strength: 0.85, base_model: 'flux', trigger_word: 'sks solana', architecture: 'flux1', rank: 4 });
    expect(existsSync(dataOf<{ file_path: string }>(r).file_path)).toBe(true);
    const route = await run('cover_route', { title: 'Solana hits a new high' });
    expect(dataOf<{ lora: unknown }>(route).lora).toEqual({ name: 'solana-coin', version: 1, strength: 0.85 });
    expect(route.reasoning).toMatch(/solana-coin v1/);
  });

  it('refuses a file whose architecture does not match the base model', async () => {
    const r = await run('lora_import', { path: files['sdxl.safetensors'], name: 'solana-coin' });
    expect(r.success).toBe(false);
    expect(code(r)).toBe('INVALID_INPUT');
    expect(r.reasoning).toMatch(/sdxl LoRA but the project's base model is flux/);
    const r2 = await run('lora_import', { path: files['sol-v1.safetensors'], name: 'other', base_model: 'sd15' });
    expect(code(r2)).toBe('INVALID_INPUT');
    expect(dataOf<{ loras: Array<{ versions: unknown[] }> }>(await run('lora_list', { coin: 'SOL' })).loras[0]?.versions).toHaveLength(1);
  });

  it('adds v2 on a second import without moving the active version; lora_activate picks the latest and reads the strength from metadata', async () => {
    const r = await run('lora_import', { path: files['sol-v2.safetensors'], name: 'solana-coin' });
    expect(dataOf(r)).toMatchObject({ created: false, version: 2, active_version: 1 });
    const a = await run('lora_activate', { lora_id: 'solana-coin' });
    expect(dataOf(a)).toMatchObject({ active_version: 2, previous_version: 1, strength: 0.7, strength_source: 'metadata', strength_key: 'modelspec.usage_hint' });
    expect(a.reasoning).toMatch(/v1 stays available for rollback/);
    const route = await run('cover_route', { title: 'SOL ETF approved' });
    expect(dataOf<{ lora: unknown }>(route).lora).toEqual({ name: 'solana-coin', version: 2, strength: 0.7 });
  });

  it('rolls back to v1 with an explicit strength, and refuses strengths outside -2..2 and unknown versions', async () => {
    const a = await run('lora_activate', { lora_id: 'solana-coin', version: 1, strength: 1.1 });
    expect(dataOf(a)).toMatchObject({ active_version: 1, strength: 1.1, strength_source: 'given' });
    expect(code(await run('lora_activate', { lora_id: 'solana-coin', strength: 2.5 }))).toBe('INVALID_INPUT');
    const missing = await run('lora_activate', { lora_id: 'solana-coin', version: 9 });
    expect(code(missing)).toBe('NOT_FOUND');
    expect(missing.reasoning).toMatch(/v1 \(ready\), v2 \(ready\)/);
  });

  it('lists versions, the active one and its strength, filtered by coin, base model and status', async () => {
    const l = dataOf(await run('lora_list', { coin: '$sol' })) as { loras: Array<Data & { versions: Array<Data> }> };
    expect(l.loras).toHaveLength(1);
    expect(l.loras[0]).toMatchObject({ name: 'solana-coin', active_version: 1, strength: 1.1, coins: ['SOL'], status: 'ready' });
    expect(l.loras[0]?.versions.map((v) => [v.version, v.active, v.backend, v.architecture])).toEqual([
      [1, true, 'import', 'flux1'],
      [2, false, 'import', 'flux1'],
    ]);
    expect(dataOf<{ count: number }>(await run('lora_list', { base_model: 'sdxl' })).count).toBe(1);
    expect(dataOf<{ count: number }>(await run('lora_list', { status: 'ready' })).count).toBe(1);
    expect(dataOf<{ count: number }>(await run('lora_list', { coin: 'BTC' })).count).toBe(0);
  });

  it('keeps a file shared by two versions until the last one goes', async () => {
    const v3 = await run('lora_import', { path: files['sol-v1.safetensors'], name: 'solana-coin', activate: false });
    const path = dataOf<{ file_path: string }>(v3).file_path;
    expect(dataOf(v3)).toMatchObject({ version: 3, active_version: 1 });
    const d = await run('lora_delete', { lora_id: 'solana-coin', version: 3 });
    expect(dataOf(d)).toMatchObject({ deleted_versions: [3], files_removed: [], project_deleted: false });
    expect(existsSync(path)).toBe(true); // v1 still points at it
  });

  it('refuses to delete the active version unless forced, then rolls back to the latest other ready version', async () => {
    const refused = await run('lora_delete', { lora_id: 'solana-coin', version: 1 });
    expect(code(refused)).toBe('CONFLICT');
    expect(refused.reasoning).toMatch(/active version.*force/);
    await run('lora_activate', { lora_id: 'solana-coin', version: 2 });
    const list = dataOf(await run('lora_list', { coin: 'SOL' })) as { loras: Array<{ versions: Array<{ version: number; file_path: string }> }> };
    const v2path = list.loras[0]?.versions.find((v) => v.version === 2)?.file_path as string;
    const forced = await run('lora_delete', { lora_id: 'solana-coin', version: 2, force: true });
    expect(dataOf(forced)).toMatchObject({ deleted_versions: [2], active_version: 1, files_removed: [v2path] });
    expect(forced.reasoning).toMatch(/rolled back to v1/);
    expect(existsSync(v2path)).toBe(false);
  });

  it('refuses to delete a project with an active version unless forced; forced, its files go and routing forgets it', async () => {
    const refused = await run('lora_delete', { lora_id: 'solana-coin' });
    expect(code(refused)).toBe('CONFLICT');
    const list = dataOf(await run('lora_list', { coin: 'SOL' })) as { loras: Array<{ versions: Array<{ file_path: string }> }> };
    const paths = list.loras[0]?.versions.map((v) => v.file_path) ?? [];
    const d = await run('lora_delete', { lora_id: 'solana-coin', force: true });
    expect(dataOf(d)).toMatchObject({ project_deleted: true, deleted_versions: [1] });
    for (const p of paths) expect(existsSync(p)).toBe(false);
    expect(dataOf(await run('cover_route', { title: 'Solana hits a new high' }))).toMatchObject({ lora: null });
    // A project with no active version goes without force.
    expect(dataOf(await run('lora_delete', { lora_id: 'btc-style' }))).toMatchObject({ project_deleted: true });
  });

  it('registerVersion: blob then row, candidate stays inactive until promoted by activation', async () => {
    const s = t.app.services;
    const lora = await s.store.loras.create({ name: 'doge-coin', base_model: 'flux', asset_type: 'coin', trigger_word: 'dgx', coins: ['DOGE'] });
    const resolver = createLoraResolver(s.store);
    const v = await registerVersion(s, lora.id, {
      file: buildKohyaFluxLora({ sample: true, rank: 4, seed: 9 }),
      params: { steps: 1000 },
      job_id: 'job_1',
      backend: 'kohya',
      status: 'candidate',
    });
    expect(v).toMatchObject({ version: 1, status: 'candidate', backend: 'kohya', job_id: 'job_1' });
    expect(existsSync(v.file_path!)).toBe(true);
    expect((v.inspection as { architecture: string }).architecture).toBe('flux1');
    expect((await s.store.loras.get(lora.id))?.status).toBe('ready');
    expect(await resolver.activeForCoin('DOGE')).toBeNull();
    // Without a version only ready ones count; naming the candidate promotes it.
    await expect(activateVersion(s, lora.id)).rejects.toThrow(/no ready version/);
    const a = await activateVersion(s, lora.id, 1);
    expect(a.version.status).toBe('ready');
    expect(await resolver.activeForCoin('doge')).toMatchObject({ name: 'doge-coin', version: 1, strength: 0.85, base_model: 'flux', file_path: v.file_path });
    // A remote-only version (Replicate) has no file but keeps its model version.
    const remote = await registerVersion(s, lora.id, { file: null, params: {}, job_id: 'job_2', backend: 'replicate', remote_version: 'me/doge:abc', status: 'ready', activate: true });
    expect(await resolver.activeForCoin('DOGE')).toMatchObject({ version: remote.version, remote_version: 'me/doge:abc' });
  });

  it('resolver: a coin LoRA beats a general one, and a general cover LoRA serves coins without their own', async () => {
    const s = t.app.services;
    const resolver = createLoraResolver(s.store);
    const general = await s.store.loras.create({ name: 'house-style', base_model: 'flux', asset_type: 'cover', trigger_word: 'hstyle' });
    await registerVersion(s, general.id, { file: null, params: {}, job_id: null, backend: 'replicate', remote_version: 'me/house:1', status: 'ready', activate: true });
    expect(await resolver.activeGeneral(['ETH'])).toMatchObject({ name: 'house-style' });
    expect(await resolver.activeForCoin('ETH')).toBeNull();
    expect(await resolver.activeForCoin('DOGE')).toMatchObject({ name: 'doge-coin' });
  });
});
