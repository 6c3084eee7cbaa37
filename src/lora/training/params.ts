/**
 * Training parameters, validated per backend BEFORE anything is sent (no upload, no child process, no
 * request). Each backend has a strict schema in its own vocabulary: the Replicate trainer's inputs
 * (TRAINERS.md §3a) and kohya sd-scripts arguments (§3b). A few generic names (`steps`, `rank`, ...) are
 * accepted as aliases so one request can be sent to either backend; anything else unknown is refused with
 * the list of accepted names, and every problem is reported at once.
 */
import { z } from 'zod';
import { LoraloopError } from '../../core/errors.js';
import { getPreset, REPLICATE_TRAINER_DEFAULTS, type PresetName } from './presets.js';

export const TRAINING_BACKENDS = ['replicate', 'kohya'] as const;
export type TrainingBackendName = (typeof TRAINING_BACKENDS)[number];

const range = (min: number, max: number) => `must be between ${min} and ${max}`;
const intIn = (min: number, max: number) =>
  z.number({ error: 'must be a number' }).int({ error: 'must be a whole number' }).min(min, range(min, max)).max(max, range(min, max));
const numIn = (min: number, max: number, exclusiveMin = false) => {
  const base = z.number({ error: 'must be a number' }).refine(Number.isFinite, 'must be a finite number');
  return base
    .refine((v) => (exclusiveMin ? v > min : v >= min) && v <= max, `must be ${exclusiveMin ? 'greater than' : 'at least'} ${min} and at most ${max}`);
};
const bool = z.boolean({ error: 'must be true or false' });

export const REPLICATE_OPTIMIZERS = ['prodigy', 'adam8bit', 'adamw8bit', 'lion8bit', 'adam', 'adamw', 'lion', 'adagrad', 'adafactor'] as const;

/** A comma-separated bucket list, as the trainer takes it; numbers and arrays are accepted and normalised. */
const resolutionList = z
  .union([z.string(), z.number(), z.array(z.number())], { error: 'must be a resolution such as 1024 or "512,768,1024"' })
  .transform((v, ctx) => {
    const parts = Array.isArray(v) ? v.map(String) : String(v).split(',');
    const nums = parts.map((p) => p.trim()).filter((p) => p !== '').map(Number);
    if (nums.length === 0 || nums.some((n) => !Number.isInteger(n) || n < 256 || n > 2048)) {
      ctx.addIssue({ code: 'custom', message: 'must be a comma-separated list of whole pixel sizes between 256 and 2048, e.g. "512,768,1024"' });
      return z.NEVER;
    }
    return [...new Set(nums)].join(',');
  });

/** ostris/flux-dev-lora-trainer inputs we let users set (TRAINERS.md §3a). Secrets and uploads are refused. */
export const replicateParamsSchema = z.strictObject({
  steps: intIn(3, 6000).describe('Training steps (3..6000; recommended 500-4000).'),
  learning_rate: numIn(0, 1, true).describe('Learning rate (> 0, at most 1; trainer default 4e-4).'),
  batch_size: intIn(1, 16).describe('Batch size (>1 turns on gradient checkpointing).'),
  resolution: resolutionList.describe('Comma-separated bucket sizes, e.g. "512,768,1024".'),
  lora_rank: intIn(1, 128).describe('LoRA rank 1..128 (alpha = rank).'),
  caption_dropout_rate: numIn(0, 1).describe('Caption dropout rate 0..1.'),
  optimizer: z.enum(REPLICATE_OPTIMIZERS, { error: `must be one of ${REPLICATE_OPTIMIZERS.join(', ')}` }).describe('Optimizer.'),
  cache_latents_to_disk: bool.describe('Cache latents to disk.'),
  layers_to_optimize_regex: z
    .string()
    .min(1)
    .max(500)
    .refine((s) => {
      try {
        new RegExp(s);
        return true;
      } catch {
        return false;
      }
    }, 'must be a valid regular expression')
    .describe('Only train layers matching this regex (the trainer errors if it matches none).'),
  gradient_checkpointing: bool.describe('Gradient checkpointing.'),
}).partial();
export type ReplicateParams = z.output<typeof replicateParamsSchema>;

export const KOHYA_SCHEDULERS = ['linear', 'cosine', 'cosine_with_restarts', 'polynomial', 'constant', 'constant_with_warmup', 'adafactor'] as const;
export const KOHYA_OPTIMIZERS = [
  'AdamW', 'AdamW8bit', 'PagedAdamW', 'PagedAdamW8bit', 'Lion', 'Lion8bit', 'PagedLion8bit', 'SGDNesterov', 'SGDNesterov8bit',
  'DAdaptation', 'DAdaptAdam', 'DAdaptLion', 'Prodigy', 'AdaFactor',
] as const;

