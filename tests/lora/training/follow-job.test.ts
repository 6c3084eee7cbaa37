/**
 * runner.followJob, the way a worker's queue loops follow trainings: under the job's lease, one follower per
 * job in a process however many callers ask, waiting on another process's live lease, and handing the job
 * back (lease released) when its caller stops.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../../src/app.js';
import { getTrainingJob } from '../../../src/lora/training/job.js';
import { startReplicateEmulator, type ReplicateEmulator } from '../../emulators/replicate.js';
import { makeTestApp } from '../../support/app.js';
import { callOk, seedProject, until } from './helpers.js';

let emu: ReplicateEmulator;
const disposers: Array<() => Promise<void>> = [];
beforeAll(async () => {
  emu = await startReplicateEmulator();
});
afterAll(async () => {
  await emu.close();
});
afterEach(async () => {
  while (disposers.length) await disposers.pop()?.();
});

async function queuedTraining(name: string, steps: number): Promise<{ app: App; jobId: string }> {
  const t = makeTestApp(
    { REPLICATE_API_TOKEN: emu.token, REPLICATE_BASE_URL: emu.url, LORALOOP_REPLICATE_DESTINATION: `${emu.account}/brand-loras` },
    // No scan timer: only the calls below follow.
    { trainingOptions: { pollIntervalMs: 20, leaseTtlMs: 3000, scanIntervalMs: 3_600_000 } },
  );
  disposers.push(t.dispose);
  const loraId = await seedProject(t.app, { name, base_model: 'flux', images: 2 });
  const r = await callOk<{ job_id: string; started: boolean }>(t.app, 'lora_train', { lora_id: loraId, backend: 'replicate', params: { steps } });
  // No runner runs yet and there is no queue: the job waits.
  expect(r.started).toBe(false);
  return { app: t.app, jobId: r.job_id };
}

describe('runner.followJob', () => {
  it('follows a job once in a process, however many loops (and the scan) ask at once: one upload, one training', async () => {
    const { app, jobId } = await queuedTraining('follow-once', 200);
    const files = emu.state.files.length;
    const trainings = emu.state.trainings.length;
    const runner = app.services.trainingRunner();
    const signal = new AbortController().signal;
    const [a, b] = await Promise.all([runner.followJob(jobId, signal), runner.followJob(jobId, signal), runner.scan()]);
    expect([a, b]).toEqual(['ended', 'ended']);
    const job = await getTrainingJob(app.services, jobId);
    expect(job).toMatchObject({ status: 'ready', owner: null });
    expect(emu.state.files.length - files).toBe(1);
    expect(emu.state.trainings.length - trainings).toBe(1);
    expect(emu.state.trainings.at(-1)?.id).toBe(job?.remote_id);
  });

  it("leaves a job alone while another process's lease on it lives", async () => {
    const { app, jobId } = await queuedTraining('follow-held', 200);
    const requests = emu.state.requests.length;
    expect(await app.services.store.jobs.claim(jobId, 'other-host:1:abcd', 60_000)).toBe(true);
    expect(await app.services.trainingRunner().followJob(jobId, new AbortController().signal)).toBe('held');
    expect(app.services.trainingRunner().isFollowing(jobId)).toBe(false);
    expect(emu.state.requests.length).toBe(requests);
    expect((await getTrainingJob(app.services, jobId))?.status).toBe('queued');
  });

  it('stops when its caller stops, and lets the lease go so the next follower claims it at once', async () => {
    // Long enough (one tick per poll) not to end before the caller stops.
    emu.plan('training', { progressTicks: 10_000 });
    const { app, jobId } = await queuedTraining('follow-stop', 4000);
    const runner = app.services.trainingRunner();
    const ac = new AbortController();
    const following = runner.followJob(jobId, ac.signal);
    await until(async () => (await getTrainingJob(app.services, jobId))?.status === 'training', 20_000, 'the training to start');
    ac.abort();
    expect(await following).toBe('stopped');
    const job = await getTrainingJob(app.services, jobId);
    expect(job).toMatchObject({ status: 'training', owner: null });
    expect(runner.isFollowing(jobId)).toBe(false);
    // Another process takes it over straight away and follows the same remote training.
    expect(await app.services.store.jobs.claim(jobId, 'next-worker:2:beef', 3000)).toBe(true);
  });
});
