/**
 * The two input vocabularies of the FLUX models loraloop runs on Replicate, as their public source declares
 * them (the published schemas, with their sources, are in tests/fixtures/replicate/published-input-schemas.json):
 *
 * - the LoRA runner `black-forest-labs/flux-dev-lora` (replicate/cog-flux predict.py DevLoraPredictor): a size
 *   is an `aspect_ratio` from a fixed list plus `megapixels` ("1" or "0.25"), never width/height or "custom";
 *   guidance is `guidance`; `lora_scale` / `extra_lora_scale` run -1..3;
 * - a version trained by ostris/flux-dev-lora-trainer (replicate/flux-fine-tuner predict.py): `aspect_ratio`
 *   "custom" with `width` / `height` 256..1440; guidance is `guidance_scale`; scales run -1..2.
 *
 * Both take at most 50 `num_inference_steps`.
 */

/** Which vocabulary a target speaks. */
export type ReplicateDialect = 'lora-runner' | 'trained';

/** cog-flux predict.py ASPECT_RATIOS (the sizes at megapixels "1"; "0.25" halves both sides). */
export const RUNNER_ASPECT_RATIOS: Readonly<Record<string, readonly [number, number]>> = {
  '1:1': [1024, 1024],
  '16:9': [1344, 768],
  '21:9': [1536, 640],
  '3:2': [1216, 832],
  '2:3': [832, 1216],
  '4:5': [896, 1088],
  '5:4': [1088, 896],
  '3:4': [896, 1152],
  '4:3': [1152, 896],
  '9:16': [768, 1344],
  '9:21': [640, 1536],
};

/** Largest num_inference_steps either model takes. */
export const MAX_REPLICATE_STEPS = 50;

/** The range of `lora_scale` / `extra_lora_scale`. */
export const LORA_SCALE_RANGE: Readonly<Record<ReplicateDialect, readonly [number, number]>> = {
  'lora-runner': [-1, 3],
  trained: [-1, 2],
};

/** The input that carries cfg. */
export const GUIDANCE_INPUT: Readonly<Record<ReplicateDialect, string>> = { 'lora-runner': 'guidance', trained: 'guidance_scale' };

const round16 = (v: number): number => Math.max(256, Math.min(1440, Math.round(v / 16) * 16));

/**
 * The size inputs for a requested width x height. The runner only has fixed shapes: the closest aspect ratio
 * (by log ratio) at the megapixels closest to the request, with a warning that names the size it will make.
 */
export function sizeInputs(dialect: ReplicateDialect, width: number, height: number, warnings: string[]): Record<string, unknown> {
  if (dialect === 'trained') return { aspect_ratio: 'custom', width: round16(width), height: round16(height) };
  const want = Math.log(width / height);
  let best = '1:1';
  for (const [name, [w, h]] of Object.entries(RUNNER_ASPECT_RATIOS)) {
    const [bw, bh] = RUNNER_ASPECT_RATIOS[best] ?? [1, 1];
    if (Math.abs(Math.log(w / h) - want) < Math.abs(Math.log(bw / bh) - want)) best = name;
  }
  // "0.25" when the request is nearer a quarter megapixel than a whole one (geometric middle 0.5 MP).
  const megapixels = width * height < 0.5 * 1024 * 1024 ? '0.25' : '1';
  const [w, h] = RUNNER_ASPECT_RATIOS[best] ?? [1024, 1024];
  const made: [number, number] = megapixels === '1' ? [w, h] : [Math.floor(w / 2), Math.floor(h / 2)];
  if (made[0] !== width || made[1] !== height) {
    warnings.push(`The Replicate LoRA runner makes fixed sizes: asked for ${width}x${height}, it makes ${made[0]}x${made[1]} (aspect_ratio ${best}, megapixels ${megapixels}).`);
  }
  return { aspect_ratio: best, megapixels };
}
