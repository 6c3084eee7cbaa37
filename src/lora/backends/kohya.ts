/**
 * Training with kohya sd-scripts (TRAINERS.md §3b-3d) as a child process of the runner:
 * the bundle (writeKohyaBundle: one subset per category with num_repeats, `.txt` captions, trigger first,
 * keep_tokens 1), the arguments (caption extension and learning rate always explicit), LORALOOP_KOHYA_CMD
 * split like a shell would but run without one, progress and avr_loss read from the `\r`-redrawn bars,
 * a nan/inf loss fails the job at once (the child is killed), per-epoch checkpoints are collected, and the
 * final file is registered with its ss_* metadata.
 *
 * Restart policy (a child cannot be re-attached to a new process): when a runner picks up a kohya job whose
 * current stage was launched by a process that is gone, it re-runs that stage once if the stage produced no
 * file yet (nothing is lost, and finished stages are kept); if the stage had already written checkpoints,
 * or was already re-run once, the job fails with a clear error that lists the checkpoints it left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import type { Config } from '../../core/config.js';
import { LoraloopError } from '../../core/errors.js';
import { writeKohyaBundle } from '../../dataset/export.js';
import type { BaseModelName } from '../../store/repos/loras.js';
import type { FollowContext, TrainingDriver } from '../training/driver.js';
import {
  estimateEta,
  getTrainingJob,
  isTerminalTraining,
  lossFields,
  overallProgress,
  patchJob,
  type EpochFile,
  type KohyaJobState,
  type StageSpec,
  type TrainingJob,
  type TrainingJobState,
} from '../training/job.js';
import { completeTraining } from '../training/outcome.js';
import type { KohyaParams } from '../training/params.js';
import { repeatsForMix, subsetCounts } from '../training/stages.js';
import { createKohyaOutputParser, isBadLoss, type KohyaEvent } from './kohya-output.js';

/** Lines of trainer output kept for error messages. */
const LOG_TAIL_LINES = 40;
/** Progress is written to the store at most this often (every other event is written at once). */
const PROGRESS_WRITE_MS = 250;
/** Grace between SIGTERM and SIGKILL when stopping a run. */
const KILL_GRACE_MS = 5000;

/**
 * Split a command line into argv the way a POSIX shell would for plain words, quotes and backslashes,
 * without running a shell (no globbing, variables, pipes or `;`). Throws CONFIG_INVALID on an open quote.
 */
export function splitCommandLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1] as string)) cur += line[++i];
      else cur += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) {
    throw new LoraloopError('CONFIG_INVALID', `LORALOOP_KOHYA_CMD has an unterminated ${quote} quote.`, {
      hint: "Close the quote, e.g. LORALOOP_KOHYA_CMD='accelerate launch \"/opt/sd scripts/train_network.py\"'.",
    });
  }
  if (inWord) out.push(cur);
  return out;
}

/** kohya's network module for a base model (flux uses networks.lora_flux with flux_train_network.py). */
export function networkModuleFor(base: BaseModelName): string {
  return base === 'flux' ? 'networks.lora_flux' : 'networks.lora';
}

/** The training script a base model needs, for a warning when LORALOOP_KOHYA_CMD names another. */
export function scriptFor(base: BaseModelName): string {
  return base === 'flux' ? 'flux_train_network.py' : base === 'sdxl' ? 'sdxl_train_network.py' : 'train_network.py';
}

/** What one kohya run needs to build its arguments. */
export interface KohyaArgsInput {
  params: KohyaParams;
  baseModel: BaseModelName;
  pretrained: string;
  datasetConfig: string;
  outputDir: string;
  outputName: string;
  stage?: StageSpec | undefined;
  /** The previous stage's final file (stage resume). */
  networkWeights?: string | undefined;
}

