import { z } from 'zod';
import { LoraloopError } from '../core/errors.js';
import { ok } from '../core/result.js';
import { lintCaptions, type LintKind } from '../dataset/captions/lint.js';
import { STYLE_GUIDE_TYPES, styleGuideFor } from '../dataset/captions/style.js';
import { buildVocabulary } from '../dataset/captions/vocabulary.js';
import { loraIdSchema } from '../lora/view.js';
import { defineTool } from './types.js';

const KIND_WORDS: Record<LintKind, string> = {
  missing: 'missing',
  length: 'outside 10-500 characters',
  trigger_missing: 'without the trigger word',
  trigger_not_first: 'with the trigger word not first',
  synonym: 'synonym uses',
  banned: 'banned phrases',
  near_identical: 'near-identical',
};

export const captionLintTool = defineTool({
  name: 'caption_lint',
  title: 'Check training captions',
  description:
    "Check a LoRA project's captions before training: missing captions, length 10-500 characters, trigger word present and first, one word per concept (synonyms of the vocabulary flagged), phrases the asset type's style guide bans (e.g. a bare \"icon\" in an icon set, \"image of\"), and near-identical captions. Read-only.",
  input: z.object({
    lora_id: loraIdSchema,
    style: z.string().max(60).optional().describe('Check against this asset type\'s style guide instead of the project\'s own.'),
    similarity: z.number().min(0.5).max(1).optional().describe('Word-set similarity from which two captions are near-identical (default 0.9).'),
  }),
  output: z.object({
    lora_id: z.string().describe('Project id.'),
    captions: z.number().int().describe('Images checked.'),
    clean: z.number().int().describe('Images with no finding.'),
    counts: z.record(z.string(), z.number().int()).describe('Findings per kind.'),
    findings: z
      .array(
        z.object({
          image_id: z.string().describe('Image id.'),
          file_name: z.string().describe('Original file name.'),
          kind: z.enum(['missing', 'length', 'trigger_missing', 'trigger_not_first', 'synonym', 'banned', 'near_identical']).describe('What is wrong.'),
          detail: z.string().describe('The finding and what to do.'),
          related: z.array(z.string()).optional().describe('near_identical: the other images with (nearly) the same caption.'),
        }),
      )
      .describe('Every finding, image by image.'),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(ctx, input) {
    const loras = ctx.services.store.loras;
    const lora = await loras.find(input.lora_id);
    if (!lora) throw new LoraloopError('NOT_FOUND', `No LoRA project "${input.lora_id}".`, { hint: 'Call lora_list to see the projects and their ids.' });
    const style = input.style?.trim().toLowerCase();
    if (style !== undefined && !STYLE_GUIDE_TYPES.includes(style)) {
      throw new LoraloopError('INVALID_INPUT', `There is no style guide "${input.style}".`, { hint: `Use one of: ${STYLE_GUIDE_TYPES.join(', ')}.` });
    }
    const images = await loras.listImages(lora.id);
    const names = new Map(images.map((i) => [i.id, i.file_name]));
    const report = lintCaptions(
      images.map((i) => ({ id: i.id, file_name: i.file_name, caption: i.caption_status === 'ok' ? i.caption : null })),
      {
        triggerWord: lora.trigger_word,
        vocab: buildVocabulary(lora.vocabulary),
        guide: styleGuideFor(style ?? lora.asset_type),
        ...(input.similarity !== undefined ? { similarity: input.similarity } : {}),
      },
    );
    const findings = report.findings.map((f) => ({ ...f, file_name: names.get(f.image_id) ?? '' }));
    const summary = Object.entries(report.counts)
      .map(([k, n]) => `${n} ${KIND_WORDS[k as LintKind]}`)
      .join(', ');
    let reasoning: string;
    if (images.length === 0) reasoning = `${lora.name} has no images yet. Add some with lora_upload_images.`;
    else if (report.findings.length === 0) reasoning = `All ${images.length} captions of ${lora.name} pass: trigger word first, 10-500 characters, one word per concept, nothing banned, no near-identical pairs. Next: dataset_analyze.`;
    else {
      const fix: string[] = [];
      if (report.counts.missing) fix.push('caption_write for the missing ones');
      if (report.counts.synonym || report.counts.trigger_not_first || report.counts.trigger_missing || report.counts.banned) {
        fix.push('caption_write with overwrite: true (or the image_ids) rewrites them with the vocabulary and the trigger word first');
      }
      if (report.counts.near_identical) fix.push('say what differs between near-identical images (framing, pose, background)');
      reasoning = `${report.clean} of ${images.length} captions of ${lora.name} are clean; findings: ${summary}. Fix: ${fix.join('; ')}.`;
    }
    return ok({ lora_id: lora.id, captions: report.captions, clean: report.clean, counts: report.counts as Record<string, number>, findings }, reasoning);
  },
});