/** kohya sd-scripts arguments (TRAINERS.md §3b) and dataset options (§3c) we let users set. */
export const kohyaParamsSchema = z.strictObject({
  network_dim: intIn(1, 1024).describe('LoRA rank (--network_dim).'),
  network_alpha: numIn(0, 1024, true).describe('LoRA alpha (--network_alpha; kohya defaults to 1, we default to network_dim).'),
  learning_rate: numIn(0, 1, true).describe('--learning_rate (always passed: kohya defaults to 2e-6).'),
  unet_lr: numIn(0, 1).describe('--unet_lr.'),
  text_encoder_lr: numIn(0, 1).describe('--text_encoder_lr.'),
  lr_scheduler: z.enum(KOHYA_SCHEDULERS, { error: `must be one of ${KOHYA_SCHEDULERS.join(', ')}` }).describe('--lr_scheduler.'),
  lr_scheduler_num_cycles: intIn(1, 100).describe('--lr_scheduler_num_cycles (restarts for cosine_with_restarts).'),
  lr_warmup_steps: numIn(0, 100_000).describe('--lr_warmup_steps: whole steps, or a fraction below 1 read as a ratio of all steps.')
    .refine((v) => v < 1 || Number.isInteger(v), 'must be a whole number of steps, or a ratio below 1'),
  min_snr_gamma: numIn(0, 20, true).describe('--min_snr_gamma (5 is recommended).'),
  noise_offset: numIn(0, 1).describe('--noise_offset (around 0.1 is recommended).'),
  max_train_steps: intIn(1, 1_000_000).describe('--max_train_steps.'),
  max_train_epochs: intIn(1, 1000).describe('--max_train_epochs (overrides max_train_steps).'),
  save_every_n_epochs: intIn(1, 1000).describe('--save_every_n_epochs.'),
  save_last_n_epochs: intIn(1, 1000).describe('--save_last_n_epochs (older checkpoints are removed).'),
  mixed_precision: z.enum(['no', 'fp16', 'bf16'], { error: 'must be no, fp16 or bf16' }).describe('--mixed_precision.'),
  save_precision: z.enum(['float', 'fp16', 'bf16'], { error: 'must be float, fp16 or bf16' }).describe('--save_precision.'),
  gradient_checkpointing: bool.describe('--gradient_checkpointing.'),
  gradient_accumulation_steps: intIn(1, 256).describe('--gradient_accumulation_steps.'),
  train_batch_size: intIn(1, 64).describe('Batch size (dataset batch_size and --train_batch_size).'),
  optimizer_type: z.enum(KOHYA_OPTIMIZERS, { error: `must be one of ${KOHYA_OPTIMIZERS.join(', ')}` }).describe('--optimizer_type.'),
  resolution: intIn(256, 4096).refine((v) => v % 64 === 0, 'must be a multiple of 64').describe('Dataset resolution (bucket base).'),
  bucket_no_upscale: bool.describe('Never upscale small images into larger buckets.'),
  min_bucket_reso: intIn(64, 4096).describe('Smallest bucket side.'),
  max_bucket_reso: intIn(64, 4096).describe('Largest bucket side.'),
  flip_aug: bool.describe('Horizontal flip augmentation (off for logos and text).'),
  color_aug: bool.describe('Colour augmentation (off for brand colours).'),
  shuffle_caption: bool.describe('Shuffle caption tokens (the trigger stays first: keep_tokens 1).'),
  keep_tokens: intIn(0, 32).describe('Leading caption tokens kept in place (at least 1 keeps the trigger first).'),
  caption_dropout_rate: numIn(0, 1).describe('Caption dropout rate 0..1.'),
  seed: intIn(0, 2 ** 31 - 1).describe('--seed.'),
  network_train_unet_only: bool.describe('Train only the U-Net / transformer.'),
  cache_latents: bool.describe('--cache_latents.'),
  sdpa: bool.describe('--sdpa attention.'),
  xformers: bool.describe('--xformers attention.'),
  clip_skip: intIn(1, 12).describe('--clip_skip (SD1.5 only).'),
}).partial();
export type KohyaParams = z.output<typeof kohyaParamsSchema>;

export type BackendParams = ReplicateParams | KohyaParams;

