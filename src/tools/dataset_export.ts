import { createHash } from 'node:crypto';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ok } from '../core/result.js';
import { LoraloopError } from '../core/errors.js';
import { buildReplicateZip, writeKohyaBundle } from '../dataset/export.js';
import { defaultOutDir } from '../dataset/out.js';
import { loraIdSchema } from '../lora/view.js';
import { defineTool } from './types.js';

export const datasetExportTool = defineTool({
  name: 'dataset_export',
  title: 'Export a training bundle',
  description:
    "Write a LoRA project's images and captions as a ready training bundle: a .zip for Replicate trainers (name.jpg + name.txt) or a kohya sd-scripts folder with one subfolder per category and dataset_config.toml. The trigger word is first in every caption; the same input gives the same bytes. Works with no backend configured.",
  input: z.object({
    lora_id: loraIdSchema,
    target: z.enum(['replicate', 'kohya']).describe('replicate: a .zip; kohya: a folder with dataset_config.toml.'),
    out: z
      .string()
      .min(1)
      .max(4096)
      .optional()
      .describe('Where to write (under LORALOOP_ALLOWED_ROOTS): the .zip file path for replicate (a folder gets <name>-replicate.zip), a new or empty folder for kohya. Omit it to keep the bundle in the store (remote clients get it as a link).'),
    repeats: z
      .record(z.string(), z.number().int().min(1).max(100))
      .optional()
      .describe('kohya only: num_repeats per subset (folder or category name); default balances small subsets against large ones.'),
  }),
  output: z.object({
    target: z.enum(['replicate', 'kohya']).describe('Bundle kind.'),
    path: z.string().describe('The .zip file (replicate) or the bundle folder (kohya).'),
    images: z.number().int().describe('Images in the bundle.'),
    pending_captions: z.number().int().describe('Images exported with a minimal caption (trigger word + tags) because they have none yet.'),
    bytes: z.number().int().optional().describe('replicate: zip size in bytes.'),
    sha256: z.string().optional().describe('replicate: sha256 of the zip (equal for equal input).'),
    config_path: z.string().optional().describe('kohya: the dataset_config.toml path.'),
    subsets: z
      .array(
        z.object({
          name: z.string().describe('Subset folder name.'),
          image_dir: z.string().describe('image_dir as written in the TOML.'),
          images: z.number().int().describe('Images in the subset.'),
          num_repeats: z.number().int().describe('num_repeats for the subset.'),
        }),
      )
      .optional()
      .describe('kohya: one entry per subset.'),
    warnings: z.array(z.string()).describe('Things to know before training (pending captions, too few images).'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  longRunning: true,
  async handler(ctx, input) {
    const s = ctx.services;
    const lora = await s.store.loras.find(input.lora_id);
    if (!lora) throw new LoraloopError('NOT_FOUND', `No LoRA project "${input.lora_id}".`, { hint: 'Call lora_list for the ids.' });
    const pendingOf = async (): Promise<number> => (lora ? (await s.store.loras.listImages(lora.id)).filter((i) => i.caption_status !== 'ok' || !i.caption).length : 0);
    if (input.target === 'replicate') {
      let out = input.out ? await s.paths.resolve(input.out, { forWrite: true }) : await defaultOutDir(s.config.home, lora.id, 'replicate', s.now());
      const isDir = await stat(out).then((st) => st.isDirectory(), () => false);
      if (isDir || !input.out || input.out.endsWith('/')) out = path.join(out, `${(lora?.name ?? 'lora').replace(/[^A-Za-z0-9._-]+/g, '-')}-replicate.zip`);
      const { zip, images, warnings } = await buildReplicateZip(s, input.lora_id);
      await mkdir(path.dirname(out), { recursive: true });
      const tmp = `${out}.${process.pid}.part`;
      await writeFile(tmp, zip);
      await rename(tmp, out);
      const sha256 = createHash('sha256').update(zip).digest('hex');
      const pending = await pendingOf();
      return ok(
        { target: 'replicate' as const, path: out, images, pending_captions: pending, bytes: zip.length, sha256, warnings },
        `Wrote ${out}: ${images} images with a .txt caption each, trigger word "${lora?.trigger_word}" first in every caption (${(zip.length / 1048576).toFixed(1)} MB, sha256 ${sha256.slice(0, 12)}).${warnings.length ? ` ${warnings.join(' ')}` : ''} Next: upload it as input_images to a Replicate trainer with autocaption off, or let lora_train do it.`,
        [{ kind: 'file', path: out, mime_type: 'application/zip', title: 'Replicate training bundle' }],
        'Upload the zip as input_images to a Replicate trainer with autocaption off, or let lora_train do it.',
      );
    }
    const dir = input.out ? await s.paths.resolve(input.out, { forWrite: true }) : await defaultOutDir(s.config.home, lora.id, 'kohya', s.now());
    const b = await writeKohyaBundle(s, input.lora_id, dir, input.repeats ? { repeats: input.repeats } : {});
    const pending = await pendingOf();
    const subsets = b.subsets.map((x) => `${x.name} (${x.images} image${x.images === 1 ? '' : 's'} x ${x.num_repeats})`).join(', ');
    return ok(
      { target: 'kohya' as const, path: b.dir, images: b.images, pending_captions: pending, config_path: b.config_path, subsets: b.subsets, warnings: b.warnings },
      `Wrote a kohya bundle in ${b.dir}: ${b.images} image${b.images === 1 ? '' : 's'} in ${b.subsets.length} subset${b.subsets.length === 1 ? '' : 's'} (${subsets}) and ${b.config_path} (.txt captions, trigger word first, keep_tokens = 1).${b.warnings.length ? ` ${b.warnings.join(' ')}` : ''} Next: run sd-scripts with --dataset_config=${b.config_path}, or set LORALOOP_KOHYA_CMD and use lora_train.`,
      [{ kind: 'file', path: b.config_path, mime_type: 'application/toml', title: 'kohya dataset_config.toml' }],
      `Run sd-scripts with --dataset_config=${b.config_path}, or set LORALOOP_KOHYA_CMD and use lora_train.`,
    );
  },
});
