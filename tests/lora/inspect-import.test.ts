import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandResult } from '../../src/core/result.js';
import { LoraInspectionSchema } from '../../src/lora/safetensors/schema.js';
import { buildKohyaSd15Lora, malformedSafetensors } from '../support/safetensors.js';
import { makeTestApp } from '../support/app.js';
import { dataOf } from '../support/result.js';

const EVAL = new URL('../../../shared/eval/loras/', import.meta.url).pathname;
const REAL = {
  cloneofsimo: 'cloneofsimo_sd15_analog_svd_rank4.safetensors',
  legacy: 'catundchat_sd15_diffusers_attnprocs_rank4.safetensors',
  diffusers: 'timohavdk_sd15_diffusers_rank4.safetensors',
};

describe('lora_inspect and lora_import', () => {
  const t = makeTestApp({ LORALOOP_ALLOW_PRIVATE_URLS: '1' });
  let dir: string;
  let server: Server;
  let base: string;
  const run = async (tool: string, input: unknown) => t.app.tools.execute(tool, input, t.app.context());
  const code = (r: CommandResult) => (r.success ? undefined : r.error.code);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loraloop-inspect-'));
    cpSync(EVAL, dir, { recursive: true });
    writeFileSync(join(dir, 'kohya-sd15.safetensors'), buildKohyaSd15Lora({ sample: true, rank: 4, alpha: 2, metadata: { ss_tag_frequency: JSON.stringify({ '10_zxq style': { 'zxq style': 12, painting: 4 } }) } }));
    writeFileSync(join(dir, 'bad.safetensors'), malformedSafetensors.headerLengthPastEnd());
    server = createServer((req, res) => {
      if (req.url === '/lora.safetensors') res.end(readFileSync(join(dir, REAL.diffusers)));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await t.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('inspects the real files by header, with an answer that validates against the inspection schema', async () => {
    const expected = { cloneofsimo: 'cloneofsimo', legacy: 'diffusers-legacy', diffusers: 'diffusers' } as const;
    for (const [k, file] of Object.entries(REAL)) {
      const r = await run('lora_inspect', { path: join(dir, file) });
      expect(r.success, r.reasoning).toBe(true);
      const i = LoraInspectionSchema.parse(dataOf(r));
      expect(i).toMatchObject({ format: expected[k as keyof typeof expected], architecture: 'sd1', rank: 4 });
      expect(i.evidence.length).toBeGreaterThan(0);
      expect(r.reasoning).toMatch(/lora_import/);
    }
  });

  it('inspects a URL through the safe downloader', async () => {
    const r = await run('lora_inspect', { url: `${base}/lora.safetensors` });
    expect(dataOf(r)).toMatchObject({ format: 'diffusers', architecture: 'sd1' });
  });

  it('refuses a file outside the roots, a malformed file, and both or neither of path and url', async () => {
    expect(code(await run('lora_inspect', { path: join(EVAL, REAL.diffusers) }))).toBe('PATH_NOT_ALLOWED');
    expect(code(await run('lora_inspect', { path: join(dir, 'bad.safetensors') }))).toBe('BAD_SAFETENSORS');
    expect(code(await run('lora_inspect', {}))).toBe('INVALID_INPUT');
    expect(code(await run('lora_inspect', { path: join(dir, REAL.diffusers), url: `${base}/lora.safetensors` }))).toBe('INVALID_INPUT');
  });

  it('imports a kohya file with its trigger word from ss_tag_frequency and its base model from the header', async () => {
    const r = await run('lora_import', { path: join(dir, 'kohya-sd15.safetensors'), name: 'zxq-style' });
    expect(r.success, r.reasoning).toBe(true);
    expect(dataOf(r)).toMatchObject({ created: true, version: 1, base_model: 'sd15', trigger_word: 'zxq style', format: 'kohya', rank: 4, alpha: 2, active_version: 1 });
    expect(dataOf<{ warnings: string[] }>(r).warnings.join(' ')).toMatch(/asset_type not given.*style/);
  });

  it('imports a real diffusers file from a URL as a new version of the same name', async () => {
    const r = await run('lora_import', { url: `${base}/lora.safetensors`, name: 'zxq-style' });
    expect(dataOf(r)).toMatchObject({ created: false, version: 2, active_version: 1 });
    const l = dataOf(await run('lora_list', {})) as { loras: Array<{ versions: Array<{ version: number }> }> };
    expect(l.loras[0]?.versions.map((v) => v.version)).toEqual([1, 2]);
  });
});
