/**
 * A person at the CLI writes where they say: `loraloop cover … --out ~/Desktop/x.png` works from any folder,
 * outside LORALOOP_ALLOWED_ROOTS too; the same path chosen through MCP is still refused.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp } from '../support/app.js';
import { connectMcpClient } from '../support/mcp.js';

const run = promisify(execFile);
const bin = resolve('dist/src/main.js');
let base = '';
let roots = '';
let elsewhere = '';
let user = '';

beforeAll(() => {
  if (!existsSync(bin)) throw new Error('Build first: npm run build (npm test does it).');
  base = mkdtempSync(join(tmpdir(), 'loraloop-e2e-paths-'));
  roots = join(base, 'allowed');
  elsewhere = join(base, 'somewhere-else');
  user = join(base, 'home');
  for (const d of [roots, elsewhere, join(user, 'Desktop')]) mkdirSync(d, { recursive: true });
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, HOME: user, LORALOOP_HOME: join(base, 'data'), LORALOOP_ALLOWED_ROOTS: roots };
  try {
    const r = await run(process.execPath, [bin, ...args], { env, cwd: elsewhere });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('paths typed at the CLI', () => {
  it('writes --out ~/Desktop/x.png (tilde expanded) and a relative --out in the working folder, both outside the allowed roots', async () => {
    const r = await cli(['cover', 'Bitcoin breaks $100K', '--out', '~/Desktop/x.png', '--seed', '3', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const target = join(user, 'Desktop', 'x.png');
    expect((JSON.parse(r.stdout) as { data: { out_path: string } }).data.out_path).toBe(target);
    expect((await sharp(readFileSync(target)).metadata()).format).toBe('png');

    const rel = await cli(['cover', 'Ethereum upgrade ships', '--out', 'covers-eth.png', '--seed', '4']);
    expect(rel.code, rel.stderr).toBe(0);
    expect(existsSync(join(elsewhere, 'covers-eth.png'))).toBe(true);
  }, 60_000);

  it('still refuses the same path when a model or a remote client chooses it over MCP', async () => {
    const t = makeTestApp({ LORALOOP_ALLOWED_ROOTS: roots });
    const client = await connectMcpClient(t.app, 'paths');
    try {
      const target = join(user, 'Desktop', 'from-mcp.png');
      const r = await client.callTool({ name: 'cover_generate', arguments: { title: 'Bitcoin breaks $100K', out: target } });
      expect(r.isError).toBe(true);
      expect(JSON.stringify(r.structuredContent ?? r.content)).toMatch(/PATH_NOT_ALLOWED/);
      expect(existsSync(target)).toBe(false);
    } finally {
      await client.close();
      await t.dispose();
    }
  }, 60_000);

  it('keeps the roots rule for paths inside a JSON tool call, which a script or model may have written', async () => {
    const r = await cli(['cover_generate', JSON.stringify({ title: 'Solana rallies', out: join(user, 'Desktop', 'json.png') }), '--json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/PATH_NOT_ALLOWED/);
  }, 60_000);
});
