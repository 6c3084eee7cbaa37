/**
 * loraloop's kohya backend against what real sd-scripts @48d368f printed and wrote while loraloop itself drove it
 * on a GPU (tests/fixtures/real-upstream/sd-scripts-48d368f-staged): SD 1.5 (train_network.py) and SDXL
 * (sdxl_train_network.py), two stages each, the second resuming from the first with --network_weights.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'smol-toml';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../../src/app.js';
import { createKohyaOutputParser, type KohyaEvent } from '../../../src/lora/backends/kohya-output.js';
import { getTrainingJob, type TrainingJob } from '../../../src/lora/training/job.js';
import { makeTestApp } from '../../support/app.js';
import { kohyaStaged, type KohyaStagedRecording } from '../../support/real-upstream.js';
import { callOk, REPO_ROOT, seedProject } from './helpers.js';

const ofType = <T extends KohyaEvent['type']>(events: KohyaEvent[], type: T) =>
  events.filter((e): e is Extract<KohyaEvent, { type: T }> => e.type === type);

/** One parser per pipe, fed chunk by chunk in the order the pipes delivered them, as the runner does. */
function parseChild(rec: KohyaStagedRecording, child: number): KohyaEvent[] {
  const parsers = { stdout: createKohyaOutputParser(), stderr: createKohyaOutputParser() };
  const out: KohyaEvent[] = [];
  for (const c of rec.chunks) if (c.child === child) out.push(...parsers[c.stream].push(c.text));
  out.push(...parsers.stdout.end(), ...parsers.stderr.end());
  return out;
}

interface RecordedState {
  step: number | null;
  total_steps: number | null;
  loss: number | null;
  epoch: number | null;
  total_epochs: number | null;
  stage_index: number;
  epoch_files: Array<{ stage: number; epoch: number; bytes: number | null }>;
}
const stateOf = (rec: KohyaStagedRecording) => rec.final_record.state as unknown as RecordedState;

describe('kohya output parser on real staged sd-scripts output (SD 1.5 and SDXL)', () => {
  for (const run of ['sd15', 'sdxl'] as const) {
    const rec = kohyaStaged.recording(run);
    for (const child of [0, 1]) {
      it(`${run} stage ${child + 1}: every bar, epoch, save and the end, as the pipes delivered them`, () => {
        const events = parseChild(rec, child);
        const stderr = rec.chunks.filter((c) => c.child === child && c.stream === 'stderr').map((c) => c.text).join('');
        expect(ofType(events, 'steps')).toHaveLength((stderr.match(/steps:\s+\d+%\|/g) ?? []).length);
        const total = child === 0 ? 12 : 24;
        expect(ofType(events, 'summary').find((s) => s.key === 'total_steps')?.value).toBe(total);
        expect(ofType(events, 'epoch').map((e) => `${e.epoch}/${e.total}`)).toEqual(['1/2', '2/2']);
        expect(ofType(events, 'model_saved')).toHaveLength(1);
        const dir = kohyaStaged.arg(rec, child, 'output_dir');
        const name = kohyaStaged.arg(rec, child, 'output_name');
        expect(ofType(events, 'checkpoint_saved').map((e) => e.path)).toEqual([`${dir}/${name}-000001.safetensors`, `${dir}/${name}.safetensors`]);
        const last = ofType(events, 'steps').at(-1);
        expect(last).toMatchObject({ step: total, total });
        expect(last?.loss !== null && Number.isFinite(last?.loss)).toBe(true);
        // The resumed stage says on stdout which file it loaded; it stays a plain line (kept for error messages).
        const loaded = ofType(events, 'line').filter((l) => l.text.startsWith('load network weights from '));
        expect(loaded.map((l) => l.text)).toEqual(child === 1 ? [`load network weights from ${kohyaStaged.arg(rec, 1, 'network_weights')}: <All keys matched successfully>`] : []);
      });
    }
    it(`${run}: the last bar's avr_loss is what loraloop stored as the job's loss`, () => {
      expect(ofType(parseChild(rec, 1), 'steps').at(-1)?.loss).toBe(stateOf(rec).loss);
    });
  }
});

const REPLAY_CMD = `node --import tsx ${JSON.stringify(path.join(REPO_ROOT, 'tests/support/kohya-replay.ts'))}`;
const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (disposers.length) await disposers.pop()?.();
});

function replayApp(run: 'sd15' | 'sdxl'): App {
  const t = makeTestApp(
    { LORALOOP_KOHYA_CMD: `env KOHYA_REPLAY_RUN=${run}-staged ${REPLAY_CMD}`, LORALOOP_KOHYA_BASE_MODEL: `/models/random_${run}.safetensors` },
    { trainingOptions: { pollIntervalMs: 50, leaseTtlMs: 3000, scanIntervalMs: 500 } },
  );
  disposers.push(t.dispose);
  return t.app;
}

