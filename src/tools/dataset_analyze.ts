import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { LoraloopError } from '../core/errors.js';
import { ok } from '../core/result.js';
import { analysisReasoning, analyzeFolder, analyzeProject, requireLora, type DatasetAnalysis } from '../dataset/analyze/index.js';
import type { TargetRange } from '../dataset/analyze/taxonomy.js';
import { assetTypeSchema, baseModelSchema } from '../lora/view.js';
import { defineTool } from './types.js';

const rangeSchema = z
  .array(z.number().min(0).max(100))
  .length(2)
  .refine((r) => (r[0] as number) <= (r[1] as number), 'the first number (min) must not exceed the second (max)')
  .describe('[min, max] percent of the images.');

/** A [min, max] pair on the wire (an array: tuple schemas do not survive every JSON Schema validator). */
export const rangeOutSchema = z.array(z.number()).length(2);

/** Tool targets -> typed ranges. */
export function toTargets(t: Record<string, number[]> | undefined): Record<string, TargetRange> | undefined {
  if (!t) return undefined;
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, [v[0] ?? 0, v[1] ?? 100] as TargetRange]));
}

/** Target ranges as tools take them. Shared with dataset_rebalance. */
export const targetsSchema = z
  .record(z.string().min(1).max(60), rangeSchema)
  .describe(
    'Target share per category in percent, e.g. {"full-body": [25, 30]}. Categories: close-up, medium shot, full-body, far/wide, multi-character, occlusion, complex background (and coin:SYM, palette:warm|cool|green|neutral|mixed for coin sets). Default: the project\'s targets, else the defaults for its asset type.',
  );

/** The `data` schema of dataset_analyze (dataset_report reuses parts). */
export const analysisOutputSchema = z.object({
  lora_id: z.string().optional().describe('Project analysed (lora_id mode).'),
  dir: z.string().optional().describe('Folder analysed (dir mode), as resolved.'),
  images: z.number().int().describe('Images seen (project images, or image files in the folder).'),
  analyzed: z.number().int().describe('Images decoded and measured.'),
  broken: z.number().int().describe('Files that could not be read or decoded (each listed in issues).'),
  usable: z.number().int().describe('Analysed images minus extra copies in duplicate groups.'),
  issues: z
    .array(
      z.object({
        image_id: z.string().optional().describe('Project image id (lora_id mode).'),
        file: z.string().optional().describe('File path relative to dir (dir mode).'),
        label: z.string().describe('File name for people.'),
        kind: z
          .enum(['broken', 'low_resolution', 'blurry', 'too_dark', 'too_bright', 'low_information', 'odd_aspect', 'greyscale', 'jpeg_artifacts', 'duplicate'])
          .describe('What is wrong.'),
        detail: z.string().describe('The measurement and what to do.'),
      }),
    )
    .describe('Every problem found, image by image.'),
  duplicates: z.array(z.array(z.string())).describe('Groups of exact or near duplicates (image ids or files), the first of each group is kept as reference.'),
  categories: z
    .record(
      z.string(),
      z.object({
        count: z.number().int().describe('Images in the category.'),
        share: z.number().describe('Percent of the analysed images.'),
        target: rangeOutSchema.nullable().describe('Target range in percent, or null when the category has none.'),
      }),
    )
    .describe('Category distribution (an image may be in several categories; at most one framing category).'),
  gaps: z
    .array(
      z.object({
        category: z.string().describe('Category outside its range.'),
        share: z.number().describe('Its share in percent.'),
        target: rangeOutSchema.describe('Its target range in percent.'),
        severity: z.enum(['high', 'medium', 'low']).describe('How much it matters.'),
        direction: z.enum(['under', 'over']).describe('Below or above the range.'),
        needed: z.number().int().describe('Images of this category to add to reach the range (under).'),
        advice: z.string().describe('What to do, with the numbers.'),
        impact: z.string().describe('What the gap costs the LoRA.'),
      }),
    )
    .describe('Categories outside their target ranges, most severe first.'),
  volume_level: z.enum(['too_few', 'minimum', 'good', 'great', 'excellent']).describe('Volume of usable images: minimum 10-15, good 20-35, great 50-100, excellent 100-200.'),
  unclassified: z.number().int().describe('Images without a framing category (no framing word in tags, caption or categories, and no person the local detector could frame).'),
  typed_from_pixels: z.number().int().describe('Images whose framing and content categories were read from the pixels (faces and body keypoints), because their text named no framing.'),
  buckets: z.record(z.string(), z.number().int()).describe('Images per kohya bucket (WxH) at the base model resolution.'),
  resolution_target: z.number().int().describe('Training resolution of the base model (1024 flux/sdxl, 512 sd15).'),
  colour_set: z.boolean().describe('True when most images are in colour (greyscale ones are then flagged).'),
});

