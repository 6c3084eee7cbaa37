/**
 * Training presets, written once in each backend's own vocabulary (Replicate trainer inputs, kohya
 * arguments), so a preset means the same training on both. What one backend cannot express is listed in
 * `unsupported` and becomes a warning when the preset is used there, never a crash.
 */
import type { KohyaParams, ReplicateParams } from './params.js';

export const PRESET_NAMES = ['seed-default', 'quality-tuned', 'flux-replicate'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** One preset: its description and its values per backend. */
export interface TrainingPreset {
  name: PresetName;
  description: string;
  replicate: ReplicateParams;
  /** Preset settings Replicate's trainer has no input for (each becomes a warning there). */
  replicateUnsupported: string[];
  kohya: KohyaParams;
  /** Preset settings kohya cannot follow exactly (each becomes a warning there). */
  kohyaUnsupported: string[];
}

/** ostris/flux-dev-lora-trainer's own defaults (TRAINERS.md §3a), for reporting what `{}` means. */
export const REPLICATE_TRAINER_DEFAULTS: Readonly<Required<Pick<ReplicateParams,
  'steps' | 'learning_rate' | 'batch_size' | 'resolution' | 'lora_rank' | 'caption_dropout_rate' | 'optimizer'>>> = {
  steps: 1000,
  learning_rate: 4e-4,
  batch_size: 1,
  resolution: '512,768,1024',
  lora_rank: 16,
  caption_dropout_rate: 0.05,
  optimizer: 'adamw8bit',
};

const PRESETS: Record<PresetName, TrainingPreset> = {
  'seed-default': {
    name: 'seed-default',
    description: 'A quick first LoRA: resolution 512, batch 1, 1000 steps, lr 1e-4 constant, rank 4.',
    replicate: { resolution: '512', batch_size: 1, steps: 1000, learning_rate: 1e-4, lora_rank: 4 },
    replicateUnsupported: ['lr_scheduler=constant (the trainer schedules the learning rate itself)'],
    kohya: {
      resolution: 512,
      train_batch_size: 1,
      max_train_steps: 1000,
      learning_rate: 1e-4,
      lr_scheduler: 'constant',
      // network_alpha is left out: it then follows network_dim (alpha = dim), also when a user changes the rank.
      network_dim: 4,
    },
    kohyaUnsupported: [],
  },
  'quality-tuned': {
    name: 'quality-tuned',
    description:
      'Slower, higher quality: network_dim 64, alpha 32, lr 8e-5 cosine_with_restarts with 100 warmup steps, min_snr_gamma 5, noise_offset 0.05, gradient checkpointing, fp16, gradient accumulation 2, no colour or flip augmentation.',
    replicate: { lora_rank: 64, learning_rate: 8e-5, gradient_checkpointing: true },
    replicateUnsupported: [
      'network_alpha=32 (the trainer fixes alpha = rank)',
      'lr_scheduler=cosine_with_restarts',
      'lr_warmup_steps=100',
      'min_snr_gamma=5',
      'noise_offset=0.05',
      'mixed_precision=fp16 (the trainer trains in bf16)',
      'gradient_accumulation_steps=2',
      'color_aug=false / flip_aug=false (the trainer has no such inputs)',
    ],
    kohya: {
      network_dim: 64,
      network_alpha: 32,
      learning_rate: 8e-5,
      lr_scheduler: 'cosine_with_restarts',
      lr_warmup_steps: 100,
      min_snr_gamma: 5,
      noise_offset: 0.05,
      gradient_checkpointing: true,
      mixed_precision: 'fp16',
      save_precision: 'fp16',
      gradient_accumulation_steps: 2,
      color_aug: false,
      flip_aug: false,
    },
    kohyaUnsupported: [],
  },
  'flux-replicate': {
    name: 'flux-replicate',
    description:
      "Replicate's ostris/flux-dev-lora-trainer defaults: 1000 steps, lr 4e-4, batch 1, resolutions 512,768,1024, rank 16 (alpha = rank), adamw8bit, caption dropout 0.05.",
    replicate: {},
    replicateUnsupported: [],
    kohya: {
      max_train_steps: 1000,
      learning_rate: 4e-4,
      train_batch_size: 1,
      resolution: 1024,
      network_dim: 16,
      optimizer_type: 'AdamW8bit',
      caption_dropout_rate: 0.05,
      mixed_precision: 'bf16',
      save_precision: 'fp16',
    },
    kohyaUnsupported: ['resolution=512,768,1024 (one kohya dataset trains at one resolution; 1024 with buckets is used)'],
  },
};

/** The preset by name (the names are a zod enum at the tool boundary, so this never misses). */
export function getPreset(name: PresetName): TrainingPreset {
  return PRESETS[name];
}