/** The recorded request: a project of the same name, 6 images in two categories, two stages of 2 epochs, the second weighted to closeups. */
async function trainAsRecorded(app: App, run: 'sd15' | 'sdxl', watch: (job: TrainingJob) => void): Promise<{ loraId: string; jobId: string }> {
  const rec = kohyaStaged.recording(run);
  const loraId = await seedProject(app, { name: `gpu-${run}`, base_model: run, images: 6, categories: ['closeup', 'wide'], trigger: 'sks photo' });
  const train = await callOk<{ job_id: string }>(app, 'lora_train', { lora_id: loraId, backend: 'kohya', params: rec.params, stages: rec.stages });
  // lora_status starts following the job, as in a session; then sample it as often as the runner may change it.
  await callOk(app, 'lora_status', { job_id: train.job_id });
  for (;;) {
    const job = await getTrainingJob(app.services, train.job_id);
    if (job) watch(job);
    if (!job || ['ready', 'failed', 'canceled'].includes(job.status)) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  return { loraId, jobId: train.job_id };
}

/** The arguments loraloop adds after LORALOOP_KOHYA_CMD, without the values that are paths of one particular run. */
function flags(args: string[]): string[] {
  return args
    .slice(args.findIndex((a) => a.startsWith('--pretrained_model_name_or_path=')))
    .map((a) => (/^--(pretrained_model_name_or_path|dataset_config|output_dir|network_weights)=/.test(a) ? a.split('=')[0] ?? a : a));
}

describe("loraloop's kohya runner with a trainer that replays real staged sd-scripts", () => {
  it('SDXL: two stages end as recorded, with the real LoRA header registered', async () => {
    const rec = kohyaStaged.recording('sdxl');
    const app = replayApp('sdxl');
    const { loraId, jobId } = await trainAsRecorded(app, 'sdxl', () => undefined);
    const job = await getTrainingJob(app.services, jobId);
    const want = stateOf(rec);
    expect(job?.status).toBe('ready');
    expect(job?.state).toMatchObject({ step: want.step, total_steps: want.total_steps, loss: want.loss, epoch: want.epoch, total_epochs: want.total_epochs, stage_index: 1 });
    expect(job?.state.epoch_files.map((e) => [e.stage, e.epoch])).toEqual(want.epoch_files.map((e) => [e.stage, e.epoch]));
    for (const e of job?.state.epoch_files ?? []) expect(e.bytes).toBe(statSync(e.path).size);
    // What loraloop asked of the replay is what it asked of the real program (paths aside).
    const finals = job?.state.kohya?.stage_finals ?? [];
    expect(finals.map((f) => path.basename(f))).toEqual(['gpu-sdxl-s1.safetensors', 'gpu-sdxl-s2.safetensors']);
    expect(job?.state.kohya?.args).toContain(`--network_weights=${finals[0]}`);
    expect(flags(job?.state.kohya?.args ?? [])).toEqual(flags(rec.spawns[1]?.args ?? []));

    const v = (await app.services.store.loras.listVersions(loraId))[0];
    const got = v?.inspection as { architecture: string; rank: number; metadata: Record<string, string>; tensors: { count: number } } | undefined;
    const real = rec.versions[0]?.inspection as { architecture: string; rank: number; targets: unknown; tensors: { count: number } };
    expect(got).toMatchObject({ architecture: real.architecture, rank: real.rank, tensors: { count: real.tensors.count } });
    expect((v?.inspection as { targets: unknown }).targets).toEqual(real.targets);
    const header = rec.headers.find((h) => h.file.endsWith('-s2.safetensors'));
    expect(got?.metadata).toMatchObject({
      ss_base_model_version: 'sdxl_base_v1-0',
      'modelspec.architecture': 'stable-diffusion-xl-v1-base/lora',
      ss_steps: header?.metadata['ss_steps'],
      ss_epoch: header?.metadata['ss_epoch'],
    });
  });

  it('SD 1.5: dataset configs as recorded, and stage 2 never shows stage 1 counters while it loads', async () => {
    const rec = kohyaStaged.recording('sd15');
    const app = replayApp('sd15');
    const seen: TrainingJob[] = [];
    const { jobId } = await trainAsRecorded(app, 'sd15', (j) => seen.push(j));
    const job = await getTrainingJob(app.services, jobId);
    expect(job?.status).toBe('ready');
    // Each stage's dataset_config.toml matches what the real program was given (paths aside).
    const norm = (text: string) => JSON.stringify(parse(text)).replace(/"[^"]*\/stage-(\d)\/dataset\/(\w+)"/g, '"stage-$1/$2"');
    const runDir = job?.state.kohya?.run_dir ?? '';
    const mine = [1, 2].map((s) => norm(readFileSync(path.join(runDir, `stage-${s}`, 'dataset', 'dataset_config.toml'), 'utf8')));
    expect(mine).toEqual(rec.dataset_configs.map((d) => norm(d.text)));

    // Real sd-scripts loads for about a minute before its first bar (48 s here); status counters are the stage's own.
    const stage2 = seen.filter((j) => j.state.stage_index === 1 && j.status === 'training');
    expect(stage2.length).toBeGreaterThan(0);
    for (const j of stage2) {
      expect(j.state.step === null || j.state.total_steps === 24).toBe(true);
      expect(j.state.eta_seconds === null || (j.state.step !== null && j.state.step > 0)).toBe(true);
      expect(j.state.total_epochs).toBe(2);
    }
    expect(seen.every((j) => j.state.total_epochs === null || j.state.total_epochs === 2)).toBe(true);
    // A checkpoint's size shows once a later bar proves it written, not only after the trainer exits: the last bar
    // is written at once, 4 s (real time) before sd-scripts ends.
    const lastBar = seen.find((j) => j.state.stage_index === 0 && j.state.step === 12);
    const first = lastBar?.state.epoch_files[0];
    expect(first?.bytes).toBe(first ? statSync(first.path).size : -1);
  });
});
