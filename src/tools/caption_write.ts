import { z } from 'zod';
import { ok } from '../core/result.js';
import { writeCaptions } from '../dataset/captions/write.js';
import { loraIdSchema } from '../lora/view.js';
import { defineTool } from './types.js';

export const captionWriteTool = defineTool({
  name: 'caption_write',
  title: 'Write training captions',
  description:
    "Caption one image or a whole LoRA project for training. With a vision model (OPENAI_API_KEY, OPENAI_BASE_URL, LORALOOP_VISION_MODEL) captions follow the style guide of the project's asset type and the model also sorts each image into categories (close-up, full-body, ...); without one, a local captioner writes basic captions from what it can measure (colours, brightness, format, the user's tags, a coin named in the file name). Every caption starts with the trigger word and uses the project's vocabulary (one word per concept).",
  input: z.object({
    lora_id: loraIdSchema,
    image_ids: z
      .array(z.string().min(1).max(200))
      .max(1000)
      .optional()
      .describe('Images to caption (re-captioned even if they have a caption). Default: every image still pending.'),
    overwrite: z.boolean().optional().describe('Re-caption every image of the project, user captions included (default false).'),
    style: z
      .string()
      .max(500)
      .optional()
      .describe('An asset type whose style guide to use (icons, product, logo, premium, coin, character, style, cover), or extra style instructions for the vision model.'),
    vocabulary: z
      .record(z.string().min(1).max(60), z.string().min(1).max(60))
      .optional()
      .describe('Words to unify, {variant: preferred}, e.g. {"backdrop": "background"}; merged into the project vocabulary and saved.'),
    captioner: z.enum(['auto', 'vision', 'local']).optional().describe('auto (default): the vision model when configured, else local; vision: fail without a model; local: never call a model.'),
  }),
  output: z.object({
    lora_id: z.string().describe('Project id.'),
    captioner: z.enum(['vision', 'local']).describe('Which captioner wrote the captions.'),
    model: z.string().nullable().describe('Vision model used, or null for the local captioner.'),
    captioned: z.number().int().describe('Images captioned now.'),
    failed: z.number().int().describe('Images that could not be captioned.'),
    skipped: z.number().int().describe('Images left alone because they already had a caption.'),
    vocabulary_replacements: z.number().int().describe('Words rewritten to the preferred vocabulary.'),
    results: z
      .array(
        z.object({
          image_id: z.string().describe('Image id.'),
          file_name: z.string().describe('Original file name.'),
          ok: z.boolean().describe('True when captioned.'),
          caption: z.string().optional().describe('The stored caption (trigger word first).'),
          categories: z.array(z.string()).optional().describe('Categories the vision model gave (stored on the image).'),
          error: z.string().optional().describe('Why this image failed, and what to do.'),
        }),
      )
      .describe('One entry per image handled.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  longRunning: true,
  async handler(ctx, input) {
    const r = await writeCaptions(ctx.services, input.lora_id, {
      ...(input.image_ids ? { imageIds: input.image_ids } : {}),
      ...(input.overwrite !== undefined ? { overwrite: input.overwrite } : {}),
      ...(input.style !== undefined ? { style: input.style } : {}),
      ...(input.vocabulary ? { vocabulary: input.vocabulary } : {}),
      ...(input.captioner ? { captioner: input.captioner } : {}),
      signal: ctx.signal,
      onProgress: (done, total) => ctx.progress({ progress: done, total, message: `captioned ${done}/${total}` }),
    });
    const captioned = r.results.filter((x) => x.ok).length;
    const failed = r.results.length - captioned;
    const lines: string[] = [];
    if (r.results.length === 0) {
      lines.push(`Nothing to caption in ${r.lora.name}: all ${r.skipped} images already have captions. Pass image_ids or overwrite: true to re-caption.`);
    } else if (r.captioner === 'vision') {
      lines.push(`Captioned ${captioned} of ${r.results.length} images of ${r.lora.name} with ${r.model}, following the ${r.lora.asset_type} style guide; "${r.lora.trigger_word}" is first in every caption.`);
    } else {
      lines.push(
        `Captioned ${captioned} of ${r.results.length} images of ${r.lora.name} with the local captioner. These captions are basic: they state only measured facts (colours, brightness, format), your tags and coins named in file names, not what the image shows. Add tags when uploading, or set OPENAI_API_KEY (and LORALOOP_VISION_MODEL) and run caption_write again with overwrite: true for real descriptions.`,
      );
    }
    if (r.replaced) lines.push(`${r.replaced} word${r.replaced === 1 ? '' : 's'} rewritten to the project vocabulary.`);
    if (failed) lines.push(`${failed} failed: ${r.results.filter((x) => !x.ok).slice(0, 3).map((x) => `${x.file_name} (${x.error})`).join('; ')}.`);
    if (r.results.length) lines.push('Next: caption_lint to check them, then dataset_analyze for balance.');
    return ok(
      {
        lora_id: r.lora.id,
        captioner: r.captioner,
        model: r.model,
        captioned,
        failed,
        skipped: r.skipped,
        vocabulary_replacements: r.replaced,
        results: r.results,
      },
      lines.join(' '),
    );
  },
});
