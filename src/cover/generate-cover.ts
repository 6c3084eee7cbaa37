/**
 * cover_generate's engine: one finished cover from a title, drawn by the local renderer or by a generation
 * backend (the ComfyUI pool with the checkpoint picked here, or Replicate), then composited with the coin's
 * logo and the title (unless raw).
 */
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../core/config.js';
import { LoraloopError } from '../core/errors.js';
import type { Progress } from '../core/progress.js';
import type { Store } from '../store/index.js';
import type { CoverRecord } from '../store/repos/covers.js';
import { inferBaseModel } from './backends/comfyui/backend.js';
import type { BackendName, BackendRegistry } from './backends/registry.js';
import type { BaseModel } from './backends/types.js';
import { DEFAULT_TIER, allocate, fuzzyMatchModel, parseTiers, resolveTier } from './checkpoints.js';
import { finishImage, generateOne, planImage, type GenerateDeps, type PlanDeps } from './generate.js';
import { makeCover, type CoverMade, type MakeCoverDeps } from './local-cover.js';

/** A LoRA by name with its strength, as tools take it. */
export const loraInputSchema = z.object({
  name: z.string().min(1).max(300).describe('LoRA name in the registry, or a LoRA file name as the ComfyUI servers list it.'),
  strength: z.number().min(-2).max(2).describe('Strength, usually 0.5..1.0.'),
  version: z.number().int().min(1).optional().describe('Registry version to use (v1, v2, ...); default the active version. Candidates can be tried before they are promoted.'),
});

/** Which checkpoint to use: the one named (fuzzy), else the best of the tier. */
export interface CheckpointRequest {
  backend: BackendName;
  checkpoint?: string | undefined;
  tier?: string | undefined;
}

/** What picking a checkpoint needs: the tiers, the servers' checkpoints, the selection statistics. */
export interface CheckpointDeps {
  config: Pick<Config, 'checkpointTiers'>;
  backends: Pick<BackendRegistry, 'comfyCheckpoints'>;
  store: Pick<Store, 'generation'>;
}

/** One cover as cover_generate is asked for it (size already parsed). */
export interface GenerateCoverRequest extends CheckpointRequest {
  title: string;
  subtitle?: string | undefined;
  width: number;
  height: number;
  seed?: number | undefined;
  style?: string | undefined;
  out?: string | undefined;
  loras?: Array<z.output<typeof loraInputSchema>> | undefined;
  raw: boolean;
  prompt?: string | undefined;
}

export interface GenerateCoverOptions {
  signal?: AbortSignal;
  progress?: Progress;
}

/** The stored cover and how it was made, for the tool's answer. */
export interface GeneratedCover {
  record: CoverRecord;
  /** The composition (logo, title, contrast); null for a raw image. */
  made: CoverMade | null;
  checkpoint: string | null;
  loras: Array<{ name: string; strength: number }>;
  prompt: string | null;
  raw: boolean;
  server: string | null;
  warnings: string[];
  /** The decisions taken (routing, checkpoint, LoRAs, the backend call), as sentences. */
  lead: string;
}

export type GenerateCoverDeps = PlanDeps & GenerateDeps & MakeCoverDeps & CheckpointDeps;

/** Make one finished cover (see the module comment). Expected failures throw LoraloopError. */
export async function generateCover(s: GenerateCoverDeps, input: GenerateCoverRequest, opts: GenerateCoverOptions = {}): Promise<GeneratedCover> {
  if (input.backend !== 'local' || input.raw) return generateWithBackend(s, input, opts);
  const progress = opts.progress ?? (() => {});
  const { width, height } = input;
  progress({ progress: 0, total: 1, message: 'rendering' });
  const made = await makeCover(s, { title: input.title, subtitle: input.subtitle, width, height, seed: input.seed, out: input.out, style: input.style });
  progress({ progress: 1, total: 1, message: 'done' });
  const warnings = input.loras?.length ? ['The local renderer cannot apply LoRAs; use backend comfyui or replicate for them.', ...made.render.warnings] : made.render.warnings;
  return { record: made.record, made, checkpoint: null, loras: [], prompt: null, raw: false, server: 'local', warnings, lead: made.route.reasoning };
}

