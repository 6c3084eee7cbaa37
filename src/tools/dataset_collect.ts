import { z } from 'zod';
import { LoraloopError } from '../core/errors.js';
import { ok } from '../core/result.js';
import { collectFrom, summarizeCollect } from '../dataset/collect/collect.js';
import { feedSource, folderSource, MAX_ITEMS, SIDECAR_NAME } from '../dataset/collect/sources.js';
import { defineTool } from './types.js';

const resultSchema = z.object({
  image: z.string().describe('The image URL or file path ("" for an article without an image).'),
  title: z.string().describe('The article title (plain text).'),
  article_url: z.string().nullable().describe('The article link, when the feed gives one.'),
  coin: z.string().nullable().describe('Primary coin detected in the title.'),
  lora_id: z.string().nullable().describe('The project the image went (or would go) to.'),
  lora_name: z.string().nullable().describe('Its name.'),
  status: z
    .enum(['added', 'duplicate', 'seen', 'no_coin', 'no_project', 'no_image', 'failed', 'would_add'])
    .describe('added; duplicate (same pixels already in the project); seen (collected on an earlier call); no_coin; no_project (no project serves the coin); no_image; failed (download or decode, retried next time); would_add (dry run).'),
  image_id: z.string().nullable().describe('The new image id (added) or the image it duplicates.'),
  detail: z.string().nullable().describe('Why it was not added, in a sentence.'),
});

export const datasetCollectInput = z.object({
  feed_url: z.string().min(1).max(4096).optional().describe('An RSS 2.0, Atom or JSON Feed URL (https; private addresses only with LORALOOP_ALLOW_PRIVATE_URLS=1). Give this or dir.'),
  dir: z.string().min(1).max(4096).optional().describe(`A folder under LORALOOP_ALLOWED_ROOTS with article images and ${SIDECAR_NAME} mapping file names to titles ({"a.jpg": "Title"}). Give this or feed_url.`),
  lora_id: z.string().min(1).max(200).optional().describe('Put every image into this project (id or name) instead of routing each by the coin in its title.'),
  dry_run: z.boolean().optional().describe('Say what would be collected without downloading images or changing anything (default false).'),
});

export const datasetCollectOutput = z.object({
  source: z.string().describe('The feed URL or the resolved folder.'),
  format: z.enum(['rss', 'atom', 'json', 'folder']).describe('What the source was.'),
  dry_run: z.boolean().describe('True when nothing was changed.'),
  added: z.number().int().describe('Images added to projects now.'),
  results: z.array(resultSchema).describe('One entry per article.'),
  projects: z.array(z.object({ lora_id: z.string().describe('Project id.'), name: z.string().describe('Project name.'), added: z.number().int().describe('Images added to it.') })).describe('Projects that received images.'),
  coins_without_project: z.array(z.string()).describe('Coins seen in titles that no project serves.'),
  truncated: z.number().int().describe(`Articles beyond ${MAX_ITEMS} left for a later call.`),
  captioner: z.enum(['title', 'vision']).describe('title: captions are the trigger word plus the article title; vision: caption_write with the vision model.'),
  warnings: z.array(z.string()).describe('Things that went wrong without stopping the collection.'),
});

export const datasetCollectTool = defineTool({
  name: 'dataset_collect',
  title: 'Collect article images into datasets',
  description:
    `Pull article images and their titles from an RSS, Atom or JSON Feed (enclosures, media:content, media:thumbnail, JSON Feed image/banner_image) or a folder with ${SIDECAR_NAME}, and add each image to the LoRA project of the coin its title is about (or the project given), through the same safe intake as uploads (SSRF guard, size cap, timeout, decode checks), captioned (trigger word + title, or the vision model through caption_write when configured). Never takes the same image twice (same URL, or same pixels in the project). Articles that cannot be placed are reported.`,
  input: datasetCollectInput,
  output: datasetCollectOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  longRunning: true,
  async handler(ctx, input) {
    const s = ctx.services;
    if ((input.feed_url ? 1 : 0) + (input.dir ? 1 : 0) !== 1) {
      throw new LoraloopError('INVALID_INPUT', 'Give exactly one of feed_url and dir.', {
        hint: `feed_url reads an RSS/Atom/JSON Feed; dir reads a folder with ${SIDECAR_NAME}.`,
      });
    }
    let lora;
    if (input.lora_id) {
      lora = await s.store.loras.find(input.lora_id);
      if (!lora) throw new LoraloopError('NOT_FOUND', `No LoRA project "${input.lora_id}".`, { hint: 'Call lora_list to see the projects, or leave lora_id out to route by coin.' });
    }
    ctx.progress({ progress: 0, message: input.feed_url ? 'reading the feed' : 'reading the folder' });
    const src = input.feed_url ? await feedSource(s, input.feed_url, { signal: ctx.signal }) : await folderSource(s, input.dir as string);
    const r = await collectFrom(s, src, { lora, dryRun: input.dry_run ?? false, signal: ctx.signal, progress: ctx.progress });
    const added = r.results.filter((x) => x.status === 'added').length;
    const next = r.dry_run
      ? 'Run it again without dry_run to collect.'
      : added
        ? 'Next: dataset_analyze on the projects that grew, or let the nightly improve_run retrain them.'
        : 'Nothing new to add.';
    return ok({ ...r, added }, `${summarizeCollect(r)}${r.truncated ? ` ${r.truncated} more articles are left for the next call.` : ''}${r.warnings.length ? ` ${r.warnings.join(' ')}` : ''} ${next}`);
  },
});