/** The sd-scripts arguments (`--name=value` / flags), in a fixed order. */
export function buildKohyaArgs(a: KohyaArgsInput): string[] {
  const p = a.params;
  const dim = p.network_dim ?? 4;
  const args: string[] = [
    `--pretrained_model_name_or_path=${a.pretrained}`,
    `--dataset_config=${a.datasetConfig}`,
    `--output_dir=${a.outputDir}`,
    `--output_name=${a.outputName}`,
    '--save_model_as=safetensors',
    // sd-scripts defaults to `.caption` and lr 2e-6 (TRAINERS.md §3b): both always explicit.
    '--caption_extension=.txt',
    `--learning_rate=${a.stage?.learning_rate ?? p.learning_rate ?? 1e-4}`,
    `--network_module=${networkModuleFor(a.baseModel)}`,
    `--network_dim=${dim}`,
    // kohya's alpha default is 1 (a 1/dim scale); alpha = dim matches Replicate's trainer.
    `--network_alpha=${p.network_alpha ?? dim}`,
  ];
  if (a.networkWeights) args.push(`--network_weights=${a.networkWeights}`);
  if (a.stage) args.push(`--max_train_epochs=${a.stage.epochs}`);
  else {
    if (p.max_train_epochs !== undefined) args.push(`--max_train_epochs=${p.max_train_epochs}`);
    if (p.max_train_steps !== undefined) args.push(`--max_train_steps=${p.max_train_steps}`);
  }
  args.push(`--save_every_n_epochs=${p.save_every_n_epochs ?? 1}`);
  if (p.save_last_n_epochs !== undefined) args.push(`--save_last_n_epochs=${p.save_last_n_epochs}`);
  const precision = p.mixed_precision ?? (a.baseModel === 'flux' ? 'bf16' : 'fp16');
  args.push(`--mixed_precision=${precision}`);
  args.push(`--save_precision=${p.save_precision ?? (precision === 'no' ? 'float' : precision)}`);
  const valued: Array<[keyof KohyaParams, string]> = [
    ['unet_lr', 'unet_lr'],
    ['text_encoder_lr', 'text_encoder_lr'],
    ['lr_scheduler', 'lr_scheduler'],
    ['lr_scheduler_num_cycles', 'lr_scheduler_num_cycles'],
    ['lr_warmup_steps', 'lr_warmup_steps'],
    ['min_snr_gamma', 'min_snr_gamma'],
    ['noise_offset', 'noise_offset'],
    ['gradient_accumulation_steps', 'gradient_accumulation_steps'],
    ['train_batch_size', 'train_batch_size'],
    ['optimizer_type', 'optimizer_type'],
    ['seed', 'seed'],
    ['clip_skip', 'clip_skip'],
  ];
  for (const [key, flag] of valued) {
    const v = p[key];
    if (v !== undefined) args.push(`--${flag}=${String(v)}`);
  }
  const flags: Array<keyof KohyaParams> = ['gradient_checkpointing', 'cache_latents', 'sdpa', 'xformers', 'network_train_unet_only'];
  for (const f of flags) if (p[f] === true) args.push(`--${f}`);
  return args;
}

/** Put our dataset options into the bundle's dataset_config.toml ([general] and the dataset table). */
export async function patchDatasetConfig(configPath: string, p: KohyaParams): Promise<void> {
  const doc = parseToml(await readFile(configPath, 'utf8')) as Record<string, unknown>;
  const general = { ...((doc['general'] as Record<string, unknown> | undefined) ?? {}) };
  general['caption_extension'] = '.txt';
  general['keep_tokens'] = p.keep_tokens ?? general['keep_tokens'] ?? 1;
  if (p.shuffle_caption !== undefined) general['shuffle_caption'] = p.shuffle_caption;
  if (p.flip_aug !== undefined) general['flip_aug'] = p.flip_aug;
  if (p.color_aug !== undefined) general['color_aug'] = p.color_aug;
  if (p.caption_dropout_rate !== undefined) general['caption_dropout_rate'] = p.caption_dropout_rate;
  doc['general'] = general;
  const datasets = Array.isArray(doc['datasets']) ? (doc['datasets'] as Array<Record<string, unknown>>) : [];
  for (const d of datasets) {
    if (p.resolution !== undefined) d['resolution'] = p.resolution;
    if (p.train_batch_size !== undefined) d['batch_size'] = p.train_batch_size;
    if (p.bucket_no_upscale !== undefined) d['bucket_no_upscale'] = p.bucket_no_upscale;
    if (p.min_bucket_reso !== undefined) d['min_bucket_reso'] = p.min_bucket_reso;
    if (p.max_bucket_reso !== undefined) d['max_bucket_reso'] = p.max_bucket_reso;
  }
  const tmp = `${configPath}.part`;
  await writeFile(tmp, `# kohya sd-scripts dataset config written by loraloop for one training run.\n${stringifyToml(doc)}\n`, 'utf8');
  await rename(tmp, configPath);
}

