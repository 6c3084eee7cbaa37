import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'smol-toml';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../../src/app.js';
import { getTrainingJob } from '../../../src/lora/training/job.js';
import { cancelTrainingRecord } from '../../../src/lora/training/outcome.js';
import type { ProgressUpdate } from '../../../src/tools/types.js';
import { makeTestApp } from '../../support/app.js';
import { callOk, KOHYA_STANDIN_CMD, seedProject, until } from './helpers.js';
import { dataOf } from '../../support/result.js';

interface EpochFile { stage: number; epoch: number; path: string; bytes: number | null }
interface JobViewLite { job_id: string; status: string; version: number | null; variant: string | null }
interface StatusData {
  status: string;
  progress: number;
  step: number | null;
  total_steps: number | null;
  loss: number | null;
  loss_text: string | null;
  error: string | null;
  version: number | null;
  epoch_files: EpochFile[];
  jobs: JobViewLite[];
  comparison: Array<{ variant: string; status: string; version: number | null; differs: Record<string, unknown> }> | null;
}

const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (disposers.length) await disposers.pop()?.();
});

function kohyaApp(env: Record<string, string> = {}, cmdPrefix = ''): App {
  const t = makeTestApp(
    { LORALOOP_KOHYA_CMD: `${cmdPrefix}${KOHYA_STANDIN_CMD}`, LORALOOP_KOHYA_BASE_MODEL: '/models/v1-5-pruned-emaonly.safetensors', ...env },
    { trainingOptions: { pollIntervalMs: 50, leaseTtlMs: 3000, scanIntervalMs: 500 } },
  );
  disposers.push(t.dispose);
  return t.app;
}

async function waitStatus(app: App, input: Record<string, unknown>, updates: ProgressUpdate[] = []): Promise<StatusData> {
  const ctx = { ...app.context(), progress: (p: ProgressUpdate) => updates.push(p) };
  const r = await app.tools.execute('lora_status', { ...input, wait_seconds: 60 }, ctx);
  if (!r.success) throw new Error(r.reasoning);
  return r.data as StatusData;
}

