import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { unzipSync } from 'fflate';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../../src/app.js';
import { signWebhook } from '../../../src/core/webhook.js';
import { handleReplicateWebhook } from '../../../src/lora/backends/replicate-trainer.js';
import { getTrainingJob } from '../../../src/lora/training/job.js';
import type { ProgressUpdate } from '../../../src/tools/types.js';
import { startReplicateEmulator, type ReplicateEmulator } from '../../emulators/replicate.js';
import { makeTestApp } from '../../support/app.js';
import { call, callOk, seedProject, until } from './helpers.js';
import { errorOf } from '../../support/result.js';

interface StatusData {
  status: string;
  progress: number;
  step: number | null;
  total_steps: number | null;
  loss: number | null;
  error: string | null;
  version: number | null;
  done: boolean;
}

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
  emu.faults.clear();
});

function replicateApp(extra: { pollIntervalMs?: number; webhookUrl?: string } = {}): App {
  const t = makeTestApp(
    {
      REPLICATE_API_TOKEN: emu.token,
      REPLICATE_BASE_URL: emu.url,
      LORALOOP_REPLICATE_DESTINATION: `${emu.account}/brand-loras`,
      REPLICATE_WEBHOOK_SECRET: emu.webhookSecret,
    },
    { trainingOptions: { pollIntervalMs: extra.pollIntervalMs ?? 20, leaseTtlMs: 3000, scanIntervalMs: 500, ...(extra.webhookUrl ? { webhookUrl: extra.webhookUrl } : {}) } },
  );
  disposers.push(t.dispose);
  return t.app;
}

async function waitStatus(app: App, jobId: string, updates: ProgressUpdate[] = []): Promise<StatusData> {
  const ctx = { ...app.context(), progress: (p: ProgressUpdate) => updates.push(p) };
  const r = await app.tools.execute('lora_status', { job_id: jobId, wait_seconds: 25 }, ctx);
  if (!r.success) throw new Error(r.reasoning);
  return r.data as StatusData;
}

const creates = () => emu.state.requests.filter((r) => r.method === 'POST' && /\/trainings$/.test(r.path));