/** A URL- and file-safe output name from the LoRA name. */
export function outputNameFor(loraName: string): string {
  return (
    loraName
      .normalize('NFKD')
      .replace(/[^\w.-]+/g, '_')
      .replace(/^[_.-]+|[_.-]+$/g, '')
      .slice(0, 60) || 'lora'
  );
}

const EPOCH_FILE = /-(\d{6})\.safetensors$/;

function fileBytes(p: string): number | null {
  try {
    return statSync(p).size;
  } catch {
    return null;
  }
}

/** Every .safetensors a stage's output folders hold (any attempt). */
function stageOutputs(runDir: string, stage: number): string[] {
  const dir = path.join(runDir, `stage-${stage + 1}`);
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const d of readdirSync(dir)) {
    if (!d.startsWith('output')) continue;
    const full = path.join(dir, d);
    try {
      for (const f of readdirSync(full)) if (f.endsWith('.safetensors')) out.push(path.join(full, f));
    } catch {
      // not a folder
    }
  }
  return out.sort();
}

/** Stop a child and its process group (accelerate spawns workers): SIGTERM, then SIGKILL after a grace. */
function killTree(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        child.kill(sig);
      } catch {
        // already gone
      }
    }
  };
  send('SIGTERM');
  const t = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) send('SIGKILL');
  }, KILL_GRACE_MS);
  t.unref();
  child.once('exit', () => clearTimeout(t));
}

/** The trainer's own words for a failure: from the last Traceback on, else the last lines. */
export function errorTextFromTail(lines: string[]): string {
  const tb = lines.map((l) => l.trim()).lastIndexOf('Traceback (most recent call last):');
  const pick = tb >= 0 ? lines.slice(tb) : lines.slice(-10);
  return pick.join('\n').trim().slice(-3000);
}

function kohyaState(job: TrainingJob): KohyaJobState {
  return job.state.kohya as KohyaJobState;
}

