/**
 * lora_status's engine: find the training a caller asks about (a job and its variants, or a project's latest
 * training), make sure someone follows it, and wait for it to end within the caller's time.
 *
 * Who follows: nobody may follow an unfinished job (no server or daemon running, or it died); then this
 * process does. A one-shot process (a CLI command, which exits when the call returns) may follow a Replicate
 * job while it waits (another process can adopt it later), but never start a kohya run: the child would die
 * with the process. With the cluster's job queue, following is the workers' work: the scan here only makes
 * sure the jobs are on the queue, which any process may do, so nothing is left unattended.
 */
import { LoraloopError } from '../../core/errors.js';
import type { Progress } from '../../core/progress.js';
import { defaultSleep } from '../../core/retry.js';
import type { LoraRecord } from '../../store/repos/loras.js';
import type { TrainingDeps, TrainingRunnerOptions } from './driver.js';
import { getTrainingJob, isTerminalTraining, listTrainingJobs, type TrainingJob } from './job.js';
import { isUnowned, TRAINING_DRIVERS } from './runner.js';
import { describeJob, jobView, type JobView } from './status.js';

/** Which training: a job (with its variants) or a project's latest. */
export interface StatusRequest {
  lora_id?: string | undefined;
  job_id?: string | undefined;
  /** Wait up to this long for the job(s) to end. */
  wait_seconds?: number | undefined;
}

export interface StatusOptions {
  /** The calling process ends when this call returns (see the module comment). */
  oneShot: boolean;
  /** Stop waiting at this time (epoch ms) whatever wait_seconds says: the caller's own deadline. */
  stopBy?: number;
  signal: AbortSignal;
  /** Told what the jobs do while waiting. */
  progress: Progress;
}

/** A project never trained (answered as `created`, not as an error). */
export interface NeverTrained {
  created: LoraRecord;
  images: number;
}

/** Where a training stands. */
export interface TrainingStatus {
  /** Every job of the same lora_train call (variants), as views. */
  views: JobView[];
  /** The job the caller asked about (or the first variant). */
  main: JobView;
  /** Every job has ended. */
  done: boolean;
  /** An unfinished job nobody runs, and this one-shot process must not start it. */
  unattended: boolean;
  waitedSeconds: number;
}

export type StatusDeps = TrainingDeps & { trainingOptions: TrainingRunnerOptions };

/** A group of jobs to report, or a project never trained. */
type Subject = { jobs: TrainingJob[]; primary: string } | { created: LoraRecord };

async function groupOf(s: StatusDeps, input: StatusRequest): Promise<Subject> {
  if (input.job_id) {
    const job = await getTrainingJob(s, input.job_id);
    if (!job) throw new LoraloopError('NOT_FOUND', `No training job "${input.job_id}".`, { hint: 'lora_train returns the job id; lora_status {lora_id} shows the latest training of a project.' });
    const siblings = (await listTrainingJobs(s, { lora_id: job.state.lora_id })).filter((j) => j.state.group_id === job.state.group_id);
    return { jobs: siblings.length ? siblings : [job], primary: job.id };
  }
  const lora = await s.store.loras.find(input.lora_id ?? '');
  if (!lora) throw new LoraloopError('NOT_FOUND', `No LoRA project "${input.lora_id}".`, { hint: 'Call lora_list to see the projects and their ids.' });
  const all = await listTrainingJobs(s, { lora_id: lora.id });
  const latest = all[0];
  if (!latest) return { created: lora };
  const group = all.filter((j) => j.state.group_id === latest.state.group_id).sort((a, b) => (a.state.variant?.index ?? 0) - (b.state.variant?.index ?? 0));
  return { jobs: group, primary: group[0]?.id ?? latest.id };
}

/** Where the asked-about training stands, after following and waiting as the module comment says. */
export async function trainingStatus(s: StatusDeps, input: StatusRequest, opts: StatusOptions): Promise<TrainingStatus | NeverTrained> {
  if (!input.job_id && !input.lora_id) {
    throw new LoraloopError('INVALID_INPUT', 'Give a job_id or a lora_id.', { hint: 'lora_train returned the job_id; a lora_id shows its latest training.' });
  }
  const wait = input.wait_seconds ?? 0;
  const group = await groupOf(s, input);
  if ('created' in group) return { created: group.created, images: await s.store.loras.countImages(group.created.id) };
  const primary = group.primary;
  let jobs = group.jobs;
  const nowMs = () => s.now().getTime();

  const queued = s.queue !== null;
  const orphans = jobs.filter((j) => isUnowned(j, nowMs()) && (queued || TRAINING_DRIVERS[j.state.backend].configured(s)));
  const runner = s.trainingRunner();
  const canFollow = queued || !opts.oneShot || (wait > 0 && orphans.every((j) => j.state.backend === 'replicate'));
  if (orphans.length && canFollow) {
    runner.start();
    await runner.scan();
  }
  const unattended = orphans.length > 0 && !canFollow;

  const started = Date.now();
  // Waiting on a job nobody runs would only burn the caller's time.
  // …and never past the caller's own deadline (the MCP call budget): it gets an answer, not a cut-off.
  const deadline = Math.min(started + (unattended ? 0 : wait) * 1000, opts.stopBy ?? Infinity);
  const tick = Math.max(100, Math.min(1000, s.trainingOptions.pollIntervalMs ?? 1000));
  let lastMessage = '';
  for (;;) {
    jobs = await Promise.all(jobs.map(async (j) => (await getTrainingJob(s, j.id)) ?? j));
    const views = jobs.map((j) => jobView(j, nowMs()));
    const done = views.every((v) => isTerminalTraining(v.status));
    if (wait > 0) {
      const avg = views.reduce((a, v) => a + v.progress, 0) / Math.max(1, views.length);
      const message = views.map(describeJob).join(' ');
      if (message !== lastMessage) {
        opts.progress({ progress: Math.round(avg * 1000) / 10, total: 100, message });
        lastMessage = message;
      }
    }
    if (done || Date.now() >= deadline || opts.signal.aborted) break;
    try {
      await defaultSleep(Math.min(tick, Math.max(0, deadline - Date.now())), opts.signal);
    } catch {
      break;
    }
  }

  const views = jobs.map((j) => jobView(j, nowMs()));
  const main = views.find((v) => v.job_id === primary) ?? views[0];
  if (!main) throw new LoraloopError('NOT_FOUND', 'The training job disappeared.');
  return { views, main, done: views.every((v) => isTerminalTraining(v.status)), unattended, waitedSeconds: Math.round((Date.now() - started) / 100) / 10 };
}
