/**
 * The node classes the ComfyUI emulator knows, as `/object_info` describes them in ComfyUI 0.3.64 (nodes.py,
 * comfy/samplers.py, comfy_extras/nodes_flux.py). Held to the recorded real /object_info by
 * tests/emulators/comfyui-real.test.ts: same inputs, types, ranges and fixed vocabularies.
 */

/** The model lists and files a node's combos read from (the emulator's state). */
export interface NodeLists {
  checkpoints: string[];
  loras: string[];
  unets: string[];
  textEncoders: string[];
  vaes: string[];
  files: Map<string, Buffer>;
}
export const SAMPLERS = [
  'euler', 'euler_cfg_pp', 'euler_ancestral', 'euler_ancestral_cfg_pp', 'heun', 'heunpp2', 'dpm_2', 'dpm_2_ancestral', 'lms',
  'dpm_fast', 'dpm_adaptive', 'dpmpp_2s_ancestral', 'dpmpp_2s_ancestral_cfg_pp', 'dpmpp_sde', 'dpmpp_sde_gpu', 'dpmpp_2m',
  'dpmpp_2m_cfg_pp', 'dpmpp_2m_sde', 'dpmpp_2m_sde_gpu', 'dpmpp_2m_sde_heun', 'dpmpp_2m_sde_heun_gpu', 'dpmpp_3m_sde',
  'dpmpp_3m_sde_gpu', 'ddpm', 'lcm', 'ipndm', 'ipndm_v', 'deis', 'res_multistep', 'res_multistep_cfg_pp', 'res_multistep_ancestral',
  'res_multistep_ancestral_cfg_pp', 'gradient_estimation', 'gradient_estimation_cfg_pp', 'er_sde', 'seeds_2', 'seeds_3',
  'sa_solver', 'sa_solver_pece', 'ddim', 'uni_pc', 'uni_pc_bh2',
];
export const SCHEDULERS = ['simple', 'sgm_uniform', 'karras', 'exponential', 'ddim_uniform', 'beta', 'normal', 'linear_quadratic', 'kl_optimal'];
/** DualCLIPLoader `type` (the real list; the single CLIPLoader has a longer one). */
const DUAL_CLIP_TYPES = ['sdxl', 'sd3', 'flux', 'hunyuan_video', 'hidream', 'hunyuan_image'];
/** 2^64 - 1: the real seed max, exact (see json.ts). */
export const MAX_SEED = 18446744073709551615n;

export type InputSpec = { type: string; opts?: Record<string, unknown> } | { combo: () => string[]; opts?: Record<string, unknown> };
export interface NodeSpec {
  category: string;
  display: string;
  description: string;
  required: Record<string, InputSpec>;
  optional?: Record<string, InputSpec>;
  hidden?: Record<string, string>;
  output: string[];
  outputName?: string[];
  outputNode?: boolean;
  /** VALIDATE_INPUTS: skips the combo list check (like LoadImage) and returns true or a reason. */
  validate?: (inputs: Record<string, unknown>) => true | string;
}

const STRENGTH = { default: 1.0, min: -100.0, max: 100.0, step: 0.01 };

