/**
 * Turning a `lora_train` request into queued jobs. Everything is checked first (project, backend
 * configuration, every parameter of every variant, stages against the project's categories) and nothing
 * is sent anywhere: the jobs are only recorded. A runner submits them (the Replicate upload, the kohya
 * child process) and follows them.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../../core/config.js';
import { LoraloopError } from '../../core/errors.js';
import type { Store } from '../../store/index.js';
import type { LoraRecord } from '../../store/repos/loras.js';
import { initialKohyaState, scriptFor } from '../backends/kohya.js';
import { TRAINING_JOB_KIND, type StageSpec, type TrainingJob, type TrainingJobState } from './job.js';
import { resolveParams, throwParamProblems, type ResolvedParams, type TrainingBackendName } from './params.js';
import type { PresetName } from './presets.js';
import { checkStages, normalizeStages, subsetCounts, type StageInput } from './stages.js';

/** Most variants one request may start (each is a full training). */
export const MAX_VARIANTS = 4;

/** A `lora_train` request after schema validation. */
export interface TrainRequest {
  lora_id: string;
  backend: TrainingBackendName;
  preset?: PresetName | undefined;
  params?: Record<string, unknown> | undefined;
  variants?: Array<{ name?: string | undefined; params?: Record<string, unknown> | undefined }> | undefined;
  stages?: StageInput[] | undefined;
}

/** The queued jobs and what the user should know. */
export interface TrainPlan {
  lora: LoraRecord;
  jobs: TrainingJob[];
  preset: PresetName;
  warnings: string[];
  group_id: string;
}

/** What to set for a backend, or undefined when it is configured. */
export function missingBackendConfig(services: { config: Config }, backend: TrainingBackendName): string[] {
  const c = services.config;
  if (backend === 'replicate') {
    return [...(c.replicate.apiToken ? [] : ['REPLICATE_API_TOKEN']), ...(c.replicate.destination ? [] : ['LORALOOP_REPLICATE_DESTINATION'])];
  }
  return [...(c.kohya.cmd ? [] : ['LORALOOP_KOHYA_CMD']), ...(c.kohya.baseModel ? [] : ['LORALOOP_KOHYA_BASE_MODEL'])];
}

function notConfigured(services: { config: Config }, backend: TrainingBackendName, missing: string[]): LoraloopError {
  const other: TrainingBackendName = backend === 'replicate' ? 'kohya' : 'replicate';
  const otherReady = missingBackendConfig(services, other).length === 0;
  const what =
    backend === 'replicate'
      ? 'REPLICATE_API_TOKEN (a token from replicate.com/account/api-tokens) and LORALOOP_REPLICATE_DESTINATION (an existing model you own, owner/model, that receives the trained versions)'
      : 'LORALOOP_KOHYA_CMD (the sd-scripts command line, e.g. "accelerate launch train_network.py", locally or through ssh) and LORALOOP_KOHYA_BASE_MODEL (the base checkpoint path)';
  return new LoraloopError('NOT_CONFIGURED', `No ${backend} training backend is configured: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set.`, {
    hint:
      `Set ${what}${otherReady ? `, or use backend "${other}", which is configured` : ''}. ` +
      'Without a backend, dataset_export {lora_id, target: "replicate"|"kohya", out} writes a ready bundle to train elsewhere.',
    details: { missing },
  });
}