/** Run one stage to completion; returns its final file. Throws JOB_FAILED with the trainer's words. */
async function runStage(job: TrainingJob, stageIndex: number, ctx: FollowContext): Promise<string> {
  const { services } = ctx;
  const cfg = services.config.kohya;
  const lora = await services.store.loras.get(job.state.lora_id);
  if (!lora) throw new LoraloopError('NOT_FOUND', `The LoRA project ${job.state.lora_id} no longer exists.`);
  if (!cfg.cmd || !cfg.baseModel) throw new LoraloopError('NOT_CONFIGURED', 'LORALOOP_KOHYA_CMD and LORALOOP_KOHYA_BASE_MODEL must be set to train with kohya.');
  const k = kohyaState(job);
  const stage = job.state.stages?.[stageIndex];
  const attempt = k.attempt + 1;
  const stageDir = path.join(k.run_dir, `stage-${stageIndex + 1}`);
  const datasetDir = path.join(stageDir, 'dataset');
  // A fresh output folder per attempt: an orphaned earlier run can never write into ours.
  const outputDir = path.join(stageDir, `output-${attempt}`);
  const stages = job.state.stages?.length ?? 0;
  const outputName = stages > 1 ? `${outputNameFor(lora.name)}-s${stageIndex + 1}` : outputNameFor(lora.name);
  await patchJob(services, job.id, { state: { phase: 'preparing' } });

  const repeats = stage ? repeatsForMix(stage.mix, await subsetCounts(services, lora.id)) : undefined;
  await mkdir(outputDir, { recursive: true });
  const bundle = await writeKohyaBundle(services, lora.id, datasetDir, repeats ? { repeats } : {});
  await patchDatasetConfig(bundle.config_path, job.state.params as KohyaParams);
  const prev = stageIndex > 0 ? k.stage_finals[stageIndex - 1] : undefined;
  const args = buildKohyaArgs({
    params: job.state.params as KohyaParams,
    baseModel: lora.base_model,
    pretrained: cfg.baseModel,
    datasetConfig: bundle.config_path,
    outputDir,
    outputName,
    stage,
    networkWeights: prev,
  });
  const argv = [...splitCommandLine(cfg.cmd), ...args];
  const [command, ...rest] = argv;
  if (!command) throw new LoraloopError('CONFIG_INVALID', 'LORALOOP_KOHYA_CMD is empty.', { hint: 'Set it to e.g. "accelerate launch train_network.py".' });
  if (ctx.signal.aborted) throw ctx.signal.reason;

  const child = spawn(command, rest, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  // Record the launch before anything else: a restarted runner must know this stage already ran.
  await patchJob(services, job.id, {
    status: 'training',
    state: {
      phase: 'running',
      started_at: job.state.started_at ?? services.now().toISOString(),
      kohya: { ...k, attempt, launched_at: services.now().toISOString(), pid: child.pid, host: hostname(), args: argv },
    },
  });
  ctx.logger.info('kohya started', { pid: child.pid, stage: stageIndex + 1, attempt });

  const logTail: string[] = [...k.log_tail];
  let failure: string | undefined;
  let lastWrite = 0;
  let epoch = 0;
  let totalEpochs: number | null = stage?.epochs ?? null;
  let totalSteps: number | null = null;
  let lastSteps: Extract<KohyaEvent, { type: 'steps' }> | undefined;
  let finalPath: string | undefined;
  const epochFiles: EpochFile[] = [...((await getTrainingJob(services, job.id))?.state.epoch_files ?? job.state.epoch_files)];

  // Output events arrive synchronously; their writes queue up in order, and the run waits for the queue at the end.
  let writes: Promise<void> = Promise.resolve();
  const writeProgress = (force: boolean): void => {
    const nowMs = services.now().getTime();
    if (!force && nowMs - lastWrite < PROGRESS_WRITE_MS) return;
    lastWrite = nowMs;
    writes = writes
      .then(() => recordProgress(nowMs))
      .catch((e: unknown) => ctx.logger.warn('could not record training progress', { error: e instanceof Error ? e.message : String(e) }));
  };
  const recordProgress = async (nowMs: number): Promise<void> => {
    const cur = await getTrainingJob(services, job.id);
    if (!cur) return;
    const step = lastSteps?.step ?? null;
    const total = lastSteps?.total ?? totalSteps;
    const anchor = cur.state.rate_anchor ?? (step !== null ? { at: new Date(nowMs).toISOString(), step } : null);
    await patchJob(services, job.id, {
      progress: overallProgress({ stages: cur.state.stages, stage_index: stageIndex }, step, total),
      state: {
        step,
        total_steps: total,
        ...lossFields(lastSteps?.loss ?? null, lastSteps?.postfix['avr_loss'] ?? null),
        epoch: epoch || null,
        total_epochs: totalEpochs,
        rate_anchor: anchor,
        eta_seconds: estimateEta(anchor, step, total, nowMs, lastSteps?.remaining_seconds ?? null),
        epoch_files: epochFiles,
        kohya: { ...kohyaState(cur), log_tail: logTail.slice(-LOG_TAIL_LINES) },
      },
    });
  };

  const onEvent = (ev: KohyaEvent) => {
    switch (ev.type) {
      case 'steps':
        lastSteps = ev;
        totalSteps = ev.total;
        // sd-scripts saves inside its training loop, so a bar drawn after `saving checkpoint:` means the file is
        // complete; the size read when the line came was missing or partial (seen on the real program).
        for (const f of epochFiles) if (f.stage === stageIndex) f.bytes = fileBytes(f.path);
        if (isBadLoss(ev.loss) && !failure) {
          const shown = ev.postfix['avr_loss'] ?? String(ev.loss);
          const lr = stage?.learning_rate ?? (job.state.params as KohyaParams).learning_rate;
          // stdout (epoch lines) and stderr (bars) are separate pipes, so the epoch line may not have arrived yet:
          // with the totals known, the step itself says which epoch it is in.
          const perEpoch = totalEpochs ? ev.total / totalEpochs : 0;
          const at = Math.max(epoch, perEpoch >= 1 && Number.isInteger(perEpoch) ? Math.ceil(ev.step / perEpoch) : 0);
          failure =
            `avr_loss became ${shown} at step ${ev.step}/${ev.total}${at ? ` (epoch ${at}${totalEpochs ? `/${totalEpochs}` : ''})` : ''}: ` +
            `the training diverged, so it was stopped instead of running on. Lower the learning rate${lr ? ` (now ${lr})` : ''} or use mixed_precision bf16, then train again.`;
          ctx.logger.warn('kohya loss is not finite; stopping the run', { loss: shown, step: ev.step });
          killTree(child);
          writeProgress(true);
          return;
        }
        writeProgress(ev.step === ev.total);
        return;
      case 'epoch':
        epoch = ev.epoch;
        totalEpochs = ev.total;
        writeProgress(true);
        return;
      case 'summary':
        if (ev.key === 'total_steps') totalSteps = ev.value;
        if (ev.key === 'num_epochs') totalEpochs = ev.value;
        return;
      case 'checkpoint_saved': {
        const m = EPOCH_FILE.exec(ev.path);
        if (m) {
          const e = Number(m[1]);
          const i = epochFiles.findIndex((f) => f.stage === stageIndex && f.epoch === e);
          const rec: EpochFile = { stage: stageIndex, epoch: e, path: ev.path, bytes: fileBytes(ev.path) };
          if (i >= 0) epochFiles[i] = rec;
          else epochFiles.push(rec);
        } else if (!/-step\d+\.safetensors$/.test(ev.path)) {
          finalPath = ev.path;
        }
        writeProgress(true);
        return;
      }
      case 'checkpoint_removed': {
        const i = epochFiles.findIndex((f) => f.path === ev.path);
        if (i >= 0) epochFiles.splice(i, 1);
        writeProgress(true);
        return;
      }
      case 'model_saved':
        return;
      case 'line':
        logTail.push(ev.text);
        if (logTail.length > LOG_TAIL_LINES * 2) logTail.splice(0, logTail.length - LOG_TAIL_LINES);
        return;
    }
  };

  const outParser = createKohyaOutputParser();
  const errParser = createKohyaOutputParser();
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (c: string) => outParser.push(c).forEach(onEvent));
  child.stderr?.on('data', (c: string) => errParser.push(c).forEach(onEvent));
  const onAbort = () => killTree(child);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  // A cancel from another process only changes the record: look at it every second and stop the child.
  const watch = setInterval(() => {
    getTrainingJob(services, job.id).then(
      (cur) => {
        if (!cur || isTerminalTraining(cur.status)) killTree(child);
      },
      (e: unknown) => ctx.logger.warn('could not read the job record', { error: e instanceof Error ? e.message : String(e) }),
    );
  }, 1000);
  watch.unref();

  const result = await Promise.race([exited, spawnError.then((e) => ({ error: e }))]);
  ctx.signal.removeEventListener('abort', onAbort);
  clearInterval(watch);
  if ('error' in result) {
    throw new LoraloopError('JOB_FAILED', `LORALOOP_KOHYA_CMD could not be started (${result.error.message}).`, {
      hint: 'Check that the command exists on this host (e.g. accelerate on PATH, or ssh to the GPU host).',
    });
  }
  outParser.end().forEach(onEvent);
  errParser.end().forEach(onEvent);
  // sd-scripts prints `saving checkpoint:` before it writes the file (save_model), so the size read at that
  // line is missing or partial: read it again now that the run is over.
  for (const e of epochFiles) if (e.stage === stageIndex) e.bytes = fileBytes(e.path);
  // Checkpoints the output mentioned or not: the folder is the truth.
  for (const f of stageOutputs(k.run_dir, stageIndex).filter((p) => p.startsWith(outputDir + path.sep))) {
    const m = EPOCH_FILE.exec(f);
    if (m && !epochFiles.some((e) => e.path === f)) epochFiles.push({ stage: stageIndex, epoch: Number(m[1]), path: f, bytes: fileBytes(f) });
  }
  epochFiles.sort((a, b) => a.stage - b.stage || a.epoch - b.epoch);
  writeProgress(true);
  await writes;
  if (ctx.signal.aborted) throw ctx.signal.reason;
  if (failure) throw new LoraloopError('JOB_FAILED', failure);
  const after = await getTrainingJob(services, job.id);
  if (!after || isTerminalTraining(after.status)) throw new LoraloopError('CANCELED', 'The job ended while kohya was running; the run was stopped.');
  if (result.code !== 0) {
    const text = errorTextFromTail(logTail);
    throw new LoraloopError(
      'JOB_FAILED',
      `kohya exited with ${result.code !== null ? `code ${result.code}` : `signal ${result.signal}`}${text ? `:\n${text}` : ' without output.'}`,
    );
  }
  const expected = path.join(outputDir, `${outputName}.safetensors`);
  const final = existsSync(expected) ? expected : finalPath && existsSync(finalPath) ? finalPath : undefined;
  if (!final) {
    throw new LoraloopError('JOB_FAILED', `kohya finished without writing ${expected}.`, {
      hint: 'Check --output_dir on the GPU host: loraloop reads the result from the same path.',
    });
  }
  return final;
}

