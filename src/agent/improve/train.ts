/**
 * Retraining through the configured backend, by the lora_train and lora_status tools. The job id is stored
 * in the run's `train` step the moment lora_train returns, and the moment before it is called the step says
 * when; so a run killed at any point follows the job it started instead of starting another: with a job id
 * it follows that job, and without one it adopts a training of the LoRA queued after the step began.
 */
import { LoraloopError } from '../../core/errors.js';
import { listTrainingJobs } from '../../lora/training/job.js';
import { TRAINING_DRIVERS, type TrainingDeps } from '../../lora/training/runner.js';
import type { LoraRecord, LoraVersionRecord } from '../../store/repos/loras.js';
import type { ToolContext } from '../../tools/types.js';
import { callToolOk } from './call.js';

export type Backend = 'replicate' | 'kohya';

/**
 * The backend to retrain on: the one that made the active version when it is still configured and fits the
 * base model, else Replicate for FLUX when configured, else kohya when configured; null when none is.
 */
export function chooseBackend(s: TrainingDeps, lora: LoraRecord, active: LoraVersionRecord | undefined): Backend | null {
  const ok = (b: Backend): boolean => TRAINING_DRIVERS[b].configured(s) && (b !== 'replicate' || lora.base_model === 'flux');
  const prev = active?.backend;
  if ((prev === 'replicate' || prev === 'kohya') && ok(prev)) return prev;
  if (ok('replicate')) return 'replicate';
  if (ok('kohya')) return 'kohya';
  return null;
}

/** What the train step persists. */
export interface TrainStepData extends Record<string, unknown> {
  backend: Backend;
  /** Set before lora_train is called. */
  requested_at: string;
  job_id?: string;
  /** The image ids the training is given (stored as the LoRA's trained set when it succeeds). */
  image_ids: string[];
  status?: string;
  version?: number | null;
  error?: string | null;
}

/** Start the training (or adopt the one a killed run started). Returns the job id. */
export async function startTraining(ctx: ToolContext, lora: LoraRecord, data: TrainStepData, persist: (d: TrainStepData) => Promise<void>): Promise<string> {
  if (data.job_id) return data.job_id;
  const adopted = (await listTrainingJobs(ctx.services, { lora_id: lora.id })).find((j) => j.created_at >= data.requested_at);
  if (adopted) {
    await persist({ ...data, job_id: adopted.id });
    return adopted.id;
  }
  const r = await callToolOk(ctx, 'lora_train', { lora_id: lora.id, backend: data.backend });
  await persist({ ...data, job_id: r.job_id });
  return r.job_id;
}

/** Follow the job with lora_status until it ends. Returns its final status and version. */
export async function followTraining(
  ctx: ToolContext,
  jobId: string,
  waitSeconds: number,
  onProgress: (message: string, progress: number) => void,
): Promise<{ status: string; version: number | null; error: string | null }> {
  for (;;) {
    ctx.signal.throwIfAborted();
    const st = await callToolOk(
      { ...ctx, progress: (p) => onProgress(p.message ?? 'training', p.progress) },
      'lora_status',
      { job_id: jobId, wait_seconds: waitSeconds },
    );
    if (st.done) return { status: st.status, version: st.version, error: st.error };
    if (ctx.signal.aborted) throw new LoraloopError('CANCELED', 'The nightly run was stopped while a training was running.', { hint: 'The training goes on; the next run follows it.' });
  }
}
