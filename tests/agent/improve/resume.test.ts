/**
 * A nightly run killed in the middle (SIGKILL while its training runs) is continued by the next run: the
 * finished steps are not redone, the training it started is followed, not started again, and the run ends
 * with the evaluation and the promotion.
 */
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplicateEmulator, type ReplicateEmulator } from '../../emulators/replicate.js';
import { callOk, improveApp, replicateEnv, trainedProject, upload, type RunData } from './helpers.js';
import { databaseEnvFor } from '../../support/database.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(here, '../../..');
const CHILD = path.join(here, 'improve-child.ts');

let emu: ReplicateEmulator;
let stepper: NodeJS.Timeout | undefined;
/** Jobs move only while the stepper runs: the test decides when the training may progress. */
const stepping = (on: boolean): void => {
  if (stepper) clearInterval(stepper);
  stepper = on ? setInterval(() => emu.step(), 30) : undefined;
};

beforeAll(async () => {
  emu = await startReplicateEmulator({ drive: { by: 'manual' } });
});
afterAll(async () => {
  stepping(false);
  await emu.close();
});

async function until<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a killed nightly run continues where it stopped', () => {
  it('follows the training the killed run started instead of starting another, then evaluates and promotes', async () => {
    const t = improveApp(emu, { versions: new Set([1]) });
    try {
      const app = t.app;
      stepping(true);
      const loraId = await trainedProject(app);
      stepping(false);
      await upload(app, loraId, 5);
      const before = emu.state.trainings.length;

      const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...databaseEnvFor(t.home), LORALOOP_HOME: t.home, LORALOOP_ALLOWED_ROOTS: `${t.home}:${tmpdir()}`, ...replicateEnv(emu) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      const exited = new Promise<void>((r) => child.on('exit', () => r()));
      const repo = app.services.store.improve;
      // The child has started the training (the emulator has it) and recorded its job id.
      const runId = await until(async () => (await repo.unfinished())?.id, 30_000, `the child's run (${out})`);
      await until(async () => emu.state.trainings.length > before && (await repo.step<{ job_id?: string }>(runId, loraId, 'train'))?.data.job_id, 30_000, 'the training to be submitted');
      const curated = await repo.step(runId, loraId, 'curate');
      child.kill('SIGKILL');
      await exited;
      expect(out).not.toMatch(/DONE/);
      const jobId = (await repo.step<{ job_id: string }>(runId, loraId, 'train'))?.data.job_id;

      // The next run takes over once the dead process's lease lapses, and lets the training finish.
      stepping(true);
      await until(async () => {
        const h = await app.services.store.leases.holder('improve_run');
        return !h || Date.parse(h.expires_at) < Date.now();
      }, 10_000, 'the lease to lapse');
      const run = await callOk<RunData>(app, 'improve_run', {});
      stepping(false);
      expect(run).toMatchObject({ run_id: runId, resumed: true });
      const sol = run.loras.find((l) => l.lora_id === loraId);
      expect(sol).toMatchObject({ outcome: 'promoted', job_id: jobId, candidate_version: 2 });
      // One training for the whole run, and the finished step was not redone.
      expect(emu.state.trainings.length - before).toBe(1);
      expect((await repo.step(runId, loraId, 'curate'))?.finished_at).toBe(curated?.finished_at);
      expect((await app.services.store.loras.get(loraId))?.active_version).toBe(2);
      expect((await repo.get(runId))?.status).toBe('succeeded');
    } finally {
      stepping(false);
      await t.dispose();
    }
  }, 120_000);
});
