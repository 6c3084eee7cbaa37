/**
 * How a training job ends: register the trained file as the next version (exactly once per job, even when
 * a process dies between registering and marking the job ready), or fail / cancel it with the backend's
 * own error text, and keep the LoRA project's status honest.
 */
import type { Repos, Store } from '../../store/index.js';
import type { LoraVersionRecord } from '../../store/repos/loras.js';
import { activateVersion, registerVersion, type RegistryServices } from '../registry.js';
import type { LoraInspection } from '../safetensors/schema.js';
import { patchJob, type TrainingJob } from './job.js';

/** What a backend hands over when its training succeeded. */
export interface TrainedOutput {
  file: Buffer | null;
  inspection?: LoraInspection;
  remote_version?: string | null;
  weights_url?: string | null;
  /** Backend facts kept with the version (trainer, destination, args...). */
  extra?: Record<string, unknown>;
}

/** Settling a job: the registry (a finished training becomes a version), the jobs table, the clock. */
export interface OutcomeDeps extends RegistryServices {
  store: Pick<Store, 'loras' | 'blobs' | 'transaction' | 'jobs'>;
  now: () => Date;
}

/**
 * Register the result and mark the job ready. Idempotent: a version already registered for this job is
 * reused. A single job's version becomes active when the project has none yet; variants register
 * candidates, to be compared in lora_status and promoted with lora_activate.
 */
export async function completeTraining(services: OutcomeDeps, job: TrainingJob, out: TrainedOutput): Promise<LoraVersionRecord> {
  const s = job.state;
  const existing = (await services.store.loras.listVersions(s.lora_id)).find((v) => v.job_id === job.id);
  const version =
    existing ??
    (await registerVersion(services, s.lora_id, {
      file: out.file,
      ...(out.inspection ? { inspection: out.inspection } : {}),
      params: {
        backend: s.backend,
        preset: s.preset,
        params: s.params,
        ...(s.stages ? { stages: s.stages } : {}),
        ...(s.variant ? { variant: s.variant } : {}),
        job_id: job.id,
        ...(job.remote_id ? { remote_id: job.remote_id } : {}),
        ...(out.extra ?? {}),
      },
      job_id: job.id,
      backend: s.backend,
      remote_version: out.remote_version ?? null,
      weights_url: out.weights_url ?? null,
      status: s.variant ? 'candidate' : 'ready',
    }));
  const lora = await services.store.loras.get(s.lora_id);
  if (!existing && !s.variant && lora && lora.active_version === null) await activateVersion(services, s.lora_id, version.version);
  const nowIso = services.now().toISOString();
  await patchJob(services, job.id, {
    status: 'ready',
    progress: 1,
    error: null,
    state: { phase: 'done', version: version.version, finished_at: nowIso, eta_seconds: 0 },
  });
  return version;
}

/** After a job fails or is canceled: the project is `failed` only when it has nothing usable. */
/**
 * The project's status once a job ended. Runs in the transaction that ends the job, so nobody reads a failed job
 * beside a project still `training`.
 */
async function settleProject(store: Pick<Repos, 'loras' | 'jobs'>, loraId: string): Promise<void> {
  const lora = await store.loras.get(loraId);
  if (!lora) return;
  const running = (await store.jobs.list({ kind: 'lora_training', subject_id: loraId, status: ['queued', 'training'] })).length;
  if (running > 0) return;
  const ready = (await store.loras.listVersions(loraId)).some((v) => v.status === 'ready');
  if (lora.active_version !== null || ready) await store.loras.update(loraId, { status: 'ready' });
  else if (lora.status === 'training') await store.loras.update(loraId, { status: 'failed' });
}

/** Fail a job with the backend's error text (kept verbatim). No-op when it already ended. */
export async function failTraining(
  services: OutcomeDeps,
  jobId: string,
  error: string,
  state: Partial<TrainingJob['state']> = {},
): Promise<TrainingJob | undefined> {
  return patchJob(
    services,
    jobId,
    { status: 'failed', error, state: { phase: 'done', finished_at: services.now().toISOString(), eta_seconds: null, ...state } },
    (tx, job) => settleProject(tx, job.state.lora_id),
  );
}

/** Mark a job canceled. No-op when it already ended. */
export async function cancelTrainingRecord(services: OutcomeDeps, jobId: string, reason?: string): Promise<TrainingJob | undefined> {
  return patchJob(
    services,
    jobId,
    { status: 'canceled', ...(reason ? { error: reason } : {}), state: { phase: 'done', cancel_requested: true, finished_at: services.now().toISOString(), eta_seconds: null } },
    (tx, job) => settleProject(tx, job.state.lora_id),
  );
}
