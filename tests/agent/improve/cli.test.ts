/**
 * The faces of the nightly run: `loraloop improve [--dry-run]` in-process through runCli, and `loraloop
 * daemon` as a spawned program (the cron fires every second here; logs on stderr; SIGTERM exits cleanly).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nextNightly, startSchedule } from '../../../src/agent/schedule.js';
import { loadConfig } from '../../../src/core/config.js';
import { createLogger } from '../../../src/core/logger.js';
import { runCli } from '../../../src/faces/cli/run.js';
import { createStore } from '../../../src/store/index.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function io(env: Record<string, string>) {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: (t: string) => void (out.stdout += t),
      stderr: (t: string) => void (out.stderr += t),
      isTty: false,
      env: { LORALOOP_LOG_LEVEL: 'silent', ...env },
      cwd: env.LORALOOP_HOME ?? tmpdir(),
      readStdin: async () => '',
    },
  };
}

describe('loraloop improve', () => {
  it('--dry-run --json prints the plan on stdout and changes nothing', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'loraloop-cli-improve-'));
    try {
      const c = io({ LORALOOP_HOME: home });
      const code = await runCli(['improve', '--dry-run', '--json'], c.io);
      expect(code).toBe(0);
      const parsed = JSON.parse(c.out.stdout) as { success: boolean; data: { dry_run: boolean; run_id: string | null } };
      expect(parsed.data).toMatchObject({ dry_run: true, run_id: null });
      const store = createStore(home);
      expect(await store.improve.list(5)).toEqual([]);
      await store.close();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('rejects unknown options as a usage error', async () => {
    const c = io({ LORALOOP_HOME: tmpdir() });
    expect(await runCli(['improve', '--bogus'], c.io)).toBe(2);
    expect(c.out.stderr).toMatch(/bogus/);
  });
});

describe('schedule', () => {
  it('names LORALOOP_IMPROVE_CRON when the pattern is wrong', () => {
    expect(() => startSchedule({ cron: 'every night', task: async () => {}, logger: createLogger({ level: 'silent' }) })).toThrow(/LORALOOP_IMPROVE_CRON "every night"/);
  });

  it('runs in LORALOOP_IMPROVE_TZ when set, and names it when it is not a time zone', () => {
    // 3 am in Tokyo (UTC+9, no daylight saving) is 18:00 UTC the day before.
    expect(nextNightly('0 3 * * *', loadConfig({ LORALOOP_IMPROVE_TZ: 'Asia/Tokyo' }, tmpdir()).improveTimezone)?.getUTCHours()).toBe(18);
    expect(nextNightly('0 3 * * *', 'UTC')?.getUTCHours()).toBe(3);
    expect(() => loadConfig({ LORALOOP_IMPROVE_TZ: 'Mars/Olympus_Mons' }, tmpdir())).toThrow(/LORALOOP_IMPROVE_TZ: is not an IANA time zone/);
    expect(() => nextNightly('every night')).toThrow(/LORALOOP_IMPROVE_CRON "every night"/);
  });

  it('fires the task on the pattern and stops', async () => {
    let n = 0;
    const s = startSchedule({ cron: '* * * * * *', task: async () => void n++, logger: createLogger({ level: 'silent' }) });
    expect(s.next()).toBeInstanceOf(Date);
    await new Promise((r) => setTimeout(r, 2200));
    s.stop();
    const seen = n;
    expect(seen).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 1200));
    expect(n).toBe(seen);
  });
});

describe('loraloop daemon', () => {
  it('runs the nightly improvement on its schedule, logs to stderr only, and exits cleanly on SIGTERM', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'loraloop-daemon-'));
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/main.ts'), 'daemon'], {
        cwd: REPO_ROOT,
        env: { ...process.env, LORALOOP_HOME: home, LORALOOP_IMPROVE_CRON: '* * * * * *', LORALOOP_LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      const end = Date.now() + 40_000;
      while (!/nightly run finished/.test(stderr)) {
        if (Date.now() > end) throw new Error(`no nightly run: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/loraloop daemon: following training jobs; nightly run on "\* \* \* \* \* \*"/);
      expect(stderr).toMatch(/stopping/);
      const store = createStore(home);
      const runs = await store.improve.list(50);
      await store.close();
      expect(runs.length).toBeGreaterThanOrEqual(1);
      expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);
});