/** Validate a request and record its jobs (status queued). Throws before recording anything on any problem. */
export async function planTraining(services: { config: Config; store: Pick<Store, 'transaction' | 'loras' | 'jobs' | 'kv'> }, req: TrainRequest): Promise<TrainPlan> {
  const lora = await services.store.loras.find(req.lora_id);
  if (!lora) throw new LoraloopError('NOT_FOUND', `No LoRA project "${req.lora_id}".`, { hint: 'Call lora_list to see the projects and their ids, or lora_create to make one.' });

  const missing = missingBackendConfig(services, req.backend);
  if (missing.length) throw notConfigured(services, req.backend, missing);

  if (req.backend === 'replicate' && lora.base_model !== 'flux') {
    throw new LoraloopError('INVALID_INPUT', `Replicate's trainer (${services.config.replicate.trainer.split(':')[0]}) trains FLUX LoRAs, and ${lora.name} is a ${lora.base_model} project.`, {
      hint: 'Use backend "kohya" for sd15 and sdxl projects.',
    });
  }
  if (req.stages?.length && req.backend !== 'kohya') {
    throw new LoraloopError('INVALID_INPUT', "Stages need the kohya backend: Replicate's trainer cannot resume from earlier weights.", {
      hint: 'Use backend "kohya" for staged training, or drop stages.',
    });
  }
  if (req.variants && req.variants.length > MAX_VARIANTS) {
    throw new LoraloopError('INVALID_INPUT', `${req.variants.length} variants were given; at most ${MAX_VARIANTS} run side by side.`, { hint: 'Keep the most informative parameter sets.' });
  }

  const preset: PresetName = req.preset ?? (req.backend === 'replicate' ? 'flux-replicate' : 'seed-default');
  const problems: string[] = [];
  const resolved: Array<{ name: string | undefined; value: ResolvedParams }> = [];
  const sets = req.variants?.length ? req.variants : [{ name: undefined, params: undefined }];
  sets.forEach((v, i) => {
    const merged = { ...(req.params ?? {}), ...(v.params ?? {}) };
    const r = resolveParams(req.backend, { preset, params: merged, where: req.variants?.length ? `variants[${i}].params` : 'params' });
    if (r.ok) resolved.push({ name: v.name, value: r.value });
    else problems.push(...r.problems);
  });
  const names = sets.map((v, i) => v.name?.trim() || (sets.length > 1 ? String.fromCharCode(65 + i) : 'main'));
  if (new Set(names).size !== names.length) problems.push('variants: names must be different from each other');

  const count = await services.store.loras.countImages(lora.id);
  if (count === 0) {
    throw new LoraloopError('INVALID_INPUT', `${lora.name} has no training images.`, { hint: 'Add 40-60 images with lora_upload_images, then train.' });
  }
  let stages: StageSpec[] | null = null;
  if (req.stages?.length) {
    problems.push(...checkStages(req.stages, await subsetCounts(services, lora.id)));
    stages = normalizeStages(req.stages);
  }
  if (problems.length) throwParamProblems(req.backend, problems);

  const warnings = [...new Set(resolved.flatMap((r) => r.value.warnings))];
  if (count < 10) warnings.push(`Only ${count} training images: 40-60 give a much better LoRA.`);
  if (stages) {
    const overridden = ['learning_rate', 'max_train_epochs', 'max_train_steps'].filter((k) => resolved.some((r) => k in (r.value.params as Record<string, unknown>)));
    if (overridden.length) warnings.push(`With stages, each stage's learning_rate and epochs replace ${overridden.join(', ')}.`);
  }
  if (req.backend === 'kohya') {
    const cmd = services.config.kohya.cmd ?? '';
    const script = scriptFor(lora.base_model);
    if (/train_network\.py/.test(cmd) && !cmd.includes(script)) {
      warnings.push(`${lora.name} is a ${lora.base_model} project; LORALOOP_KOHYA_CMD should run ${script}.`);
    }
  }

  const group_id = `grp_${randomUUID()}`;
  const jobs: TrainingJob[] = [];
  // One transaction: either every variant is queued or none is.
  await services.store.transaction(async (tx) => {
    for (const [i, r] of resolved.entries()) {
      const id = `job_${randomUUID()}`;
      const state: TrainingJobState = {
        lora_id: lora.id,
        backend: req.backend,
        preset,
        params: r.value.params,
        warnings: r.value.warnings,
        group_id,
        variant: resolved.length > 1 || req.variants?.length ? { index: i, name: names[i] ?? String(i), count: resolved.length } : null,
        stages,
        stage_index: 0,
        phase: 'queued',
        step: null,
        total_steps: null,
        loss: null,
        loss_text: null,
        epoch: null,
        // Epochs of the current stage, as lora_status describes it (the runner sets each stage's own).
        total_epochs: stages?.[0]?.epochs ?? null,
        eta_seconds: null,
        rate_anchor: null,
        epoch_files: [],
        version: null,
        cancel_requested: false,
        started_at: null,
        finished_at: null,
        ...(req.backend === 'replicate'
          ? { replicate: { trainer: services.config.replicate.trainer, destination: services.config.replicate.destination ?? '' } }
          : { kohya: initialKohyaState(services, id) }),
      };
      jobs.push((await tx.jobs.create({ id, kind: TRAINING_JOB_KIND, status: 'queued', subject_id: lora.id, backend: req.backend, state })) as TrainingJob);
    }
    await tx.loras.update(lora.id, { status: 'training' });
  });
  return { lora: (await services.store.loras.get(lora.id)) ?? lora, jobs, preset, warnings, group_id };
}
