import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bestLogoMatch } from '../support/logo-match.js';

const run = promisify(execFile);
const bin = resolve('dist/src/main.js');
let home = '';
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  if (!existsSync(bin)) throw new Error('Build first: npm run build (npm test does it).');
  home = mkdtempSync(join(tmpdir(), 'loraloop-e2e-'));
  env = { ...process.env, LORALOOP_HOME: join(home, 'data'), LORALOOP_ALLOWED_ROOTS: home };
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

async function cli(args: string[]) {
  try {
    const r = await run(process.execPath, [bin, ...args], { env, cwd: home });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('the built CLI', () => {
  it('makes a finished Solana cover on embedded defaults with the Solana logo in the logo box', async () => {
    const out = join(home, 'solana.png');
    const r = await cli(['cover', 'Solana ETF inflows hit $1B', '--out', out, '--seed', '42', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { success: boolean; data: { path: string; out_path: string; logo: { symbol: string; box: { x: number; y: number; width: number; height: number } } } };
    expect(result.success).toBe(true);
    const png = readFileSync(out);
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([1200, 630, 'png']);
    expect(result.data.logo.symbol).toBe('SOL');
    const match = await bestLogoMatch(png, result.data.logo.box, ['SOL', 'BTC', 'ETH', 'XRP', 'DOGE', 'ADA', 'BNB']);
    expect(match.symbol, JSON.stringify(match.scores)).toBe('SOL');
  }, 60_000);

  it('prints reasoning and the path for people, honours --size, and the same seed gives the same image', async () => {
    const a = await cli(['cover', 'Ethereum staking hits record', '--size', '1080x1350', '--seed', '5']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/Ethereum/);
    const path = /path: (.+\.png)/.exec(a.stdout)?.[1];
    expect(path).toBeTruthy();
    expect((await sharp(path!).metadata()).height).toBe(1350);
    const b = await cli(['cover_generate', JSON.stringify({ title: 'Ethereum staking hits record', size: '1080x1350', seed: 5 }), '--json']);
    expect(JSON.parse(b.stdout).data.path).toBe(path);
  }, 60_000);

  it('runs any tool by name with the dotted spelling and exits 1 or 2 on failures', async () => {
    const ok = await cli(['cover.route', '{"title":"Ripple wins in court as XRP jumps"}', '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).data.coins[0].symbol).toBe('XRP');
    expect((await cli(['cover_route', 'not json'])).code).toBe(2);
    expect((await cli(['no_such_tool', '{}'])).code).toBe(2);
    expect((await cli(['cover', '--size', '640x480', 'x'])).code).toBe(2);
    // A path inside JSON tool input keeps the allowed-roots rule (a path typed as --out is the user's own:
    // tests/e2e/cli-paths.test.ts).
    const outside = await cli(['cover_generate', '{"title":"Bitcoin","out":"/etc/loraloop-cover.png"}']);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(/outside the allowed folders/);
    expect((await cli([])).code).toBe(2);
  }, 60_000);

  it('names a malformed environment variable and exits 2', async () => {
    const r = await run(process.execPath, [bin, 'cover', 'x'], { env: { ...env, REPLICATE_BASE_URL: 'nope' } }).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr).toContain('REPLICATE_BASE_URL');
  });
});