/** Analysis -> the tool's data (records stay internal). */
export function analysisData(a: DatasetAnalysis, where: { lora_id?: string; dir?: string }): z.output<typeof analysisOutputSchema> {
  return {
    ...where,
    images: a.images,
    analyzed: a.analyzed,
    broken: a.broken,
    usable: a.usable,
    issues: a.issues.map((i) => ({ ...(i.image_id ? { image_id: i.image_id } : {}), ...(i.file ? { file: i.file } : {}), label: i.label, kind: i.kind, detail: i.detail })),
    duplicates: a.duplicates,
    categories: a.categories,
    gaps: a.gaps,
    volume_level: a.volume_level,
    unclassified: a.unclassified,
    typed_from_pixels: a.typed_from_pixels,
    buckets: a.buckets,
    resolution_target: a.resolution_target,
    colour_set: a.colour_set,
  };
}

export const datasetAnalyzeTool = defineTool({
  name: 'dataset_analyze',
  title: 'Find the gaps in a training set',
  description:
    'Analyse a LoRA project\'s training images (lora_id) or a folder of images (dir): resolution against the base model and the kohya bucket, blur, too dark/bright, low information, odd aspect, greyscale in a colour set, JPEG artefacts, exact and near duplicates (as groups), broken files (reported, the analysis goes on), the volume level, and the category balance (close-up, medium shot, full-body, far/wide, multi-character, occlusion, complex background, read from tags and captions, else from the pixels by a local face and body-keypoint detector; coins and palettes for coin sets) against target ranges, with each gap\'s severity and what to do. Read-only; streams the set.',
  input: z.object({
    lora_id: z.string().min(1).max(200).optional().describe('LoRA project id (lora_...) or name. Give this or dir.'),
    dir: z.string().min(1).max(4096).optional().describe('A folder of images under LORALOOP_ALLOWED_ROOTS (sidecar .txt files are read as captions). Give this or lora_id.'),
    targets: targetsSchema.optional(),
    save_targets: z.boolean().optional().describe('lora_id only: store the given targets on the project for later analyses (default false).'),
    base_model: baseModelSchema.optional().describe('dir only: base model whose resolution to check against (default flux).'),
    asset_type: assetTypeSchema.optional().describe('dir only: what the images are for, which picks thresholds and default targets (default character).'),
  }),
  output: analysisOutputSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  longRunning: true,
  // A project's images are blobs any worker reads; a folder is on the caller's host.
  worker: (input) => input.dir === undefined,
  async handler(ctx, input) {
    const s = ctx.services;
    if ((input.lora_id ? 1 : 0) + (input.dir ? 1 : 0) !== 1) {
      throw new LoraloopError('INVALID_INPUT', 'Give exactly one of lora_id and dir.', { hint: 'lora_id analyses a project\'s stored images; dir analyses a folder of image files.' });
    }
    const progress = (done: number, message: string): void => ctx.progress({ progress: done, message: `analysed ${done}: ${message}` });
    if (input.lora_id) {
      let lora = await requireLora(s, input.lora_id);
      const targets = toTargets(input.targets);
      if (targets && input.save_targets) lora = await s.store.loras.update(lora.id, { targets });
      const a = await analyzeProject(s, lora, { signal: ctx.signal, onProgress: progress, ...(targets ? { targets } : {}) });
      return ok(analysisData(a, { lora_id: lora.id }), analysisReasoning(a, lora.name, lora.id));
    }
    const dir = await s.paths.resolve(input.dir as string, { mustExist: true });
    if (!(await stat(dir)).isDirectory()) {
      throw new LoraloopError('INVALID_INPUT', `${input.dir} is not a folder.`, { hint: 'Give the folder that holds the images.' });
    }
    const a = await analyzeFolder(s, dir, {
      signal: ctx.signal,
      onProgress: progress,
      ...(input.targets ? { targets: toTargets(input.targets) as Record<string, TargetRange> } : {}),
      ...(input.base_model ? { baseModel: input.base_model } : {}),
      ...(input.asset_type ? { assetType: input.asset_type } : {}),
    });
    return ok(analysisData(a, { dir }), analysisReasoning(a, dir));
  },
});
