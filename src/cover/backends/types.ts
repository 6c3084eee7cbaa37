/**
 * The one interface every image generation backend implements (ComfyUI, Replicate, the local renderer).
 * Shaped like vercel/ai's `ImageModel`: `{ provider, modelId, generate(...) }` returning `{ images, warnings }`.
 * Options a backend cannot honour become `warnings`, never crashes; refusals a user can act on (an unknown
 * checkpoint, a bad seed) are thrown as `LoraloopError` before any remote side effect.
 */

/** Base model family; decides the workflow shape (FLUX takes model-only LoRAs and no real negative prompt). */
export type BaseModel = 'sd15' | 'sdxl' | 'flux';

/** One LoRA to apply, by the name the backend knows it under, with one strength for model and text encoder. */
export interface LoraRef {
  /** File name as the server lists it; backends match `x.safetensors` against `sub/x.safetensors` when unique. */
  name: string;
  /** Usually 0..1.5; ComfyUI accepts -100..100. */
  strength: number;
  /** Registry version (backends that know versions, like Replicate, use that version's weights). */
  version?: number;
}

/** Progress of one generation: `value` of `max` sampler steps. */
export interface GenerateProgress {
  value: number;
  max: number;
}

/** One image request. Sizes are pixels; `seed` must be an integer in 0..2^53-1 (exact in JSON from JS). */
export interface GenerateRequest {
  prompt: string;
  negativePrompt?: string;
  width: number;
  height: number;
  seed: number;
  /** Checkpoint name as the backend lists it; backends pick a default (with a warning) when absent. */
  checkpoint?: string;
  /** Family of `checkpoint`; inferred from the name when absent (flux/xl in the name). */
  baseModel?: BaseModel;
  loras?: LoraRef[];
  steps?: number;
  cfg?: number;
  sampler?: string;
  scheduler?: string;
  /** Aborting cancels the remote job (ComfyUI: POST /interrupt with the prompt id) and rejects with CANCELED. */
  abortSignal?: AbortSignal;
  onProgress?: (p: GenerateProgress) => void;
  /** Per-provider extras, keyed by provider name (`{ comfyui: {...} }`), like vercel/ai. */
  providerOptions?: Record<string, unknown>;
}

/** One produced image: PNG bytes plus facts about how it was made (prompt id, server, names used). */
export interface GeneratedImage {
  png: Buffer;
  meta: Record<string, unknown>;
}

export interface GenerateResult {
  images: GeneratedImage[];
  /** Options that were not honoured or were adjusted, as sentences. */
  warnings: string[];
}

/** An image generation backend. */
export interface ImageBackend {
  /** Provider name, e.g. `comfyui`, `replicate`, `local`. */
  provider: string;
  /** The default model this backend generates with (checkpoint name, Replicate model, ...). */
  modelId: string;
  generate(req: GenerateRequest): Promise<GenerateResult>;
}