/** Generic names accepted for either backend, and what each means there (undefined: no equivalent). */
const ALIASES: Record<string, { replicate: string | undefined; kohya: string | undefined }> = {
  steps: { replicate: 'steps', kohya: 'max_train_steps' },
  epochs: { replicate: undefined, kohya: 'max_train_epochs' },
  rank: { replicate: 'lora_rank', kohya: 'network_dim' },
  lora_rank: { replicate: 'lora_rank', kohya: 'network_dim' },
  network_dim: { replicate: 'lora_rank', kohya: 'network_dim' },
  alpha: { replicate: undefined, kohya: 'network_alpha' },
  batch_size: { replicate: 'batch_size', kohya: 'train_batch_size' },
  train_batch_size: { replicate: 'batch_size', kohya: 'train_batch_size' },
  max_train_steps: { replicate: 'steps', kohya: 'max_train_steps' },
  lr: { replicate: 'learning_rate', kohya: 'learning_rate' },
  optimizer: { replicate: 'optimizer', kohya: 'optimizer_type' },
};

/** Inputs loraloop always sets itself on Replicate, with the reason a user may not. */
const REPLICATE_RESERVED: Record<string, string> = {
  input_images: 'loraloop builds and uploads the training zip itself',
  trigger_word: "it is the LoRA project's trigger word (set it with lora_create)",
  autocaption: 'loraloop always sends autocaption=false and writes the trigger word into every caption itself',
  autocaption_prefix: 'autocaption is off: captions come from the project',
  autocaption_suffix: 'autocaption is off: captions come from the project',
  hf_repo_id: 'uploading to a public Hugging Face repo is not supported',
  hf_token: 'secrets are never sent from tool input',
  wandb_api_key: 'secrets are never sent from tool input',
  skip_training_and_use_pretrained_hf_lora_url: 'use lora_import to register an existing LoRA',
};

/** The result of resolving a preset plus user params for one backend. */
export interface ResolvedParams<P extends BackendParams = BackendParams> {
  /** Exactly what is sent (Replicate input fields / kohya arguments), preset and user values merged. */
  params: P;
  /** Things the backend cannot honour, and other advice. Never fatal. */
  warnings: string[];
}

function issuesToSentences(err: z.ZodError, where: string, backendLabel: string): string[] {
  return err.issues.map((i) => {
    const key = i.path.length ? i.path.join('.') : '(params)';
    if (i.code === 'unrecognized_keys') {
      const keys = (i as { keys?: string[] }).keys ?? [];
      return `${where}: ${keys.join(', ')} ${keys.length === 1 ? 'is not a' : 'are not'} ${backendLabel} parameter${keys.length === 1 ? '' : 's'}`;
    }
    return `${where}.${key} ${i.message}`;
  });
}

/** Rename generic aliases to the backend's own names; returns problems for names with no equivalent. */
function applyAliases(backend: TrainingBackendName, raw: Record<string, unknown>, where: string): { out: Record<string, unknown>; problems: string[] } {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [k, v] of Object.entries(raw)) {
    if (backend === 'replicate' && k in REPLICATE_RESERVED) {
      problems.push(`${where}.${k} cannot be set: ${REPLICATE_RESERVED[k]}`);
      continue;
    }
    const alias = ALIASES[k];
    if (alias) {
      const target = alias[backend];
      if (target === undefined) {
        problems.push(
          backend === 'replicate'
            ? `${where}.${k} has no equivalent on Replicate's trainer (${k === 'epochs' ? 'use steps' : 'alpha is always equal to lora_rank'})`
            : `${where}.${k} has no kohya equivalent`,
        );
        continue;
      }
      if (target !== k && target in raw) {
        problems.push(`${where}: give either ${k} or ${target}, not both`);
        continue;
      }
      out[target] = v;
    } else {
      out[k] = v;
    }
  }
  return { out, problems };
}

/**
 * Check one parameter set for a backend. Returns the normalised params or the list of problems,
 * each naming the field (`where` prefixes it, e.g. `variants[1].params`).
 */
export function checkBackendParams(
  backend: TrainingBackendName,
  raw: Record<string, unknown>,
  where = 'params',
): { ok: true; params: BackendParams } | { ok: false; problems: string[] } {
  const { out, problems } = applyAliases(backend, raw, where);
  const schema = backend === 'replicate' ? replicateParamsSchema : kohyaParamsSchema;
  const parsed = schema.safeParse(out);
  if (!parsed.success) problems.push(...issuesToSentences(parsed.error, where, backend === 'replicate' ? 'Replicate trainer' : 'kohya'));
  if (problems.length) return { ok: false, problems };
  return { ok: true, params: parsed.data as BackendParams };
}