describe('Replicate training (official client against the emulator)', () => {
  it('trains end to end: zip with the trigger first, progress, weights registered as v1 and inspected', async () => {
    // Each poll moves the emulated training one tick: polls slower than lora_status's 100 ms look let it see
    // the training part-way (at 20 ms the whole training can pass between two looks).
    const app = replicateApp({ pollIntervalMs: 120 });
    const loraId = await seedProject(app, { name: 'sol-flux', base_model: 'flux', images: 3, trigger: 'sks solana' });
    const before = emu.state.trainings.length;
    const train = await callOk<{ job_id: string; status: string; params: Record<string, unknown> }>(app, 'lora_train', {
      lora_id: loraId,
      backend: 'replicate',
      params: { steps: 500, rank: 8 },
    });
    expect(train.status).toBe('queued');
    expect(train.params).toEqual({ steps: 500, lora_rank: 8 });
    const updates: ProgressUpdate[] = [];
    const st = await waitStatus(app, train.job_id, updates);
    expect(st).toMatchObject({ status: 'ready', progress: 1, version: 1, done: true, total_steps: 500, step: 500 });
    expect(st.loss).toBeGreaterThan(0);
    // progress notifications went up while waiting
    const values = updates.map((u) => u.progress);
    expect(values.length).toBeGreaterThan(2);
    expect(values.some((v) => v > 0 && v < 100)).toBe(true);

    expect(emu.state.trainings.length - before).toBe(1);
    const remote = emu.state.trainings.at(-1);
    expect(remote?.input).toMatchObject({ steps: 500, lora_rank: 8, autocaption: false, trigger_word: 'sks solana' });
    const fileId = String(remote?.input['input_images']).split('/').pop();
    const zip = emu.state.files.find((f) => f.object.id === fileId);
    const entries = unzipSync(new Uint8Array(zip?.bytes ?? Buffer.alloc(0)));
    const captions = Object.entries(entries).filter(([n]) => n.endsWith('.txt')).map(([, b]) => Buffer.from(b).toString('utf8'));
    expect(captions).toHaveLength(3);
    for (const c of captions) expect(c.startsWith('sks solana')).toBe(true);

    const versions = await app.services.store.loras.listVersions(loraId);
    expect(versions).toHaveLength(1);
    const v = versions[0];
    expect(v?.remote_version).toBe((remote?.output as { version: string }).version);
    expect(v?.backend).toBe('replicate');
    expect(v?.inspection).toMatchObject({ architecture: 'flux1' });
    expect(v?.file_path).toMatch(/\.safetensors$/);
    expect(await app.services.store.loras.get(loraId)).toMatchObject({ status: 'ready', active_version: 1 });
  });

  it('waits out a 429 with Retry-After while polling', async () => {
    const app = replicateApp();
    const loraId = await seedProject(app, { name: 'rl-flux', base_model: 'flux', images: 2 });
    emu.faults.add({ kind: 'rate_limit', method: 'GET', path: /^\/v1\/trainings\/[^/]+$/, times: 1, retryAfter: '1' });
    const train = await callOk<{ job_id: string }>(app, 'lora_train', { lora_id: loraId, backend: 'replicate' });
    const st = await waitStatus(app, train.job_id);
    expect(st.status).toBe('ready');
    const polls = emu.state.requests.filter((r) => r.method === 'GET' && /^\/v1\/trainings\/[^/]+$/.test(r.path));
    const limited = polls.findIndex((r) => r.status === 429);
    expect(limited).toBeGreaterThanOrEqual(0);
    const next = polls[limited + 1];
    // The retry came after the server's Retry-After, not in the client's own burst.
    expect((next?.at ?? 0) - (polls[limited]?.at ?? 0)).toBeGreaterThanOrEqual(900);
    expect(polls.filter((r) => r.status === 429)).toHaveLength(1);
  });

  it('keeps the backend error of a failed training', async () => {
    const app = replicateApp();
    const loraId = await seedProject(app, { name: 'fail-flux', base_model: 'flux', images: 2 });
    emu.plan('training', { outcome: 'failed', error: 'CUDA out of memory. Tried to allocate 8.00 GiB' });
    const train = await callOk<{ job_id: string }>(app, 'lora_train', { lora_id: loraId, backend: 'replicate' });
    const st = await waitStatus(app, train.job_id);
    expect(st.status).toBe('failed');
    expect(st.error).toBe('CUDA out of memory. Tried to allocate 8.00 GiB');
    expect(await app.services.store.loras.listVersions(loraId)).toHaveLength(0);
    expect((await app.services.store.loras.get(loraId))?.status).toBe('failed');
  });

  it('cancels a running training remotely', async () => {
    const app = replicateApp();
    const loraId = await seedProject(app, { name: 'cancel-flux', base_model: 'flux', images: 2 });
    emu.plan('training', { progressTicks: 100_000 });
    const train = await callOk<{ job_id: string }>(app, 'lora_train', { lora_id: loraId, backend: 'replicate' });
    app.services.trainingRunner().start();
    await until(async () => (await getTrainingJob(app.services, train.job_id))?.status === 'training', 15_000, 'training to run');
    const remoteId = (await getTrainingJob(app.services, train.job_id))?.remote_id;
    const c = await callOk<{ canceled: Array<{ job_id: string; remote_canceled: boolean }> }>(app, 'lora_cancel', { job_id: train.job_id });
    expect(c.canceled).toEqual([{ job_id: train.job_id, previous_status: 'training', remote_canceled: true }]);
    expect(emu.state.trainings.find((t) => t.id === remoteId)?.status).toBe('canceled');
    const st = await callOk<StatusData>(app, 'lora_status', { job_id: train.job_id });
    expect(st.status).toBe('canceled');
    await until(() => !app.services.trainingRunner().isFollowing(train.job_id), 5000, 'the follower to stop');
    const again = await callOk<{ canceled: unknown[]; already_ended: unknown[] }>(app, 'lora_cancel', { job_id: train.job_id });
    expect(again).toEqual({ canceled: [], already_ended: [{ job_id: train.job_id, status: 'canceled' }] });
  });

  it('refuses out-of-range params before any request, naming every field', async () => {
    const app = replicateApp();
    const loraId = await seedProject(app, { name: 'val-flux', base_model: 'flux', images: 2 });
    const seen = emu.state.requests.length;
    const r = await call(app, 'lora_train', {
      lora_id: loraId,
      backend: 'replicate',
      params: { steps: 7000, lora_rank: 0 },
      variants: [{ params: {} }, { params: { optimizer: 'sgd' } }],
    });
    expect(r.success).toBe(false);
    expect(r.reasoning).toMatch(/variants\[0\]\.params\.steps/);
    expect(r.reasoning).toMatch(/lora_rank/);
    expect(r.reasoning).toMatch(/variants\[1\]\.params\.optimizer/);
    expect(emu.state.requests.length).toBe(seen);
    expect(await app.services.store.jobs.list({ kind: 'lora_training' })).toHaveLength(0);
    const stages = await call(app, 'lora_train', { lora_id: loraId, backend: 'replicate', stages: [{ mix: {}, learning_rate: 1e-4, epochs: 2 }] });
    expect(stages.reasoning).toMatch(/Stages need the kohya backend/);
  });

  it('adopts the training whose create answer was lost instead of creating a second one', async () => {
    const app = replicateApp();
    const loraId = await seedProject(app, { name: 'cut-flux', base_model: 'flux', images: 2 });
    const before = emu.state.trainings.length;
    emu.faults.add({ kind: 'cut', method: 'POST', path: /\/trainings$/, times: 1 });
    const train = await callOk<{ job_id: string }>(app, 'lora_train', { lora_id: loraId, backend: 'replicate' });
    const st = await waitStatus(app, train.job_id);
    expect(st.status).toBe('ready');
    expect(emu.state.trainings.length - before).toBe(1);
    expect(creates().filter((r) => r.status === 'cut')).toHaveLength(1);
    expect((await getTrainingJob(app.services, train.job_id))?.remote_id).toBe(emu.state.trainings.at(-1)?.id);
  });

  it('follows webhooks (signed, idempotent, nothing after the end) and registers on the completed event', async () => {
    const { holder, answers, hookUrl } = await webhookReceiver();
    // Polling is slow here (60 s): only webhooks can move the job in time.
    const app = replicateApp({ pollIntervalMs: 60_000, webhookUrl: hookUrl });
    holder.app = app;
    const loraId = await seedProject(app, { name: 'hook-flux', base_model: 'flux', images: 2 });
    emu.plan('training', { progressTicks: 2 });
    const train = await callOk<{ job_id: string }>(app, 'lora_train', { lora_id: loraId, backend: 'replicate' });
    app.services.trainingRunner().start();
    await until(async () => (await getTrainingJob(app.services, train.job_id))?.remote_id != null, 15_000, 'the training to be created');
    const remote = emu.state.trainings.at(-1);
    expect(remote?.webhook).toBe(`${hookUrl}?job_id=${train.job_id}`);
    emu.step(remote?.id, 1);
    await emu.webhooksIdle();
    expect((await getTrainingJob(app.services, train.job_id))?.status).toBe('training');
    emu.step(remote?.id, 10);
    await emu.webhooksIdle();
    await until(async () => (await getTrainingJob(app.services, train.job_id))?.status === 'ready', 15_000, 'ready after the completed webhook');
    expect(answers.every((s) => s === 200)).toBe(true);
    expect(await app.services.store.loras.listVersions(loraId)).toHaveLength(1);

    // A replayed terminal delivery changes nothing; a tampered or stale one is refused.
    const last = emu.state.webhooks.at(-1);
    const body = last?.body ?? '';
    const ts = Math.floor(Date.now() / 1000);
    const headers = (b: string, t: number) => ({ 'webhook-id': 'msg_1', 'webhook-timestamp': String(t), 'webhook-signature': signWebhook({ id: 'msg_1', timestamp: t, body: b, secret: emu.webhookSecret }) });
    expect(await handleReplicateWebhook(app.services, body, headers(body, ts))).toMatchObject({ status: 200, body: 'ignored: job already ended' });
    const processing = body.replace('"status":"succeeded"', '"status":"processing"');
    expect((await handleReplicateWebhook(app.services, processing, headers(body, ts))).status).toBe(401);
    expect((await handleReplicateWebhook(app.services, body, headers(body, ts - 3600))).status).toBe(401);
    expect(await app.services.store.loras.listVersions(loraId)).toHaveLength(1);
    expect((await getTrainingJob(app.services, train.job_id))?.status).toBe('ready');
  });
});