/** The error for a run that died with its process. */
function deadRunError(job: TrainingJob, produced: string[]): LoraloopError {
  const k = kohyaState(job);
  const where = `pid ${k.pid ?? '?'} on ${k.host ?? 'this host'}, started ${k.launched_at ?? '?'}`;
  return new LoraloopError(
    'JOB_FAILED',
    `The kohya run (${where}) was interrupted when the loraloop process that ran it stopped, and a child process cannot be re-attached.` +
      (produced.length ? ` It had written: ${produced.join(', ')}.` : ' It had already been re-run once.'),
    { hint: 'Start a new training with lora_train; a stage can resume from one of these checkpoints.' },
  );
}

export const kohyaTrainer: TrainingDriver = {
  configured: (services) => Boolean(services.config.kohya.cmd && services.config.kohya.baseModel),
  async follow(job, ctx) {
    const { services } = ctx;
    let cur = (await getTrainingJob(services, job.id)) ?? job;
    const k0 = kohyaState(cur);
    if (k0.launched_at) {
      const produced = stageOutputs(k0.run_dir, k0.stage_finals.length);
      if (produced.length > 0 || k0.attempt >= 2) throw deadRunError(cur, produced);
      ctx.logger.warn('kohya run died with its process before writing anything; running the stage again', { stage: cur.state.stage_index + 1 });
      const { launched_at: _l, pid: _p, ...rest } = k0;
      cur = (await patchJob(services, cur.id, { state: { kohya: rest as KohyaJobState } })) ?? cur;
    }
    const stages = Math.max(1, cur.state.stages?.length ?? 1);
    // Finished stages are kept: a restart resumes at the first stage without a final file.
    for (let i = kohyaState(cur).stage_finals.length; i < stages; i++) {
      // Step, totals, ETA and epochs are the current stage's: real sd-scripts takes about a minute to load before
      // its first bar, and the previous stage's 12/12 with ETA 0 must not show as this stage's meanwhile.
      const counters = { step: null, total_steps: null, eta_seconds: null, epoch: null, total_epochs: cur.state.stages?.[i]?.epochs ?? null };
      cur = (await patchJob(services, cur.id, { state: { stage_index: i, rate_anchor: null, ...counters } })) ?? cur;
      const final = await runStage(cur, i, ctx);
      const fresh = await getTrainingJob(services, cur.id);
      if (!fresh) return;
      const { launched_at: _l, pid: _p, ...rest } = kohyaState(fresh);
      const next = await patchJob(services, cur.id, {
        state: { kohya: { ...rest, attempt: 0, stage_finals: [...rest.stage_finals.slice(0, i), final] } },
      });
      if (!next) return;
      cur = next;
    }
    const finalFile = kohyaState(cur).stage_finals[stages - 1];
    if (!finalFile) throw new LoraloopError('JOB_FAILED', 'kohya finished but no final file was recorded.');
    await patchJob(services, cur.id, { state: { phase: 'registering' } });
    const bytes = await readFile(finalFile);
    const version = await completeTraining(services, (await getTrainingJob(services, cur.id)) ?? cur, {
      file: bytes,
      extra: { args: kohyaState(cur).args, final_file: finalFile, base_model: services.config.kohya.baseModel },
    });
    ctx.logger.info('registered trained LoRA', { version: version.version });
  },
  async cancel(job, services) {
    // The child belongs to the process that follows the job; that runner kills it when it sees the job
    // canceled (lease renewal) or at once when the cancel comes from the same process (cancelLocal).
    const runner = services.trainingRunner();
    runner.cancelLocal(job.id);
  },
};

/** State for a new kohya job. */
export function initialKohyaState(services: { config: Config }, jobId: string): KohyaJobState {
  return { run_dir: path.join(services.config.home, 'training', jobId), attempt: 0, stage_finals: [], log_tail: [] };
}

export type { TrainingJobState };
