/**
 * `loraloop slack` as a program: env in, a listening bot out, a clean stop on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dmEvent, eventBody, postToApp, startSlackEmulator, type SlackEmulator } from '../../emulators/slack.js';

const SECRET = 'cli-signing-secret-83b1';
const BOT_TOKEN = 'cli-bot-token-19d0c4';
let emu: SlackEmulator;
let home: string;

beforeAll(async () => {
  emu = await startSlackEmulator({ botToken: BOT_TOKEN });
  home = mkdtempSync(join(tmpdir(), 'loraloop-slack-cli-'));
});
afterAll(async () => {
  await emu.close();
  rmSync(home, { recursive: true, force: true });
});

function startCli(args: string[], env: Record<string, string>): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve('src/main.ts'), ...args], {
    cwd: process.cwd(), // tsx resolves from here; data and allowed roots come from the env
    env: { PATH: process.env.PATH ?? '', LORALOOP_HOME: join(home, 'data'), LORALOOP_ALLOWED_ROOTS: home, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stderr: () => err, exited };
}

describe('loraloop slack', () => {
  it('serves signed requests on the given port and stops cleanly on SIGTERM', async () => {
    const cli = startCli(['slack', '--port', '0'], { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: emu.apiUrl, LORALOOP_LOG_LEVEL: 'debug' });
    try {
      const url = await emu.waitFor(() => /listening on (http:\/\/\S+\/slack\/events)/.exec(cli.stderr())?.[1], 20_000);
      const ts = '1700000100.000100';
      const res = await postToApp(url, eventBody(dmEvent('cover for Solana ETF inflows hit $1B', { channel: 'DCLI', ts })), { signingSecret: SECRET });
      expect(res.status).toBe(200);
      const upload = await emu.waitFor(() => emu.uploads.find((u) => u.completed && u.channel_id === 'DCLI'), 20_000);
      expect(upload.thread_ts).toBe(ts);
      expect(upload.bytes?.length).toBeGreaterThan(1000);
      // The final edit of the progress message comes after the upload; let it land before stopping.
      await emu.waitFor(() => emu.thread('DCLI', ts).some((m) => m.text.includes('Cover ready')));
    } finally {
      cli.child.kill('SIGTERM');
    }
    expect(await cli.exited).toBe(0);
    expect(cli.stderr()).not.toContain(BOT_TOKEN);
    expect(cli.stderr()).not.toContain(SECRET);
  }, 60_000);

  it('names the missing variable and exits 1 without listening', async () => {
    const cli = startCli(['slack', '--port', '0'], { SLACK_BOT_TOKEN: BOT_TOKEN });
    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toContain('SLACK_SIGNING_SECRET is not set');
  }, 30_000);

  it('rejects a bad --port as a usage error', async () => {
    const cli = startCli(['slack', '--port', 'abc'], {});
    expect(await cli.exited).toBe(2);
    expect(cli.stderr()).toContain('--port takes a port number');
  }, 30_000);
});