describe('kohya training (sd-scripts stand-in as LORALOOP_KOHYA_CMD)', () => {
  it('trains end to end: bundle, args, epochs, final file registered with its ss_* metadata', async () => {
    const app = kohyaApp();
    const loraId = await seedProject(app, { name: 'brand-sd15', base_model: 'sd15', images: 3, trigger: 'sks brand' });
    const train = await callOk<{ job_id: string; params: Record<string, unknown> }>(app, 'lora_train', {
      lora_id: loraId,
      backend: 'kohya',
      preset: 'quality-tuned',
      params: { epochs: 3, save_every_n_epochs: 1, network_dim: 8 },
    });
    expect(train.params).toMatchObject({ max_train_epochs: 3, network_dim: 8, network_alpha: 32, learning_rate: 8e-5 });
    const updates: ProgressUpdate[] = [];
    const st = await waitStatus(app, { job_id: train.job_id }, updates);
    expect(st).toMatchObject({ status: 'ready', progress: 1, version: 1, step: 9, total_steps: 9 });
    expect(st.loss).toBeGreaterThan(0);
    expect(st.epoch_files.map((e) => e.epoch)).toEqual([1, 2]);
    for (const e of st.epoch_files) expect(existsSync(e.path)).toBe(true);
    expect(updates.some((u) => u.progress > 0 && u.progress < 100)).toBe(true);

    const job = await getTrainingJob(app.services, train.job_id);
    const args = job?.state.kohya?.args ?? [];
    expect(args).toEqual(expect.arrayContaining(['--caption_extension=.txt', '--learning_rate=0.00008', '--network_module=networks.lora', '--network_dim=8', '--network_alpha=32', '--max_train_epochs=3', '--lr_scheduler=cosine_with_restarts', '--min_snr_gamma=5', '--gradient_checkpointing']));
    const cfgArg = args.find((a) => a.startsWith('--dataset_config='))?.split('=')[1] ?? '';
    const cfg = parse(readFileSync(cfgArg, 'utf8')) as { general: Record<string, unknown> };
    expect(cfg.general).toMatchObject({ caption_extension: '.txt', keep_tokens: 1, flip_aug: false, color_aug: false });

    const v = (await app.services.store.loras.listVersions(loraId))[0];
    expect(v).toMatchObject({ version: 1, backend: 'kohya', status: 'ready' });
    const meta = (v?.inspection as { metadata: Record<string, string>; architecture: string; rank: number }).metadata;
    expect((v?.inspection as { architecture: string }).architecture).toBe('sd1');
    expect(meta).toMatchObject({ ss_network_dim: '8', ss_network_alpha: '32', ss_learning_rate: '8e-05', ss_num_epochs: '3', ss_flip_aug: 'false' });
    // The captions the trainer read (.txt, trigger first) are in ss_tag_frequency.
    expect(meta['ss_tag_frequency']).toContain('"sks brand":3');
    expect(await app.services.store.loras.get(loraId)).toMatchObject({ status: 'ready', active_version: 1 });
  });

  it('fails at once when avr_loss goes nan, and stops the trainer', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'loraloop-nan-'));
    const pidfile = path.join(dir, 'pid');
    disposers.push(async () => rmSync(dir, { recursive: true, force: true }));
    const app = kohyaApp({}, `env KOHYA_STANDIN_MODE=nan KOHYA_STANDIN_NAN_AT=3 KOHYA_STANDIN_PIDFILE=${pidfile} `);
    const loraId = await seedProject(app, { name: 'nan-sd15', base_model: 'sd15', images: 2 });
    const train = await callOk<{ job_id: string }>(app, 'lora_train', { lora_id: loraId, backend: 'kohya', params: { epochs: 50 } });
    const st = await waitStatus(app, { job_id: train.job_id });
    expect(st.status).toBe('failed');
    expect(st.error).toMatch(/^avr_loss became nan at step 3\/100 \(epoch 2\/50\)/);
    expect(st.loss_text).toBe('nan');
    const pid = Number(readFileSync(pidfile, 'utf8'));
    await until(() => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 10_000, 'the stand-in to be killed');
    const out = (await getTrainingJob(app.services, train.job_id))?.state.kohya?.args?.find((a) => a.startsWith('--output_dir='))?.split('=')[1] ?? '';
    expect(existsSync(path.join(out, 'nan-sd15.safetensors'))).toBe(false);
    expect(await app.services.store.loras.listVersions(loraId)).toHaveLength(0);
  });

  it("keeps the trainer's traceback as the error of a crashed run", async () => {
    const app = kohyaApp({}, 'env KOHYA_STANDIN_MODE=crash ');
    const loraId = await seedProject(app, { name: 'crash-sd15', base_model: 'sd15', images: 2 });
    const train = await callOk<{ job_id: string }>(app, 'lora_train', { lora_id: loraId, backend: 'kohya', params: { epochs: 2 } });
    const st = await waitStatus(app, { job_id: train.job_id });
    expect(st.status).toBe('failed');
    expect(st.error).toMatch(/^kohya exited with code 1:\nTraceback \(most recent call last\):/);
    expect(st.error).toMatch(/torch\.OutOfMemoryError: CUDA out of memory/);
  });

  it('runs stages with their own mix and learning rate, each resuming from the previous weights', async () => {
    const app = kohyaApp();
    const loraId = await seedProject(app, { name: 'staged', base_model: 'sd15', images: 4, categories: ['closeup', 'wide'] });
    const train = await callOk<{ job_id: string }>(app, 'lora_train', {
      lora_id: loraId,
      backend: 'kohya',
      stages: [
        { name: 'broad', mix: { closeup: 1, wide: 1 }, learning_rate: 2e-4, epochs: 1 },
        { name: 'detail', mix: { closeup: 3 }, learning_rate: 5e-5, epochs: 2 },
      ],
    });
    const st = await waitStatus(app, { job_id: train.job_id });
    expect(st.status).toBe('ready');
    const job = await getTrainingJob(app.services, train.job_id);
    const finals = job?.state.kohya?.stage_finals ?? [];
    expect(finals).toHaveLength(2);
    const args = job?.state.kohya?.args ?? [];
    expect(args).toEqual(expect.arrayContaining([`--network_weights=${finals[0]}`, '--learning_rate=0.00005', '--max_train_epochs=2']));
    const cfg = parse(readFileSync(args.find((a) => a.startsWith('--dataset_config='))?.split('=')[1] ?? '', 'utf8')) as {
      datasets: Array<{ subsets: Array<{ image_dir: string; num_repeats: number }> }>;
    };
    const repeats = Object.fromEntries(cfg.datasets[0]?.subsets.map((s) => [path.basename(s.image_dir), s.num_repeats]) ?? []);
    expect(repeats).toEqual({ closeup: 3, wide: 1 });
    const meta = ((await app.services.store.loras.listVersions(loraId))[0]?.inspection as { metadata: Record<string, string> }).metadata;
    expect(meta['ss_training_comment']).toBe(`resumed from network_weights=${finals[0]}`);
    expect(st.epoch_files.map((e) => [e.stage, e.epoch])).toEqual([[1, 1]]);
  });

  it('runs variants as sibling jobs and compares them side by side', async () => {
    const app = kohyaApp();
    const loraId = await seedProject(app, { name: 'ablation', base_model: 'sd15', images: 2 });
    const train = await callOk<{ job_ids: string[] }>(app, 'lora_train', {
      lora_id: loraId,
      backend: 'kohya',
      params: { epochs: 1 },
      variants: [{ name: 'rank4', params: { network_dim: 4 } }, { name: 'rank16', params: { network_dim: 16, lr: 5e-5 } }],
    });
    expect(train.job_ids).toHaveLength(2);
    const st = await waitStatus(app, { lora_id: loraId });
    expect(st.jobs.map((j) => j.status)).toEqual(['ready', 'ready']);
    expect(st.comparison).toEqual([
      expect.objectContaining({ variant: 'rank16', status: 'ready', differs: { learning_rate: 5e-5, network_dim: 16 } }),
      expect.objectContaining({ variant: 'rank4', status: 'ready', differs: { learning_rate: 1e-4, network_dim: 4 } }),
    ]);
    const versions = await app.services.store.loras.listVersions(loraId);
    expect(versions.map((v) => v.status)).toEqual(['candidate', 'candidate']);
    expect((await app.services.store.loras.get(loraId))?.active_version).toBeNull();
  });

  it('cancels a running kohya job by stopping the trainer', async () => {
    const app = kohyaApp({}, 'env KOHYA_STANDIN_STEP_MS=300 ');
    const loraId = await seedProject(app, { name: 'cancel-sd15', base_model: 'sd15', images: 2 });
    const train = await callOk<{ job_id: string }>(app, 'lora_train', { lora_id: loraId, backend: 'kohya', params: { epochs: 20 } });
    app.services.trainingRunner().start();
    await until(async () => ((await getTrainingJob(app.services, train.job_id))?.state.step ?? 0) >= 1, 20_000, 'steps');
    const c = await callOk<{ canceled: Array<{ remote_canceled: boolean }> }>(app, 'lora_cancel', { lora_id: loraId });
    expect(c.canceled).toEqual([expect.objectContaining({ remote_canceled: true })]);
    await until(() => !app.services.trainingRunner().isFollowing(train.job_id), 10_000, 'the run to stop');
    const job = await getTrainingJob(app.services, train.job_id);
    expect(job?.status).toBe('canceled');
    const pid = job?.state.kohya?.pid ?? 0;
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('stops the trainer when the job is canceled from another process (only the record changes)', async () => {
    const app = kohyaApp({}, 'env KOHYA_STANDIN_STEP_MS=300 ');
    const loraId = await seedProject(app, { name: 'xcancel-sd15', base_model: 'sd15', images: 2 });
    const train = await callOk<{ job_id: string }>(app, 'lora_train', { lora_id: loraId, backend: 'kohya', params: { epochs: 20 } });
    app.services.trainingRunner().start();
    await until(async () => ((await getTrainingJob(app.services, train.job_id))?.state.step ?? 0) >= 1, 20_000, 'steps');
    // What lora_cancel in another process does: it cannot reach our child, it marks the record.
    await cancelTrainingRecord(app.services, train.job_id, 'Canceled with lora_cancel.');
    await until(() => !app.services.trainingRunner().isFollowing(train.job_id), 10_000, 'the run to stop');
    const job = await getTrainingJob(app.services, train.job_id);
    expect(job).toMatchObject({ status: 'canceled', error: 'Canceled with lora_cancel.' });
    expect(() => process.kill(job?.state.kohya?.pid ?? 0, 0)).toThrow();
  });
});

describe('lora_status from a one-shot CLI call', () => {
  it('does not start a kohya run it could not keep alive, and says what to start', async () => {
    const app = kohyaApp();
    const loraId = await seedProject(app, { name: 'cli-sd15', base_model: 'sd15', images: 1 });
    const train = await callOk<{ job_id: string }>(app, 'lora_train', { lora_id: loraId, backend: 'kohya' });
    const r = await app.tools.execute('lora_status', { job_id: train.job_id, wait_seconds: 30 }, app.context('cli'));
    expect(r.success).toBe(true);
    expect(dataOf(r)).toMatchObject({ status: 'queued', done: false });
    expect(r.reasoning).toMatch(/start the MCP server or the daemon/);
    expect(app.services.trainingRunner().running).toBe(false);
    expect((await getTrainingJob(app.services, train.job_id))?.state.kohya?.launched_at).toBeUndefined();
  });
});