describe('a completed webhook that arrives while the follower is mid-poll', () => {
  it('is not lost: the follower polls again at once instead of sleeping its whole interval', async () => {
    const { holder, hookUrl } = await webhookReceiver();
    const app = replicateApp({ pollIntervalMs: 60_000, webhookUrl: hookUrl });
    holder.app = app;
    const loraId = await seedProject(app, { name: 'midpoll-flux', base_model: 'flux', images: 2 });
    emu.plan('training', { progressTicks: 2 });
    // The follower's first poll is read at once but answered 1.5 s later: it will carry the old status.
    emu.faults.add({ kind: 'late', method: 'GET', path: /^\/v1\/trainings\/[^/]+$/, delayMs: 1500 });
    const train = await callOk<{ job_id: string }>(app, 'lora_train', { lora_id: loraId, backend: 'replicate' });
    app.services.trainingRunner().start();
    await until(async () => (await getTrainingJob(app.services, train.job_id))?.remote_id != null, 15_000, 'the training to be created');
    const remoteId = (await getTrainingJob(app.services, train.job_id))?.remote_id;
    await until(() => emu.state.requests.some((r) => r.method === 'GET' && r.path === `/v1/trainings/${remoteId}`), 15_000, 'the first poll');
    const remote = emu.state.trainings.find((t) => t.id === remoteId);
    expect(remote?.status).not.toBe('succeeded');
    emu.step(remoteId ?? undefined, 10);
    await emu.webhooksIdle();
    // The nudge came while no sleep was running; with the 60 s interval only a kept nudge finishes it in time.
    await until(async () => (await getTrainingJob(app.services, train.job_id))?.status === 'ready', 10_000, 'ready soon after the mid-poll webhook');
    expect(await app.services.store.loras.listVersions(loraId)).toHaveLength(1);
  });
});

