/**
 * loraloop's kohya output parser and runner against what real sd-scripts printed and wrote
 * (tests/fixtures/real-upstream: sd-scripts @48d368f, SD 1.5, presets seed-default and quality-tuned).
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../../src/app.js';
import { createKohyaOutputParser, type KohyaEvent } from '../../../src/lora/backends/kohya-output.js';
import { getTrainingJob } from '../../../src/lora/training/job.js';
import { makeTestApp } from '../../support/app.js';
import { sd15 } from '../../support/real-upstream.js';
import { callOk, REPO_ROOT, seedProject } from './helpers.js';

function parseInChunks(text: string, size: number): KohyaEvent[] {
  const p = createKohyaOutputParser();
  const out: KohyaEvent[] = [];
  for (let i = 0; i < text.length; i += size) out.push(...p.push(text.slice(i, i + size)));
  out.push(...p.end());
  return out;
}

const ofType = <T extends KohyaEvent['type']>(events: KohyaEvent[], type: T) =>
  events.filter((e): e is Extract<KohyaEvent, { type: T }> => e.type === type);

describe('kohya output parser on real sd-scripts output', () => {
  for (const run of ['seed', 'quality'] as const) {
    it(`${run}: sees model saved., every bar once and the same events however the pipe splits it`, () => {
      const err = sd15.kohya(run, 'stderr');
      const whole = parseInChunks(err, err.length);
      // The real log prints `INFO     model saved.    train_network.py:1729`: columns after the words.
      expect(ofType(whole, 'model_saved')).toHaveLength(1);
      // Every `\r` redraw of the steps bar is one event, including bars followed by a log record on the same line.
      const bars = err.match(/steps:\s+\d+%\|/g) ?? [];
      const steps = ofType(whole, 'steps');
      expect(steps).toHaveLength(bars.length);
      const total = run === 'seed' ? 12 : 4;
      expect(steps.at(-1)).toMatchObject({ step: total, total, loss: run === 'seed' ? 1.14 : 1.38, remaining_seconds: 0 });
      expect(steps.every((s) => s.loss === null || Number.isFinite(s.loss))).toBe(true);
      // Log records glued to a bar are still lines of their own (the runner keeps them for error messages).
      expect(ofType(whole, 'line').some((l) => /Failed to get git commit/.test(l.text))).toBe(true);
      expect(ofType(whole, 'line').some((l) => /^steps:/.test(l.text))).toBe(false);
      for (const size of [1, 7, 64, 701]) expect(parseInChunks(err, size)).toEqual(whole);
    });
  }

  it('reads the start summary, epochs, saves and removals from stdout', () => {
    const events = parseInChunks(sd15.kohya('seed', 'stdout'), 13);
    expect(ofType(events, 'summary').map((s) => [s.key, s.value])).toEqual([
      ['num_train_images', 4],
      ['num_batches_per_epoch', 4],
      ['num_epochs', 3],
      ['total_steps', 12],
    ]);
    expect(ofType(events, 'epoch').map((e) => e.epoch)).toEqual([1, 2, 3]);
    const dir = '/tmp/probe/run/train_seed/output-1';
    expect(ofType(events, 'checkpoint_saved').map((e) => e.path)).toEqual([
      `${dir}/probe_seed-000001.safetensors`,
      `${dir}/probe_seed-000002.safetensors`,
      `${dir}/probe_seed.safetensors`,
    ]);
    expect(ofType(events, 'checkpoint_removed').map((e) => e.path)).toEqual([`${dir}/probe_seed-000001.safetensors`]);
  });
});

interface StatusData {
  status: string;
  step: number | null;
  total_steps: number | null;
  loss: number | null;
  loss_text: string | null;
  error: string | null;
  version: number | null;
  epoch_files: Array<{ stage: number; epoch: number; path: string; bytes: number | null }>;
}

const REPLAY_CMD = `node --import tsx ${JSON.stringify(path.join(REPO_ROOT, 'tests/support/kohya-replay.ts'))}`;
const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (disposers.length) await disposers.pop()?.();
});

function replayApp(envPrefix = ''): App {
  const t = makeTestApp(
    { LORALOOP_KOHYA_CMD: `${envPrefix}${REPLAY_CMD}`, LORALOOP_KOHYA_BASE_MODEL: '/models/random_sd15.safetensors' },
    { trainingOptions: { pollIntervalMs: 50, leaseTtlMs: 3000, scanIntervalMs: 500 } },
  );
  disposers.push(t.dispose);
  return t.app;
}

async function waitStatus(app: App, jobId: string): Promise<StatusData> {
  const r = await app.tools.execute('lora_status', { job_id: jobId, wait_seconds: 60 }, app.context());
  if (!r.success) throw new Error(r.reasoning);
  return r.data as StatusData;
}

describe("loraloop's kohya runner with a trainer that replays real sd-scripts", () => {
  it('follows the real output to the end and registers the file with the real header and metadata', async () => {
    const app = replayApp();
    const loraId = await seedProject(app, { name: 'real-replay', base_model: 'sd15', images: 4 });
    const train = await callOk<{ job_id: string }>(app, 'lora_train', { lora_id: loraId, backend: 'kohya', params: { epochs: 3 } });
    const st = await waitStatus(app, train.job_id);
    expect(st).toMatchObject({ status: 'ready', step: 12, total_steps: 12, loss: 1.14, version: 1, error: null });
    // The recorded run saved epoch 1 and removed it after epoch 2 (save_last_n_epochs 1): only epoch 2 is left.
    expect(st.epoch_files.map((e) => e.epoch)).toEqual([2]);
    const kept = st.epoch_files[0];
    expect(kept && existsSync(kept.path)).toBe(true);
    // `saving checkpoint:` is printed before the file is written; the size shown is the finished file's.
    expect(kept?.bytes).toBe(kept ? statSync(kept.path).size : -1);

    const v = (await app.services.store.loras.listVersions(loraId))[0];
    const inspection = v?.inspection as { architecture: string; rank: number; metadata: Record<string, string> } | undefined;
    const real = sd15.header('seed');
    expect(inspection?.architecture).toBe('sd1');
    expect(inspection?.rank).toBe(4);
    expect(inspection?.metadata).toMatchObject({
      ss_network_dim: real.metadata['ss_network_dim'],
      ss_network_alpha: real.metadata['ss_network_alpha'],
      ss_base_model_version: 'sd_v1',
      'modelspec.architecture': 'stable-diffusion-v1/lora',
    });
  });

  it('runs two stages on real output, the second resuming from the file the first wrote', async () => {
    const app = replayApp();
    const loraId = await seedProject(app, { name: 'real-staged', base_model: 'sd15', images: 4, categories: ['closeup', 'wide'] });
    const train = await callOk<{ job_id: string }>(app, 'lora_train', {
      lora_id: loraId,
      backend: 'kohya',
      stages: [
        { name: 'broad', mix: { closeup: 1, wide: 1 }, learning_rate: 1e-4, epochs: 3 },
        { name: 'detail', mix: { closeup: 3 }, learning_rate: 5e-5, epochs: 3 },
      ],
    });
    const st = await waitStatus(app, train.job_id);
    expect(st).toMatchObject({ status: 'ready', version: 1, error: null });
    const job = await getTrainingJob(app.services, train.job_id);
    const finals = job?.state.kohya?.stage_finals ?? [];
    expect(finals.map((f) => path.basename(f))).toEqual(['real-staged-s1.safetensors', 'real-staged-s2.safetensors']);
    // The replayed trainer refuses a --network_weights file that is missing or not the recorded network.
    expect(job?.state.kohya?.args).toContain(`--network_weights=${finals[0]}`);
    expect(st.epoch_files.map((e) => [e.stage, e.epoch])).toEqual([[0, 2], [1, 2]]);
    const v = (await app.services.store.loras.listVersions(loraId))[0];
    expect((v?.inspection as { architecture: string } | undefined)?.architecture).toBe('sd1');
  });

  it('stops a run whose real-format bar shows avr_loss=nan and names the step and epoch', async () => {
    const app = replayApp('env KOHYA_REPLAY_NAN_AT=6 ');
    const loraId = await seedProject(app, { name: 'real-nan', base_model: 'sd15', images: 4 });
    const train = await callOk<{ job_id: string }>(app, 'lora_train', { lora_id: loraId, backend: 'kohya', params: { epochs: 3 } });
    const st = await waitStatus(app, train.job_id);
    expect(st.status).toBe('failed');
    expect(st.error).toMatch(/^avr_loss became nan at step 6\/12 \(epoch 2\/3\)/);
    expect(st.loss_text).toBe('nan');
    expect(await app.services.store.loras.listVersions(loraId)).toHaveLength(0);
  });
});
