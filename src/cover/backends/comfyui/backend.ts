/**
 * The ComfyUI image backend: checks every name against the server's `/object_info` (refusing before anything
 * is queued), builds the workflow, queues it, follows it and downloads the PNGs.
 */
import { z } from 'zod';
import { LoraloopError } from '../../../core/errors.js';
import type { BaseModel, GenerateRequest, GenerateResult, ImageBackend } from '../types.js';
import { createComfyClient, type ComfyClient, type ComfyClientOptions } from './client.js';
import { comboOptions, listForMessage, resolveIdentifier, resolveModelName } from './object-info.js';
import { buildWorkflow, type ModelLoader, type ResolvedGeneration } from './workflow.js';

/** Options for {@link createComfyBackend}: the client's, plus defaults for requests that leave them out. */
export interface ComfyBackendOptions extends ComfyClientOptions {
  /** Reuse an existing client (its WebSocket and name cache) instead of making one. */
  client?: ComfyClient;
  /** Checkpoint used when a request names none. */
  checkpoint?: string;
  /** Family of the default checkpoint (else inferred from its name). */
  baseModel?: BaseModel;
  /** Per generation, from queueing to the last image (default 10 minutes). */
  timeoutMs?: number;
}

/** `providerOptions.comfyui`. */
export const ComfyProviderOptionsSchema = z.object({
  filenamePrefix: z.string().min(1).max(200).optional().describe('SaveImage prefix; may contain a subfolder'),
  denoise: z.number().min(0).max(1).optional().describe('KSampler denoise, default 1'),
  guidance: z.number().min(0).max(100).optional().describe('FLUX guidance (FluxGuidance node), default 3.5'),
  clipL: z.string().optional().describe('FLUX via UNETLoader: the CLIP-L text encoder file'),
  t5: z.string().optional().describe('FLUX via UNETLoader: the T5-XXL text encoder file'),
  vae: z.string().optional().describe('FLUX via UNETLoader: the VAE file'),
  weightDtype: z.string().optional().describe('UNETLoader weight_dtype, default "default"'),
});
export type ComfyProviderOptions = z.infer<typeof ComfyProviderOptionsSchema>;

/** Defaults per family: what the model cards and ComfyUI examples use. */
const DEFAULTS: Record<BaseModel, { steps: number; cfg: number; sampler: string; scheduler: string }> = {
  sd15: { steps: 25, cfg: 7, sampler: 'dpmpp_2m', scheduler: 'karras' },
  sdxl: { steps: 30, cfg: 6, sampler: 'dpmpp_2m', scheduler: 'karras' },
  flux: { steps: 20, cfg: 1, sampler: 'euler', scheduler: 'simple' },
};

/** Guess the family from a file name; a guess, so the request's `baseModel` always wins. */
export function inferBaseModel(name: string): BaseModel {
  if (/flux/i.test(name)) return 'flux';
  // "XL" as its own token or a name suffix (sd_xl_base, juggernautXL_v9), not inside a word (flexlora, pixel).
  if (/sdxl|[^a-z]xl|xl([^a-z]|$)|pony|illustrious|noob/i.test(name)) return 'sdxl';
  return 'sd15';
}

const MAX_SEED = Number.MAX_SAFE_INTEGER;

function checkRequest(req: GenerateRequest): void {
  const bad = (message: string, hint?: string): never => {
    throw new LoraloopError('INVALID_INPUT', message, { hint });
  };
  if (!Number.isSafeInteger(req.seed) || req.seed < 0) {
    bad(`Seed ${req.seed} is not an integer between 0 and ${MAX_SEED}.`, 'Larger seeds lose precision in JSON; pick a smaller one.');
  }
  for (const [k, v] of [['width', req.width], ['height', req.height]] as const) {
    if (!Number.isInteger(v) || v < 16 || v > 16384) bad(`${k} ${v} must be an integer between 16 and 16384 pixels.`);
  }
  if (req.steps !== undefined && (!Number.isInteger(req.steps) || req.steps < 1 || req.steps > 10000)) bad(`steps ${req.steps} must be an integer in 1..10000.`);
  if (req.cfg !== undefined && !(req.cfg >= 0 && req.cfg <= 100)) bad(`cfg ${req.cfg} must be in 0..100.`);
  for (const l of req.loras ?? []) {
    if (!(Number.isFinite(l.strength) && Math.abs(l.strength) <= 100)) bad(`LoRA "${l.name}" strength ${l.strength} must be in -100..100 (usually 0..1.5).`);
  }
}

