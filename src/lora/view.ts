/**
 * How a LoRA project looks on the wire (lora_list, lora_create, lora_import): one zod schema, one function
 * that fills it from the store. snake_case, every field described.
 */
import { z } from 'zod';
import type { Store } from '../store/index.js';
import type { LoraRecord } from '../store/repos/loras.js';

export const BASE_MODELS = ['flux', 'sdxl', 'sd15'] as const;
export const ASSET_TYPES = ['icons', 'product', 'logo', 'premium', 'coin', 'character', 'style', 'cover'] as const;
export const LORA_STATUSES = ['created', 'uploading', 'training', 'ready', 'failed'] as const;

export const baseModelSchema = z.enum(BASE_MODELS).describe('Base model family: flux (FLUX.1), sdxl (SDXL 1.0) or sd15 (Stable Diffusion 1.5).');
export const assetTypeSchema = z
  .enum(ASSET_TYPES)
  .describe('What the LoRA draws: icons, product, logo, premium, coin, character, style or cover.');
export const loraIdSchema = z.string().min(1).max(200).describe('LoRA project id (lora_...) or its name.');
export const tickerSchema = z
  .string()
  .min(1)
  .max(20)
  .regex(/^\$?[A-Za-z0-9.-]+$/, 'a ticker such as SOL')
  .describe('Coin ticker, e.g. SOL.');

export const versionViewSchema = z.object({
  version: z.number().int().describe('Version number (1, 2, ...).'),
  status: z.enum(['ready', 'candidate', 'rejected']).describe('ready: usable; candidate: waiting for evaluation; rejected: failed evaluation.'),
  active: z.boolean().describe('True for the version generation uses.'),
  backend: z.string().nullable().describe('Where it came from: replicate, kohya or import.'),
  architecture: z.string().nullable().describe('Base model family read from the file header (sd1, sd2, sdxl, flux1, unknown); null without a file.'),
  rank: z.number().nullable().describe('LoRA rank read from the file, when known.'),
  file_path: z.string().nullable().describe('The stored .safetensors file, or null for a remote-only version.'),
  file_bytes: z.number().nullable().describe('File size in bytes.'),
  remote_version: z.string().nullable().describe('Replicate model version, when trained there.'),
  job_id: z.string().nullable().describe('Training job that produced it.'),
  created_at: z.string().describe('When it was registered (ISO 8601).'),
});

export const loraViewSchema = z.object({
  lora_id: z.string().describe('Project id.'),
  name: z.string().describe('Registry name.'),
  description: z.string().nullable().describe('What the LoRA is for.'),
  base_model: baseModelSchema,
  asset_type: z.string().describe('What the LoRA draws.'),
  trigger_word: z.string().describe('Word put first in every training caption and in prompts.'),
  status: z.enum(LORA_STATUSES).describe('created -> uploading -> training -> ready | failed.'),
  coins: z.array(z.string()).describe('Tickers this LoRA serves (routing picks it for these coins).'),
  active_version: z.number().int().nullable().describe('Version generation uses, or null.'),
  strength: z.number().nullable().describe('Default strength of the active version (-2..2).'),
  images: z
    .object({
      total: z.number().int().describe('Training images (excluded ones not counted).'),
      captioned: z.number().int().describe('Images with a caption.'),
      pending: z.number().int().describe('Images waiting for a caption (caption_write).'),
    })
    .describe('Training image counts.'),
  versions: z.array(versionViewSchema).describe('Every version, oldest first.'),
  created_at: z.string().describe('When the project was created (ISO 8601).'),
  updated_at: z.string().describe('Last change (ISO 8601).'),
});
export type LoraView = z.infer<typeof loraViewSchema>;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Fill the wire view of a project from the store. */
export async function loraView(store: Store, lora: LoraRecord): Promise<LoraView> {
  const images = await store.loras.listImages(lora.id);
  const captioned = images.filter((i) => i.caption_status === 'ok').length;
  return {
    lora_id: lora.id,
    name: lora.name,
    description: lora.description,
    base_model: lora.base_model,
    asset_type: lora.asset_type,
    trigger_word: lora.trigger_word,
    status: lora.status,
    coins: lora.coins,
    active_version: lora.active_version,
    strength: lora.active_version === null ? null : lora.default_strength,
    images: { total: images.length, captioned, pending: images.length - captioned },
    versions: (await store.loras.listVersions(lora.id)).map((v) => ({
      version: v.version,
      status: v.status,
      active: v.version === lora.active_version,
      backend: v.backend,
      architecture: typeof v.inspection?.architecture === 'string' ? v.inspection.architecture : null,
      rank: num(v.inspection?.rank),
      file_path: v.file_path,
      file_bytes: v.file_bytes,
      remote_version: v.remote_version,
      job_id: v.job_id,
      created_at: v.created_at,
    })),
    created_at: lora.created_at,
    updated_at: lora.updated_at,
  };
}

/** Normalise tickers: no `$`, upper case, unique, in the given order. */
export function normalizeCoins(coins: string[] | undefined): string[] {
  return [...new Set((coins ?? []).map((c) => c.trim().replace(/^\$/, '').toUpperCase()).filter((c) => c !== ''))];
}
