import { z } from 'zod';
import { LoraloopError } from '../core/errors.js';
import { ok } from '../core/result.js';
import { loraIdSchema } from '../lora/view.js';
import { createUploadUrls, MAX_UPLOAD_BYTES } from '../dataset/uploads.js';
import { defineTool } from './types.js';

export const loraUploadUrlsTool = defineTool({
  name: 'lora_upload_urls',
  title: 'Upload URLs for training images',
  description:
    'Single-use upload URLs for adding training images to a LoRA project from a remote client: PUT one image file to each URL (no token needed; the URL is the permission, for a limited time). The bytes are checked like every other image (type sniffed from the bytes, safe decode, duplicates refused). Only over the HTTP face; local clients give paths to lora_upload_images.',
  input: z.object({
    lora_id: loraIdSchema,
    count: z.number().int().min(1).max(100).default(10).describe('How many upload URLs (one image each).'),
  }),
  output: z.object({
    lora_id: z.string().describe('Project id.'),
    uploads: z
      .array(
        z.object({
          upload_id: z.string().describe('Id of this upload.'),
          url: z.string().describe('PUT the image file here (any Content-Type; the bytes decide).'),
          expires_at: z.string().describe('ISO time after which the URL is refused.'),
          max_bytes: z.number().int().describe('Largest file it takes.'),
        }),
      )
      .describe('One URL per image.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(ctx, input) {
    if (!ctx.links) {
      throw new LoraloopError('NOT_CONFIGURED', 'Upload URLs exist only on the HTTP face (loraloop mcp --http).', { hint: 'Here, give local files to lora_upload_images as paths, or small images inline as data_base64.' });
    }
    const lora = await ctx.services.store.loras.find(input.lora_id);
    if (!lora) throw new LoraloopError('NOT_FOUND', `No LoRA project "${input.lora_id}".`, { hint: 'Create it with lora_create, or call lora_list for the ids.' });
    const uploads = await createUploadUrls(ctx.services, ctx.links, lora.id, input.count);
    const next = `PUT each image file to one URL (e.g. curl -T photo.jpg "<url>"), then call lora_list or dataset_analyze {"lora_id": "${lora.id}"} to see them.`;
    return ok(
      { lora_id: lora.id, uploads },
      `${uploads.length} upload URL${uploads.length === 1 ? '' : 's'} for ${lora.name}, each for one image of at most ${MAX_UPLOAD_BYTES / 1048576} MB, valid until ${uploads[0]?.expires_at}. ${next}`,
      undefined,
      next,
    );
  },
});