/** Create the backend. No I/O until `generate` (or a client method) is called. */
export function createComfyBackend(opts: ComfyBackendOptions): ImageBackend & { client: ComfyClient } {
  const client = opts.client ?? createComfyClient(opts);
  const server = client.baseUrl;
  const now = opts.now ?? Date.now;

  async function pickModel(req: GenerateRequest, warnings: string[]): Promise<{ loader: ModelLoader; name: string; baseModel: BaseModel }> {
    const checkpoints = await client.listCheckpoints();
    const requested = req.checkpoint ?? opts.checkpoint;
    const familyHint = req.baseModel ?? (req.checkpoint === undefined ? opts.baseModel : undefined);
    if (requested === undefined) {
      const fitting = checkpoints.filter((c) => familyHint === undefined || inferBaseModel(c) === familyHint);
      const chosen = fitting[0] ?? checkpoints[0];
      if (chosen === undefined) {
        throw new LoraloopError('NOT_CONFIGURED', `ComfyUI at ${server} lists no checkpoints.`, {
          hint: 'Put a checkpoint into models/checkpoints on that server.',
        });
      }
      warnings.push(`No checkpoint was requested; used "${chosen}" from ComfyUI at ${server}.`);
      return { loader: { kind: 'checkpoint', ckptName: chosen }, name: chosen, baseModel: familyHint ?? inferBaseModel(chosen) };
    }
    try {
      const name = resolveModelName(requested, checkpoints, 'checkpoint', server);
      return { loader: { kind: 'checkpoint', ckptName: name }, name, baseModel: familyHint ?? inferBaseModel(name) };
    } catch (e) {
      // A bare FLUX transformer lives in models/diffusion_models and loads through UNETLoader (see workflow.ts).
      const unets = await modelChoices('UNETLoader', 'unet_name', 'diffusion_models');
      let unet: string | undefined;
      try {
        unet = resolveModelName(requested, unets, 'diffusion model', server);
      } catch {
        throw e;
      }
      const baseModel = familyHint ?? 'flux';
      if (baseModel !== 'flux') {
        throw new LoraloopError('INVALID_INPUT', `"${unet}" is a bare diffusion model on ComfyUI at ${server}; only FLUX is supported that way.`, {
          hint: 'Use an all-in-one checkpoint for SD1.5/SDXL.',
        });
      }
      return { loader: await unetLoader(unet, req), name: unet, baseModel };
    }
  }

  async function modelChoices(cls: string, input: string, folder: string): Promise<string[]> {
    return comboOptions(await client.objectInfo(cls), cls, input) ?? (await client.listModels(folder));
  }

  async function unetLoader(unetName: string, req: GenerateRequest): Promise<ModelLoader> {
    const po = providerOptions(req);
    const clips = await modelChoices('DualCLIPLoader', 'clip_name1', 'text_encoders');
    const vaes = await modelChoices('VAELoader', 'vae_name', 'vae');
    const pick = (given: string | undefined, list: string[], re: RegExp, kind: 'text encoder' | 'VAE', what: string): string => {
      if (given !== undefined) return resolveModelName(given, list, kind, server);
      const hit = list.find((n) => re.test(n));
      if (hit !== undefined) return hit;
      throw new LoraloopError('NOT_FOUND', `ComfyUI at ${server} has no ${what} for FLUX. It has: ${listForMessage(list)}.`, {
        hint: `Name one with providerOptions.comfyui, or install the ${what} on the server.`,
      });
    };
    return {
      kind: 'unet',
      unetName,
      weightDtype: po.weightDtype ?? 'default',
      clipL: pick(po.clipL, clips, /clip_l/i, 'text encoder', 'CLIP-L text encoder'),
      t5: pick(po.t5, clips, /t5/i, 'text encoder', 'T5-XXL text encoder'),
      vae: pick(po.vae, vaes, /(^|[\\/])ae\.|flux/i, 'VAE', 'FLUX VAE (ae.safetensors)'),
    };
  }

  function providerOptions(req: GenerateRequest): ComfyProviderOptions {
    const raw = req.providerOptions?.comfyui;
    if (raw === undefined) return {};
    const r = ComfyProviderOptionsSchema.safeParse(raw);
    if (!r.success) {
      const i = r.error.issues[0];
      throw new LoraloopError('INVALID_INPUT', `providerOptions.comfyui.${i?.path.join('.') ?? ''}: ${i?.message ?? 'invalid'}.`);
    }
    return r.data;
  }

  async function resolve(req: GenerateRequest, warnings: string[]): Promise<ResolvedGeneration> {
    const po = providerOptions(req);
    const raw = req.providerOptions?.comfyui;
    if (raw !== null && typeof raw === 'object') {
      const known = Object.keys(ComfyProviderOptionsSchema.shape);
      for (const k of Object.keys(raw)) if (!known.includes(k)) warnings.push(`providerOptions.comfyui.${k} is not a ComfyUI option (known: ${known.join(', ')}); ignored.`);
    }
    const [model, loraNames, vocab] = await Promise.all([
      pickModel(req, warnings),
      req.loras && req.loras.length > 0 ? client.listLoras() : Promise.resolve([]),
      client.samplers(),
    ]);
    const d = DEFAULTS[model.baseModel];
    const loras = (req.loras ?? []).map((l) => ({ name: resolveModelName(l.name, loraNames, 'LoRA', server), strength: l.strength }));
    const pickVocab = (given: string | undefined, list: string[], fallback: string, kind: 'sampler' | 'scheduler'): string => {
      if (given !== undefined) return resolveIdentifier(given, list, kind, server);
      if (list.length === 0 || list.includes(fallback)) return fallback;
      const first = list[0] ?? fallback;
      warnings.push(`ComfyUI at ${server} has no ${kind} "${fallback}"; used "${first}".`);
      return first;
    };
    const sampler = pickVocab(req.sampler, vocab.samplers, d.sampler, 'sampler');
    const scheduler = pickVocab(req.scheduler, vocab.schedulers, d.scheduler, 'scheduler');

    const round8 = (v: number, k: string): number => {
      const r = Math.max(16, Math.floor(v / 8) * 8);
      if (r !== v) warnings.push(`${k} ${v} is not a multiple of 8; used ${r}.`);
      return r;
    };
    let fluxGuidance: number | undefined;
    if (model.baseModel === 'flux') {
      if (req.negativePrompt) warnings.push('FLUX ignores the negative prompt (it samples at cfg 1); it was sent but has no effect.');
      const hasGuidance = Object.keys(await client.objectInfo('FluxGuidance')).length > 0;
      if (hasGuidance) fluxGuidance = po.guidance ?? 3.5;
      else if (po.guidance !== undefined) warnings.push(`ComfyUI at ${server} has no FluxGuidance node; guidance ${po.guidance} was not applied.`);
    } else if (po.guidance !== undefined) {
      warnings.push('providerOptions.comfyui.guidance only applies to FLUX; ignored.');
    }
    return {
      baseModel: model.baseModel,
      loader: model.loader,
      loras,
      sampler,
      scheduler,
      steps: req.steps ?? d.steps,
      cfg: req.cfg ?? d.cfg,
      width: round8(req.width, 'width'),
      height: round8(req.height, 'height'),
      denoise: po.denoise ?? 1,
      fluxGuidance,
      filenamePrefix: po.filenamePrefix ?? 'loraloop',
    };
  }

  const canceled = (): LoraloopError => new LoraloopError('CANCELED', 'Generation canceled before it was queued.');

  async function generate(req: GenerateRequest): Promise<GenerateResult> {
    checkRequest(req);
    if (req.abortSignal?.aborted) throw canceled();
    const started = now();
    const warnings: string[] = [];
    // Open the socket while names resolve: events sent before it opens would be lost (history still has them).
    const [resolved] = await Promise.all([resolve(req, warnings), client.connect()]);
    const workflow = buildWorkflow(req, resolved);
    if (req.abortSignal?.aborted) throw canceled();
    const queued = await client.queuePrompt(workflow);
    if (Object.keys(queued.nodeErrors).length > 0) {
      warnings.push(`ComfyUI accepted the workflow but reported problems on nodes ${Object.keys(queued.nodeErrors).join(', ')}.`);
    }
    const run = await client.follow(queued.promptId, {
      abortSignal: req.abortSignal,
      onProgress: req.onProgress,
      timeoutMs: opts.timeoutMs,
    });
    if (run.polled) warnings.push(`The WebSocket to ComfyUI at ${server} was unavailable; the result was polled from /history.`);
    const outputs = run.images.filter((i) => i.type === 'output');
    if (outputs.length === 0) {
      throw new LoraloopError('JOB_FAILED', `ComfyUI at ${server} finished prompt ${run.promptId} without saving an image.`, {
        details: { promptId: run.promptId },
      });
    }
    const images = await Promise.all(
      outputs.map(async (img) => ({
        png: await client.view(img),
        meta: {
          provider: 'comfyui',
          server,
          promptId: run.promptId,
          node: img.node,
          filename: img.filename,
          subfolder: img.subfolder,
          type: img.type,
          seed: req.seed,
          baseModel: resolved.baseModel,
          checkpoint: resolved.loader.kind === 'checkpoint' ? resolved.loader.ckptName : resolved.loader.unetName,
          loras: resolved.loras,
          sampler: resolved.sampler,
          scheduler: resolved.scheduler,
          steps: resolved.steps,
          cfg: resolved.cfg,
          width: resolved.width,
          height: resolved.height,
          elapsedMs: now() - started,
        },
      })),
    );
    return { images, warnings };
  }

  return { provider: 'comfyui', modelId: opts.checkpoint ?? 'auto', client, generate };
}