async function webhookReceiver(): Promise<{ holder: { app?: App }; answers: number[]; hookUrl: string }> {
  const holder: { app?: App } = {};
  const answers: number[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handleReplicateWebhook((holder.app as App).services, Buffer.concat(chunks), req.headers).then((a) => {
        answers.push(a.status);
        res.writeHead(a.status).end(a.body);
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  disposers.push(() => new Promise((r) => server.close(() => r())));
  return { holder, answers, hookUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/replicate/webhook` };
}

describe('Replicate refusals keep the API text', () => {
  it('fails the job with the API error when the destination does not exist', async () => {
    const t = makeTestApp(
      { REPLICATE_API_TOKEN: emu.token, REPLICATE_BASE_URL: emu.url, LORALOOP_REPLICATE_DESTINATION: `${emu.account}/no-such-model` },
      { trainingOptions: { pollIntervalMs: 20, leaseTtlMs: 3000, scanIntervalMs: 500 } },
    );
    disposers.push(t.dispose);
    const loraId = await seedProject(t.app, { name: 'nodest', base_model: 'flux', images: 1 });
    const before = emu.state.trainings.length;
    const train = await callOk<{ job_id: string }>(t.app, 'lora_train', { lora_id: loraId, backend: 'replicate' });
    const st = await waitStatus(t.app, train.job_id);
    expect(st.status).toBe('failed');
    expect(st.error).toMatch(/404/);
    expect(st.error).toMatch(/does not exist/);
    expect(emu.state.trainings.length).toBe(before);
  });
});

describe('no training backend configured', () => {
  it('names what to set and points to dataset_export', async () => {
    const t = makeTestApp();
    disposers.push(t.dispose);
    const loraId = await seedProject(t.app, { name: 'nobackend', base_model: 'flux', images: 1 });
    const r = await call(t.app, 'lora_train', { lora_id: loraId, backend: 'replicate' });
    expect(r.success).toBe(false);
    expect(errorOf(r)).toMatchObject({ code: 'NOT_CONFIGURED' });
    expect(r.reasoning).toMatch(/REPLICATE_API_TOKEN/);
    expect(r.reasoning).toMatch(/LORALOOP_REPLICATE_DESTINATION/);
    expect(r.reasoning).toMatch(/dataset_export/);
    const k = await call(t.app, 'lora_train', { lora_id: loraId, backend: 'kohya' });
    expect(k.reasoning).toMatch(/LORALOOP_KOHYA_CMD/);
    expect(k.reasoning).toMatch(/LORALOOP_KOHYA_BASE_MODEL/);
    expect(k.reasoning).toMatch(/dataset_export/);
  });
});