/** The accepted names for a backend, for hints. */
export function acceptedParamNames(backend: TrainingBackendName): string[] {
  const shape = backend === 'replicate' ? replicateParamsSchema.shape : kohyaParamsSchema.shape;
  return Object.keys(shape);
}

/** Cross-field advice and checks once preset and params are merged. */
function crossCheck(backend: TrainingBackendName, p: BackendParams, where: string): { problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  if (backend === 'kohya') {
    const k = p as KohyaParams;
    if (k.min_bucket_reso !== undefined && k.max_bucket_reso !== undefined && k.min_bucket_reso > k.max_bucket_reso) {
      problems.push(`${where}.min_bucket_reso (${k.min_bucket_reso}) must not exceed max_bucket_reso (${k.max_bucket_reso})`);
    }
    if (k.max_train_epochs !== undefined && k.max_train_steps !== undefined) {
      warnings.push(`max_train_epochs (${k.max_train_epochs}) overrides max_train_steps (${k.max_train_steps}) in kohya.`);
    }
    if (k.keep_tokens === 0) warnings.push('keep_tokens 0 lets caption shuffling move the trigger word; 1 keeps it first.');
    if (k.lr_scheduler_num_cycles !== undefined && k.lr_scheduler !== 'cosine_with_restarts') {
      warnings.push('lr_scheduler_num_cycles only matters with lr_scheduler cosine_with_restarts.');
    }
    if (k.network_alpha !== undefined && k.network_dim !== undefined && k.network_alpha > k.network_dim * 4) {
      warnings.push(`network_alpha ${k.network_alpha} is far above network_dim ${k.network_dim}: the effective learning rate is scaled by alpha/dim.`);
    }
  } else {
    const r = p as ReplicateParams;
    if (r.steps !== undefined && (r.steps < 500 || r.steps > 4000)) warnings.push(`steps ${r.steps} is outside the trainer's recommended 500-4000.`);
  }
  return { problems, warnings };
}

/** One parameter set to resolve: the preset and the user's overrides. */
export interface ParamsRequest {
  preset: PresetName;
  params?: Record<string, unknown> | undefined;
  /** Where these params came from, for messages (`params`, `variants[2].params`). */
  where?: string;
}

/**
 * Merge preset and user params for a backend and validate them. Returns problems instead of throwing so
 * a caller can gather every problem of every variant into one error.
 */
export function resolveParams(
  backend: TrainingBackendName,
  req: ParamsRequest,
): { ok: true; value: ResolvedParams } | { ok: false; problems: string[] } {
  const where = req.where ?? 'params';
  const preset = getPreset(req.preset);
  const user = checkBackendParams(backend, req.params ?? {}, where);
  if (!user.ok) return user;
  const base = backend === 'replicate' ? preset.replicate : preset.kohya;
  const merged = { ...base, ...user.params } as BackendParams;
  const warnings: string[] = [];
  const userKeys = new Set(Object.keys(user.params));
  const unsupported = backend === 'replicate' ? preset.replicateUnsupported : preset.kohyaUnsupported;
  for (const u of unsupported) {
    const key = u.split(/[=\s]/)[0] ?? u;
    if (!userKeys.has(key)) warnings.push(`Preset ${preset.name}: ${u} is not available on ${backend}; ignored.`);
  }
  if (backend === 'replicate' && req.preset === 'flux-replicate' && userKeys.size === 0) {
    warnings.push(`Using the trainer's defaults: ${Object.entries(REPLICATE_TRAINER_DEFAULTS).map(([k, v]) => `${k} ${v}`).join(', ')}.`);
  }
  const cross = crossCheck(backend, merged, where);
  if (cross.problems.length) return { ok: false, problems: cross.problems };
  warnings.push(...cross.warnings);
  return { ok: true, value: { params: merged, warnings } };
}

/** Throw one INVALID_INPUT naming every problem, with the accepted names as the hint. */
export function throwParamProblems(backend: TrainingBackendName, problems: string[]): never {
  throw new LoraloopError('INVALID_INPUT', `Training parameters refused, nothing was sent: ${problems.join('; ')}.`, {
    hint: `Accepted ${backend} parameters: ${acceptedParamNames(backend).join(', ')} (generic names steps, epochs, rank, alpha, batch_size, lr, optimizer are mapped).`,
    details: { problems },
  });
}