/** The best checkpoint of a tier on the servers (highest posterior selection rate), and its family. */
export async function pickCheckpoint(s: CheckpointDeps, input: CheckpointRequest): Promise<{ checkpoint: string | undefined; baseModel: BaseModel | undefined; note: string | null }> {
  if (input.backend === 'replicate') return { checkpoint: undefined, baseModel: 'flux', note: null };
  const tiers = parseTiers(s.config.checkpointTiers);
  const available = await s.backends.comfyCheckpoints();
  if (input.checkpoint) {
    // Fuzzy names (realisticVision -> realisticVisionV60B1_v51VAE.safetensors); unknown ones go to the server, which lists what it has.
    const file = available.includes(input.checkpoint) ? input.checkpoint : (fuzzyMatchModel(input.checkpoint, available) ?? input.checkpoint);
    return { checkpoint: file, baseModel: inferBaseModel(file), note: file !== input.checkpoint ? `Checkpoint "${input.checkpoint}" is ${file} on the servers.` : null };
  }
  if (available.length === 0) return { checkpoint: undefined, baseModel: tiers[input.tier ?? DEFAULT_TIER]?.base_model, note: null };
  const resolved = resolveTier(input.tier ?? DEFAULT_TIER, tiers, available);
  const stats = await s.store.generation.stats('checkpoint', '');
  const arms = resolved.checkpoints.map((c) => {
    const st = stats.find((x) => x.arm === c.file);
    return { arm: c.file, selected: st?.selected ?? 0, total: st?.total ?? 0 };
  });
  const best = allocate(arms, 1, 'quick')[0]?.arm;
  if (!best) return { checkpoint: undefined, baseModel: resolved.base_model, note: `No server has a ${resolved.tier} checkpoint (${resolved.missing.join(', ')}); the server's default was used.` };
  return { checkpoint: best, baseModel: resolved.base_model, note: `Checkpoint ${best}: the best-selected of tier ${resolved.tier}.` };
}

async function generateWithBackend(s: GenerateCoverDeps, input: GenerateCoverRequest, opts: GenerateCoverOptions): Promise<GeneratedCover> {
  const { width, height } = input;
  const progress = opts.progress ?? (() => {});
  if (input.backend === 'local' && input.loras?.length) {
    throw new LoraloopError('INVALID_INPUT', 'The local renderer cannot apply LoRAs.', { hint: 'Use backend comfyui or replicate, or leave loras out.' });
  }
  // Fail on a missing configuration before any work, naming the variable.
  s.backends.workers(input.backend);
  const picked = input.backend === 'local' ? { checkpoint: undefined, baseModel: undefined, note: null } : await pickCheckpoint(s, input);
  const plan = await planImage(s, {
    title: input.title,
    subtitle: input.subtitle,
    prompt: input.prompt,
    backend: input.backend,
    loras: input.loras,
    baseModel: picked.baseModel,
    style: input.style,
  });
  const seed = input.seed ?? randomInt(0, 2 ** 31 - 1);
  progress({ progress: 0, total: 1, message: `generating on ${input.backend}` });
  const gen = await generateOne(s, {
    plan,
    backend: input.backend,
    checkpoint: picked.checkpoint,
    baseModel: picked.baseModel,
    seed,
    width,
    height,
    signal: opts.signal,
    onProgress: (p) => progress({ progress: p.max > 0 ? (0.9 * p.value) / p.max : 0, total: 1, message: `sampling ${p.value}/${p.max}` }),
  });
  const image = gen.result.images[0];
  if (!image) throw new LoraloopError('JOB_FAILED', `The ${input.backend} backend returned no image.`);
  const checkpoint = typeof image.meta.checkpoint === 'string' ? image.meta.checkpoint : null;
  // What the backend says it applied (a backend may drop a LoRA with a warning).
  const appliedParsed = z.array(loraInputSchema).safeParse(image.meta.loras);
  const applied = appliedParsed.success ? appliedParsed.data : gen.loras;
  progress({ progress: 0.95, total: 1, message: input.raw ? 'storing' : 'compositing logo and title' });
  const fin = await finishImage(s, {
    plan,
    png: image.png,
    raw: input.raw,
    width,
    height,
    seed,
    backend: input.backend,
    checkpoint,
    loras: applied,
    out: input.out,
    style: input.style,
    meta: { server: gen.server, generation: image.meta, backend_warnings: gen.result.warnings, elapsed_ms: gen.elapsed_ms },
  });
  progress({ progress: 1, total: 1, message: 'done' });
  const warnings = [...plan.notes.filter((n) => !n.startsWith('Auto-LoRA')), ...gen.result.warnings, ...(fin.made?.render.warnings ?? [])];
  const lead = [
    plan.route?.reasoning ?? '',
    picked.note ?? '',
    plan.notes.find((n) => n.startsWith('Auto-LoRA')) ?? '',
    `Made the picture on ${gen.server}${checkpoint ? ` with ${checkpoint}` : ''}${applied.length ? ` and ${applied.map((l) => `${l.name} at ${l.strength}`).join(', ')}` : ''} in ${Math.round(gen.elapsed_ms)} ms, prompt: "${plan.prompt}".`,
  ]
    .filter(Boolean)
    .join(' ');
  return { record: fin.record, made: fin.made, checkpoint, loras: applied, prompt: plan.prompt, raw: fin.made === null, server: gen.server, warnings, lead };
}
