import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTrainingJob } from '../../../src/lora/training/job.js';
import { startReplicateEmulator, type ReplicateEmulator } from '../../emulators/replicate.js';
import { makeTestApp } from '../../support/app.js';
import { KOHYA_STANDIN_CMD, REPO_ROOT, seedProject, until } from './helpers.js';
import { databaseEnvFor } from '../../support/database.js';

const CHILD = path.join(REPO_ROOT, 'tests/lora/training/train-child.ts');

/** Start a loraloop child; resolves its stdout lines as they come. */
function startChild(mode: 'train' | 'follow', env: Record<string, string>): { child: ChildProcess; lines: string[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode], {
    cwd: REPO_ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let buf = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (c: string) => {
    buf += c;
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, lines, exited };
}

function lineWith(lines: string[], prefix: string): string | undefined {
  return lines.find((l) => l.startsWith(prefix))?.slice(prefix.length + 1);
}

describe('a training job outlives its process (SIGKILL mid-training, then restart)', () => {
  let emu: ReplicateEmulator;
  beforeAll(async () => {
    emu = await startReplicateEmulator({ trainingPlan: { progressTicks: 40 } });
  });
  afterAll(async () => {
    await emu.close();
  });

  it('Replicate: the restarted process follows the same training to the end; exactly one training was created', async () => {
    const env = {
      REPLICATE_API_TOKEN: emu.token,
      REPLICATE_BASE_URL: emu.url,
      LORALOOP_REPLICATE_DESTINATION: `${emu.account}/brand-loras`,
    };
    const t = makeTestApp(env);
    try {
      const loraId = await seedProject(t.app, { name: 'kill-flux', base_model: 'flux', images: 2 });
      const childEnv = { ...env, ...databaseEnvFor(t.home), LORALOOP_HOME: t.home, LORALOOP_ALLOWED_ROOTS: t.home, CHILD_TRAIN_INPUT: JSON.stringify({ lora_id: loraId, backend: 'replicate', params: { steps: 400 } }) };
      const first = startChild('train', childEnv);
      await until(() => lineWith(first.lines, 'JOB') !== undefined, 30_000, 'the job id');
      const jobId = lineWith(first.lines, 'JOB') as string;
      // Kill it once the remote training is visibly under way.
      await until(() => /flux_train_replicate:\s+\d+%\|[^|]*\|\s*[1-9]\d*\//.test(emu.state.trainings[0]?.logs ?? ''), 30_000, 'training progress');
      first.child.kill('SIGKILL');
      await first.exited;
      const mid = await getTrainingJob(t.app.services, jobId);
      expect(mid?.status).toBe('training');
      expect(mid?.remote_id).toBe(emu.state.trainings[0]?.id);
      expect(emu.state.trainings[0]?.status).toBe('processing');

      const second = startChild('follow', { ...childEnv, CHILD_JOB_ID: jobId });
      await until(() => lineWith(second.lines, 'DONE') !== undefined, 45_000, 'the job to end');
      await second.exited;
      const done = JSON.parse(lineWith(second.lines, 'DONE') as string) as { status: string; version: number; remote_id: string };
      expect(done).toMatchObject({ status: 'ready', version: 1, remote_id: emu.state.trainings[0]?.id });
      expect(emu.state.trainings).toHaveLength(1);
      expect(emu.state.requests.filter((r) => r.method === 'POST' && /\/trainings$/.test(r.path))).toHaveLength(1);
      expect((await t.app.services.store.loras.listVersions(loraId)).map((v) => v.version)).toEqual([1]);
    } finally {
      await t.dispose();
    }
  }, 90_000);

  it('kohya: a run killed before writing anything is run again and completes', async () => {
    const env = {
      LORALOOP_KOHYA_CMD: `env KOHYA_STANDIN_STEP_MS=150 ${KOHYA_STANDIN_CMD}`,
      LORALOOP_KOHYA_BASE_MODEL: '/models/v1-5-pruned-emaonly.safetensors',
    };
    const t = makeTestApp(env);
    try {
      const loraId = await seedProject(t.app, { name: 'kill-sd15', base_model: 'sd15', images: 2 });
      const childEnv = { ...env, ...databaseEnvFor(t.home), LORALOOP_HOME: t.home, LORALOOP_ALLOWED_ROOTS: t.home, CHILD_TRAIN_INPUT: JSON.stringify({ lora_id: loraId, backend: 'kohya', params: { epochs: 3, save_every_n_epochs: 5 } }) };
      const first = startChild('train', childEnv);
      await until(() => lineWith(first.lines, 'JOB') !== undefined, 30_000, 'the job id');
      const jobId = lineWith(first.lines, 'JOB') as string;
      await until(async () => ((await getTrainingJob(t.app.services, jobId))?.state.step ?? 0) >= 1, 30_000, 'kohya steps');
      first.child.kill('SIGKILL');
      await first.exited;
      const second = startChild('follow', { ...childEnv, CHILD_JOB_ID: jobId });
      await until(() => lineWith(second.lines, 'DONE') !== undefined, 60_000, 'the job to end');
      await second.exited;
      const done = JSON.parse(lineWith(second.lines, 'DONE') as string) as { status: string; version: number; attempt: number };
      expect(done).toMatchObject({ status: 'ready', version: 1, attempt: 0 });
      const job = await getTrainingJob(t.app.services, jobId);
      expect(job?.state.kohya?.args?.find((a) => a.startsWith('--output_dir='))).toMatch(/output-2$/);
    } finally {
      await t.dispose();
    }
  }, 90_000);
});
