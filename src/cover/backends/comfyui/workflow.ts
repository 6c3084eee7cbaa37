/**
 * Building the API-format workflow graph (CONTRACTS.md §1.10) for one text-to-image request.
 *
 * SD1.5 / SDXL: CheckpointLoaderSimple -> LoraLoader x N (MODEL and CLIP chained) -> 2x CLIPTextEncode ->
 * EmptyLatentImage -> KSampler -> VAEDecode -> SaveImage.
 *
 * FLUX, and the loader choice: a FLUX model comes either as an all-in-one checkpoint (the fp8 files
 * Comfy-Org publishes, which CheckpointLoaderSimple loads with their CLIP and VAE) or as a bare diffusion
 * model under models/diffusion_models, which needs UNETLoader + DualCLIPLoader(clip_l, t5xxl, type "flux") +
 * VAELoader. The backend uses CheckpointLoaderSimple when the server lists the name as a checkpoint (one node,
 * nothing else to pick) and the UNET trio only when the name is a diffusion model. Either way FLUX LoRAs go
 * through LoraLoaderModelOnly: FLUX LoRAs (ostris, kohya flux) train the transformer only, and the
 * text-encoder half of LoraLoader would be a no-op at best. FLUX-dev is distilled for cfg 1, so guidance
 * goes through a FluxGuidance node on the positive conditioning when the server has it, and the negative
 * prompt has no effect (the backend warns).
 */
import type { GenerateRequest } from '../types.js';

/** A link: `[source node id (string), output index]`. */
export type ComfyLink = [string, number];

/** One node of an API-format workflow. */
export interface ComfyNode {
  class_type: string;
  inputs: Record<string, unknown>;
}

/** API-format workflow: node id -> node. */
export type ComfyWorkflow = Record<string, ComfyNode>;

/** How the model gets loaded. */
export type ModelLoader =
  | { kind: 'checkpoint'; ckptName: string }
  | { kind: 'unet'; unetName: string; weightDtype: string; clipL: string; t5: string; vae: string };

/** Everything already checked against the server: exact names, numbers in range. */
export interface ResolvedGeneration {
  baseModel: 'sd15' | 'sdxl' | 'flux';
  loader: ModelLoader;
  loras: Array<{ name: string; strength: number }>;
  sampler: string;
  scheduler: string;
  steps: number;
  cfg: number;
  /** Multiples of 8 (the latent is 1/8 of the image). */
  width: number;
  height: number;
  denoise: number;
  /** FLUX only: guidance for a FluxGuidance node; undefined = no such node. */
  fluxGuidance?: number;
  filenamePrefix: string;
}

/** The node id of the SaveImage node, where the images come out. */
export const SAVE_NODE_ID = '9';

/** Build the graph. Pure: the same request and resolution always give the same graph. */
export function buildWorkflow(
  req: Pick<GenerateRequest, 'prompt' | 'negativePrompt' | 'seed'>,
  r: ResolvedGeneration,
): ComfyWorkflow {
  const wf: ComfyWorkflow = {};
  let model: ComfyLink;
  let clip: ComfyLink;
  let vae: ComfyLink;
  if (r.loader.kind === 'checkpoint') {
    wf['1'] = { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: r.loader.ckptName } };
    model = ['1', 0];
    clip = ['1', 1];
    vae = ['1', 2];
  } else {
    wf['1'] = { class_type: 'UNETLoader', inputs: { unet_name: r.loader.unetName, weight_dtype: r.loader.weightDtype } };
    wf['2'] = {
      class_type: 'DualCLIPLoader',
      inputs: { clip_name1: r.loader.clipL, clip_name2: r.loader.t5, type: 'flux' },
    };
    wf['3'] = { class_type: 'VAELoader', inputs: { vae_name: r.loader.vae } };
    model = ['1', 0];
    clip = ['2', 0];
    vae = ['3', 0];
  }

  // LoRA chain: ids 20, 21, ... so the fixed nodes keep small stable ids whatever the LoRA count.
  r.loras.forEach((l, i) => {
    const id = String(20 + i);
    if (r.baseModel === 'flux') {
      wf[id] = {
        class_type: 'LoraLoaderModelOnly',
        inputs: { model, lora_name: l.name, strength_model: l.strength },
      };
      model = [id, 0];
    } else {
      wf[id] = {
        class_type: 'LoraLoader',
        inputs: { model, clip, lora_name: l.name, strength_model: l.strength, strength_clip: l.strength },
      };
      model = [id, 0];
      clip = [id, 1];
    }
  });

  wf['4'] = { class_type: 'CLIPTextEncode', inputs: { text: req.prompt, clip } };
  wf['5'] = { class_type: 'CLIPTextEncode', inputs: { text: req.negativePrompt ?? '', clip } };
  let positive: ComfyLink = ['4', 0];
  if (r.baseModel === 'flux' && r.fluxGuidance !== undefined) {
    wf['10'] = { class_type: 'FluxGuidance', inputs: { conditioning: positive, guidance: r.fluxGuidance } };
    positive = ['10', 0];
  }
  wf['6'] = { class_type: 'EmptyLatentImage', inputs: { width: r.width, height: r.height, batch_size: 1 } };
  wf['7'] = {
    class_type: 'KSampler',
    inputs: {
      model,
      seed: req.seed,
      steps: r.steps,
      cfg: r.cfg,
      sampler_name: r.sampler,
      scheduler: r.scheduler,
      positive,
      negative: ['5', 0],
      latent_image: ['6', 0],
      denoise: r.denoise,
    },
  };
  wf['8'] = { class_type: 'VAEDecode', inputs: { samples: ['7', 0], vae } };
  wf[SAVE_NODE_ID] = { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: r.filenamePrefix } };
  return wf;
}
