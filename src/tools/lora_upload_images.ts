import { z } from 'zod';
import { LoraloopError } from '../core/errors.js';
import { ok } from '../core/result.js';
import { intakeImages, type IntakeResult } from '../dataset/intake.js';
import { loraIdSchema } from '../lora/view.js';
import { defineTool } from './types.js';

/** Inline images stay small: the whole request also has to fit the MCP body limit. */
const MAX_INLINE_BASE64 = 2_800_000;

const imageSchema = z.object({
  path: z.string().min(1).max(4096).optional().describe('Local image file, under LORALOOP_ALLOWED_ROOTS (relative paths start at the first root).'),
  url: z.string().min(1).max(4096).optional().describe('https URL of the image (public addresses only unless LORALOOP_ALLOW_PRIVATE_URLS=1).'),
  data_base64: z
    .string()
    .max(MAX_INLINE_BASE64)
    .regex(/^[A-Za-z0-9+/=\s_-]*$/, 'must be base64')
    .optional()
    .describe('A small image sent inline, base64 (at most about 2 MB): for remote clients. Larger files go through lora_upload_urls.'),
  file_name: z.string().max(255).optional().describe('File name for data_base64 (shown in results; coin names in it help captions).'),
  caption: z
    .string()
    .max(2000)
    .optional()
    .describe('Training caption, 10-500 characters. Leave it out to mark the image pending and caption it later with caption_write.'),
  tags: z.array(z.string().max(100)).max(50).optional().describe('Short tags (e.g. "closeup", "dark background"); used as a minimal caption while the image is pending.'),
  categories: z.array(z.string().max(100)).max(10).optional().describe('Dataset categories (e.g. "closeup"); the first one is the kohya subset folder.'),
});

const resultSchema = z.object({
  ok: z.boolean().describe('True when the image was added.'),
  source: z.string().describe('The path or URL as given.'),
  image_id: z.string().optional().describe('Id of the added image.'),
  error: z.string().optional().describe('Why this image was refused, and what to do.'),
  error_code: z.string().optional().describe('Stable error code (UNSUPPORTED_IMAGE, IMAGE_TOO_LARGE, DUPLICATE_IMAGE, PATH_NOT_ALLOWED, URL_NOT_ALLOWED, INVALID_INPUT, ...).'),
  duplicate_of: z.string().optional().describe('For a duplicate: the image already in the project with the same pixels.'),
  warnings: z.array(z.string()).optional().describe('What the decoder changed (animated -> first frame, CMYK/16-bit -> 8-bit sRGB, transparency flattened, EXIF rotation).'),
  caption_status: z.enum(['ok', 'pending']).optional().describe('ok: captioned; pending: to be captioned later.'),
  width: z.number().int().optional().describe('Stored width in pixels (upright).'),
  height: z.number().int().optional().describe('Stored height in pixels (upright).'),
});

const baseName = (source: string): string => source.split(/[\\/]/).pop() || source;

function short(r: IntakeResult): string {
  const why = r.error_code === 'DUPLICATE_IMAGE' ? `duplicate of ${r.duplicate_of}` : (r.message ?? r.error ?? 'failed').replace(/\.$/, '');
  return `${baseName(r.source)} (${why})`;
}

/** Conversion warnings counted by kind, e.g. "9 EXIF-rotated, 2 animated (first frame kept)". */
function conversions(results: IntakeResult[]): string {
  const kinds: Array<[RegExp, string]> = [
    [/EXIF/, 'EXIF-rotated'],
    [/animated/, 'animated (first frame kept)'],
    [/CMYK/, 'CMYK to sRGB'],
    [/16-bit/, '16-bit to 8-bit'],
    [/transparent/, 'transparency flattened onto white'],
  ];
  const counts = kinds.map(([re, label]) => [results.filter((r) => r.warnings?.some((w) => re.test(w))).length, label] as const);
  return counts
    .filter(([n]) => n > 0)
    .map(([n, label]) => `${n} ${label}`)
    .join(', ');
}

export const loraUploadImagesTool = defineTool({
  name: 'lora_upload_images',
  title: 'Add training images to a LoRA project',
  description:
    'Add training images (local paths, URLs, or small images inline as base64) to a LoRA project; remote clients with larger files use lora_upload_urls. Each image is checked on its own: decoded safely (pixel limit, EXIF orientation, CMYK/16-bit to 8-bit sRGB, animated to first frame), refused if its pixels duplicate an image already in the project, and stored. One broken file never fails the batch. Captions are 10-500 characters or left out (pending).',
  input: z.object({
    lora_id: loraIdSchema,
    images: z.array(imageSchema).min(1).max(500).describe('Images to add, each with exactly one of path, url or data_base64.'),
  }),
  output: z.object({
    lora_id: z.string().describe('Project id.'),
    results: z.array(resultSchema).describe('One entry per image, in input order.'),
    added: z.number().int().describe('Images added now.'),
    failed: z.number().int().describe('Images refused now.'),
    pending_captions: z.number().int().describe('Images in the project still waiting for a caption.'),
    total_images: z.number().int().describe('Training images in the project after this call.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(ctx, input) {
    const s = ctx.services;
    const lora = await s.store.loras.find(input.lora_id);
    if (!lora) {
      throw new LoraloopError('NOT_FOUND', `No LoRA project "${input.lora_id}".`, { hint: 'Create it with lora_create, or call lora_list for the ids.' });
    }
    const total = input.images.length;
    ctx.progress({ progress: 0, total, message: `Adding ${total} images to ${lora.name}` });
    const items = input.images.map(({ data_base64, ...rest }) => (data_base64 ? { ...rest, data: Buffer.from(data_base64, 'base64') } : rest));
    const results = await intakeImages(s, lora, items, {
      signal: ctx.signal,
      onProgress: (done, all, r) =>
        ctx.progress({ progress: done, total: all, message: `${done}/${all} ${r.ok ? 'added' : 'refused'}: ${baseName(r.source)}` }),
    });
    const added = results.filter((r) => r.ok);
    const failed = results.filter((r) => !r.ok);
    const images = await s.store.loras.listImages(lora.id);
    const pending = images.filter((i) => i.caption_status !== 'ok').length;
    const pendingNow = added.filter((r) => r.caption_status === 'pending').length;
    const warned = added.filter((r) => r.warnings?.length);

    const parts: string[] = [`Added ${added.length} of ${total} images to ${lora.name}.`];
    if (failed.length) parts.push(`${failed.length} refused: ${failed.map(short).join('; ')}.`);
    if (warned.length) parts.push(`Converted on the way in: ${conversions(warned)} (details in each result's warnings).`);
    if (pendingNow) parts.push(`${pendingNow} added without a caption, to be captioned later.`);
    parts.push(`The project now has ${images.length} image${images.length === 1 ? '' : 's'}${pending ? `, ${pending} waiting for a caption` : ''}.`);
    if (images.length < 40) parts.push(`Add ${40 - images.length} or more for the recommended 40-60.`);
    parts.push(
      pending
        ? `Next: caption the pending ones with caption_write, then train with lora_train.`
        : images.length >= 10
          ? 'Next: train with lora_train (or dataset_export for a bundle).'
          : 'Next: add more images, then train with lora_train.',
    );
    return ok(
      { lora_id: lora.id, results, added: added.length, failed: failed.length, pending_captions: pending, total_images: images.length },
      parts.join(' '),
    );
  },
});
