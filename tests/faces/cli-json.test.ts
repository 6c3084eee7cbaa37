/**
 * The CLI's `--json` output is what scripts parse: one shape for both outcomes, a failure's error under `data`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/faces/cli/run.js';

const home = mkdtempSync(path.join(tmpdir(), 'loraloop-cli-json-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const code = await runCli(args, {
    stdout: (t) => void (out.stdout += t),
    stderr: (t) => void (out.stderr += t),
    isTty: false,
    env: { LORALOOP_HOME: home, LORALOOP_LOG_LEVEL: 'silent' },
    cwd: home,
    readStdin: async () => '',
  });
  return { code, ...out };
}

describe('loraloop <tool> --json', () => {
  it('prints a failure as {success, data: {error}, reasoning} and exits 1', async () => {
    const r = await cli(['lora_delete', '{"lora_id": "no-such-lora"}', '--json']);
    expect(r.code).toBe(1);
    const parsed = JSON.parse(r.stdout) as { success: boolean; data: { error: { code: string; category: string; message: string } }; reasoning: string };
    expect(Object.keys(parsed)).toEqual(['success', 'data', 'reasoning']);
    expect(parsed.success).toBe(false);
    expect(Object.keys(parsed.data)).toEqual(['error']);
    expect(parsed.data.error).toMatchObject({ code: 'NOT_FOUND', category: 'user' });
    expect(parsed.reasoning).toContain(parsed.data.error.message);
    expect(r.stdout).toBe(JSON.stringify(parsed, null, 2) + '\n');
  });

  it('exits 2 for invalid input, with the hint in the error', async () => {
    const r = await cli(['cover_route', '{"title": 5}', '--json']);
    expect(r.code).toBe(2);
    const parsed = JSON.parse(r.stdout) as { success: boolean; data: { error: { code: string; hint?: string } } };
    expect(parsed).toMatchObject({ success: false, data: { error: { code: 'INVALID_INPUT', category: 'user', hint: 'Fix the fields named above and call again.' } } });
  });

  it('prints a success as {success, data, reasoning} with the data as the tool returned it', async () => {
    const r = await cli(['lora_list', '{}', '--json']);
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout) as { success: boolean; data: { count: number } };
    expect(Object.keys(parsed)).toEqual(['success', 'data', 'reasoning']);
    expect(parsed).toMatchObject({ success: true, data: { count: 0 } });
  });
});