export function nodeSpecs(st: NodeLists): Record<string, NodeSpec> {
  const inputImages = (): string[] =>
    [...st.files.keys()].filter((k) => k.startsWith('input//')).map((k) => k.slice('input//'.length)).sort();
  return {
    CheckpointLoaderSimple: {
      category: 'loaders', display: 'Load Checkpoint', description: 'Loads a diffusion model checkpoint.',
      required: { ckpt_name: { combo: () => st.checkpoints, opts: { tooltip: 'The name of the checkpoint (model) to load.' } } },
      output: ['MODEL', 'CLIP', 'VAE'],
    },
    LoraLoader: {
      category: 'loaders', display: 'Load LoRA', description: 'LoRAs modify diffusion and CLIP models.',
      required: {
        model: { type: 'MODEL' }, clip: { type: 'CLIP' },
        lora_name: { combo: () => st.loras, opts: { tooltip: 'The name of the LoRA.' } },
        strength_model: { type: 'FLOAT', opts: STRENGTH }, strength_clip: { type: 'FLOAT', opts: STRENGTH },
      },
      output: ['MODEL', 'CLIP'],
    },
    LoraLoaderModelOnly: {
      category: 'loaders', display: 'LoraLoaderModelOnly', description: '',
      required: { model: { type: 'MODEL' }, lora_name: { combo: () => st.loras }, strength_model: { type: 'FLOAT', opts: STRENGTH } },
      output: ['MODEL'],
    },
    UNETLoader: {
      category: 'advanced/loaders', display: 'Load Diffusion Model', description: '',
      required: {
        unet_name: { combo: () => st.unets },
        weight_dtype: { combo: () => ['default', 'fp8_e4m3fn', 'fp8_e4m3fn_fast', 'fp8_e5m2'] },
      },
      output: ['MODEL'],
    },
    DualCLIPLoader: {
      category: 'advanced/loaders', display: 'DualCLIPLoader', description: '',
      required: { clip_name1: { combo: () => st.textEncoders }, clip_name2: { combo: () => st.textEncoders }, type: { combo: () => DUAL_CLIP_TYPES } },
      optional: { device: { combo: () => ['default', 'cpu'], opts: { advanced: true } } },
      output: ['CLIP'],
    },
    VAELoader: {
      category: 'loaders', display: 'Load VAE', description: '',
      // The real VAELoader offers `pixel_space` (no VAE) after the files.
      required: { vae_name: { combo: () => [...st.vaes, 'pixel_space'] } },
      output: ['VAE'],
    },
    CLIPTextEncode: {
      category: 'conditioning', display: 'CLIP Text Encode (Prompt)', description: 'Encodes a text prompt.',
      required: { text: { type: 'STRING', opts: { multiline: true, dynamicPrompts: true } }, clip: { type: 'CLIP' } },
      output: ['CONDITIONING'],
    },
    FluxGuidance: {
      category: 'advanced/conditioning/flux', display: 'FluxGuidance', description: '',
      required: { conditioning: { type: 'CONDITIONING' }, guidance: { type: 'FLOAT', opts: { default: 3.5, min: 0.0, max: 100.0, step: 0.1 } } },
      output: ['CONDITIONING'],
    },
    EmptyLatentImage: {
      category: 'latent', display: 'Empty Latent Image', description: 'Create a new batch of empty latent images.',
      required: {
        width: { type: 'INT', opts: { default: 512, min: 16, max: 16384, step: 8 } },
        height: { type: 'INT', opts: { default: 512, min: 16, max: 16384, step: 8 } },
        batch_size: { type: 'INT', opts: { default: 1, min: 1, max: 4096 } },
      },
      output: ['LATENT'],
    },
    KSampler: {
      category: 'sampling', display: 'KSampler', description: 'Uses the provided model, positive and negative conditioning to denoise the latent image.',
      required: {
        model: { type: 'MODEL' },
        seed: { type: 'INT', opts: { default: 0, min: 0, max: MAX_SEED, control_after_generate: true } },
        steps: { type: 'INT', opts: { default: 20, min: 1, max: 10000 } },
        cfg: { type: 'FLOAT', opts: { default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01 } },
        sampler_name: { combo: () => SAMPLERS },
        scheduler: { combo: () => SCHEDULERS },
        positive: { type: 'CONDITIONING' }, negative: { type: 'CONDITIONING' }, latent_image: { type: 'LATENT' },
        denoise: { type: 'FLOAT', opts: { default: 1.0, min: 0.0, max: 1.0, step: 0.01 } },
      },
      output: ['LATENT'],
    },
    VAEDecode: {
      category: 'latent', display: 'VAE Decode', description: 'Decodes latent images back into pixel space images.',
      required: { samples: { type: 'LATENT' }, vae: { type: 'VAE' } },
      output: ['IMAGE'],
    },
    SaveImage: {
      category: 'image', display: 'Save Image', description: 'Saves the input images to your ComfyUI output directory.',
      required: { images: { type: 'IMAGE' }, filename_prefix: { type: 'STRING', opts: { default: 'ComfyUI' } } },
      hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
      output: [], outputNode: true,
    },
    PreviewImage: {
      category: 'image', display: 'Preview Image', description: 'Saves the input images to your ComfyUI temp directory.',
      required: { images: { type: 'IMAGE' } },
      hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
      output: [], outputNode: true,
    },
    LoadImage: {
      category: 'image', display: 'Load Image', description: '',
      required: { image: { combo: inputImages, opts: { image_upload: true } } },
      output: ['IMAGE', 'MASK'],
      validate: (inputs) => {
        const image = String(inputs.image ?? '');
        return st.files.has(`input//${image}`) || st.files.has(`input/${image}`) ? true : `Invalid image file: ${image}`;
      },
    },
  };
}

export function objectInfoFor(cls: string, spec: NodeSpec, shape: 'v1' | 'v3'): Record<string, unknown> {
  const entry = (i: InputSpec): unknown[] => {
    if ('type' in i) return [i.type, i.opts ?? {}];
    return shape === 'v1' ? [i.combo(), i.opts ?? {}] : ['COMBO', { ...(i.opts ?? {}), multiselect: false, options: i.combo() }];
  };
  const map = (r: Record<string, InputSpec>): Record<string, unknown> => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, entry(v)]));
  const input: Record<string, unknown> = { required: map(spec.required) };
  const order: Record<string, string[]> = { required: Object.keys(spec.required) };
  if (spec.optional) {
    input.optional = map(spec.optional);
    order.optional = Object.keys(spec.optional);
  }
  if (spec.hidden) {
    input.hidden = spec.hidden;
    order.hidden = Object.keys(spec.hidden);
  }
  return {
    input,
    input_order: order,
    output: spec.output,
    output_is_list: spec.output.map(() => false),
    output_name: spec.outputName ?? spec.output,
    name: cls,
    display_name: spec.display,
    description: spec.description,
    python_module: 'nodes',
    category: spec.category,
    output_node: spec.outputNode ?? false,
  };
}

