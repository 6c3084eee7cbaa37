/**
 * A training job as it is persisted in the generic `jobs` table (kind `lora_training`): the record's
 * `status` is what users see, `remote_id` is the backend's id (stored before anything else can fail), and
 * `state` holds everything a restarted process needs to follow the job again without submitting it again.
 */
import type { Repos, Store } from '../../store/index.js';
import type { JobRecord } from '../../store/repos/jobs.js';
import type { BackendParams, TrainingBackendName } from './params.js';
import type { PresetName } from './presets.js';

export const TRAINING_JOB_KIND = 'lora_training';

export const TRAINING_STATUSES = ['queued', 'training', 'ready', 'failed', 'canceled'] as const;
export type TrainingStatus = (typeof TRAINING_STATUSES)[number];
export const TERMINAL_TRAINING_STATUSES: readonly TrainingStatus[] = ['ready', 'failed', 'canceled'];

export function isTerminalTraining(status: string): boolean {
  return (TERMINAL_TRAINING_STATUSES as readonly string[]).includes(status);
}

/** One stage of a staged (curriculum) training: its own data mix, learning rate and epochs. */
export interface StageSpec {
  name: string;
  /** Relative share of samples per category; categories not named get weight 1. */
  mix: Record<string, number>;
  learning_rate: number;
  epochs: number;
}

/** A checkpoint written during training. */
export interface EpochFile {
  /** 0-based stage index (0 when there are no stages). */
  stage: number;
  epoch: number;
  path: string;
  bytes: number | null;
}

/** What the job is doing right now, finer than `status`. */
export type TrainingPhase = 'queued' | 'preparing' | 'uploading' | 'submitting' | 'running' | 'downloading' | 'registering' | 'done';

/** Replicate bookkeeping. */
export interface ReplicateJobState {
  trainer: string;
  destination: string;
  /** The uploaded zip's URL; also how we recognise our training in trainings.list (idempotency key). */
  input_file_url?: string;
  /** Set just before trainings.create is sent: from then on a training may exist even without an answer. */
  submit_started_at?: string;
  create_attempts?: number;
  remote_status?: string;
  output_version?: string;
  weights_url?: string;
  logs_tail?: string;
  last_poll_error?: string;
}

/** kohya bookkeeping. */
export interface KohyaJobState {
  run_dir: string;
  /** Launch count: a run that died with its process is re-run once when it produced nothing. */
  attempt: number;
  launched_at?: string;
  pid?: number;
  host?: string;
  /** Final file of each finished stage (the next stage resumes from it with --network_weights). */
  stage_finals: string[];
  log_tail: string[];
  args?: string[];
}

/** Everything in `jobs.state` for a training job. */
export interface TrainingJobState extends Record<string, unknown> {
  lora_id: string;
  backend: TrainingBackendName;
  preset: PresetName;
  /** Exactly what is sent to the backend. */
  params: BackendParams;
  warnings: string[];
  /** Sibling variants share a group id (a single job is a group of one). */
  group_id: string;
  variant: { index: number; name: string; count: number } | null;
  stages: StageSpec[] | null;
  stage_index: number;
  phase: TrainingPhase;
  step: number | null;
  total_steps: number | null;
  /** Last loss; null when unknown or not finite (see loss_text). */
  loss: number | null;
  /** Last loss as printed (`nan`, `0.0423`). */
  loss_text: string | null;
  epoch: number | null;
  total_epochs: number | null;
  eta_seconds: number | null;
  /** First progress sample (time, step), for an ETA when the backend prints none. */
  rate_anchor: { at: string; step: number } | null;
  epoch_files: EpochFile[];
  version: number | null;
  cancel_requested: boolean;
  started_at: string | null;
  finished_at: string | null;
  replicate?: ReplicateJobState;
  kohya?: KohyaJobState;
}

export type TrainingJob = JobRecord<TrainingJobState>;

/** Reading and patching training jobs needs only the jobs table (and a transaction over it). */
export interface JobsDeps {
  store: Pick<Store, 'jobs' | 'transaction'>;
}

/** The training job by id, or undefined when there is none (or it is another kind of job). */
export async function getTrainingJob(services: JobsDeps, id: string): Promise<TrainingJob | undefined> {
  const j = await services.store.jobs.get<TrainingJobState>(id);
  return j && j.kind === TRAINING_JOB_KIND ? j : undefined;
}

/** Every training job, newest first, optionally of one LoRA. */
export async function listTrainingJobs(services: JobsDeps, filter: { lora_id?: string; status?: TrainingStatus[] } = {}): Promise<TrainingJob[]> {
  return (await services.store.jobs.list({
    kind: TRAINING_JOB_KIND,
    ...(filter.lora_id ? { subject_id: filter.lora_id } : {}),
    ...(filter.status ? { status: filter.status } : {}),
  })) as TrainingJob[];
}

/**
 * Patch a job's progress unless it already ended (a cancel from another process, a webhook). `status` is
 * only written when given; progress writes never touch it, so they cannot undo a concurrent cancel.
 * Returns the updated job, or undefined when the job had ended and nothing was written.
 */
export async function patchJob(
  services: JobsDeps,
  id: string,
  patch: { status?: TrainingStatus; progress?: number; remote_id?: string; error?: string | null; state?: Partial<TrainingJobState> },
  /** More writes in the same transaction, given the job as it now stands (also when the patch was a no-op). */
  then?: (tx: Repos, job: TrainingJob) => Promise<void>,
): Promise<TrainingJob | undefined> {
  // Check and write in one transaction: a cancel landing in between would otherwise be overwritten.
  return services.store.transaction(async (tx) => {
    const cur = await tx.jobs.get<TrainingJobState>(id);
    if (!cur || cur.kind !== TRAINING_JOB_KIND) return undefined;
    if (isTerminalTraining(cur.status)) {
      await then?.(tx, cur);
      return undefined;
    }
    const next = await tx.jobs.update<TrainingJobState>(id, patch as Parameters<Store['jobs']['update']>[1]);
    await then?.(tx, next);
    return next;
  });
}

/** A progress fraction for the whole job, counting finished stages. */
export function overallProgress(state: Pick<TrainingJobState, 'stages' | 'stage_index'>, step: number | null, total: number | null): number {
  const stages = Math.max(1, state.stages?.length ?? 1);
  const within = step !== null && total ? Math.min(1, step / total) : 0;
  return Math.min(1, (Math.min(state.stage_index, stages - 1) + within) / stages);
}

/** ETA from the backend's own estimate, else from the observed rate since the first sample. */
export function estimateEta(
  anchor: TrainingJobState['rate_anchor'],
  step: number | null,
  total: number | null,
  nowMs: number,
  printed: number | null,
): number | null {
  if (printed !== null && Number.isFinite(printed)) return Math.max(0, Math.round(printed));
  if (!anchor || step === null || !total || step <= anchor.step) return null;
  const perStep = (nowMs - Date.parse(anchor.at)) / 1000 / (step - anchor.step);
  return Math.max(0, Math.round(perStep * (total - step)));
}

/** A loss for JSON: finite numbers as they are; nan/inf only as text. */
export function lossFields(loss: number | null, text?: string | null): { loss: number | null; loss_text: string | null } {
  if (loss === null) return { loss: null, loss_text: text ?? null };
  if (Number.isFinite(loss)) return { loss, loss_text: text ?? String(loss) };
  return { loss: null, loss_text: Number.isNaN(loss) ? 'nan' : loss > 0 ? 'inf' : '-inf' };
}
