import { z } from 'zod';
import { ok } from '../core/result.js';
import { issueSummary, requireLora } from '../dataset/analyze/index.js';
import { defaultOutDir } from '../dataset/out.js';
import { writeProjectReport } from '../dataset/report/index.js';
import { defineTool } from './types.js';

export const datasetReportTool = defineTool({
  name: 'dataset_report',
  title: 'Write a visual dataset report',
  description:
    "Analyse a LoRA project's training images and write a report people can look at: ONE self-contained HTML file (category distribution against the target ranges as a chart, gaps with advice, the issue list, duplicate groups side by side, every image as a thumbnail; no external files or scripts) plus a PNG contact sheet of the set.",
  input: z.object({
    lora_id: z.string().min(1).max(200).describe('LoRA project id (lora_...) or name.'),
    out: z
      .string()
      .min(1)
      .max(4096)
      .optional()
      .describe('Under LORALOOP_ALLOWED_ROOTS: a .html file path (the contact sheet goes beside it as <name>-contact-sheet.png), or a folder that receives report.html and contact-sheet.png. Omit it to keep the report in the store (remote clients get it as a link).'),
  }),
  output: z.object({
    lora_id: z.string().describe('Project id.'),
    html_path: z.string().describe('The HTML report (self-contained).'),
    contact_sheet_path: z.string().describe('The PNG contact sheet.'),
    html_bytes: z.number().int().describe('Size of the HTML file.'),
    images: z.number().int().describe('Images in the project.'),
    thumbnails: z.number().int().describe('Images shown as thumbnails.'),
    sheet_images: z.number().int().describe('Images on the contact sheet (images with issues framed in red).'),
    issues: z.number().int().describe('Issues listed.'),
    gaps: z.number().int().describe('Category gaps listed.'),
    duplicate_groups: z.number().int().describe('Duplicate groups shown.'),
    volume_level: z.enum(['too_few', 'minimum', 'good', 'great', 'excellent']).describe('Volume of usable images.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  longRunning: true,
  async handler(ctx, input) {
    const s = ctx.services;
    const lora = await requireLora(s, input.lora_id);
    const out = input.out ? await s.paths.resolve(input.out, { forWrite: true }) : await defaultOutDir(s.config.home, lora.id, 'report', s.now());
    const r = await writeProjectReport(s, lora, out, {
      signal: ctx.signal,
      onProgress: (done, label) => ctx.progress({ progress: done, message: `analysed ${done}: ${label}` }),
    });
    const a = r.analysis;
    const worst = a.gaps[0];
    const summary = issueSummary(a);
    return ok(
      {
        lora_id: lora.id,
        html_path: r.html_path,
        contact_sheet_path: r.contact_sheet_path,
        html_bytes: r.html_bytes,
        images: a.images,
        thumbnails: r.thumbnails,
        sheet_images: r.sheet_images,
        issues: a.issues.length,
        gaps: a.gaps.length,
        duplicate_groups: a.duplicates.length,
        volume_level: a.volume_level,
      },
      `Wrote ${r.html_path} (${(r.html_bytes / 1024).toFixed(0)} KB, opens offline in any browser) and the contact sheet ${r.contact_sheet_path} for ${lora.name}: ${a.analyzed} images, volume ${a.volume_level.replace('_', ' ')}${summary ? `; issues: ${summary}` : ''}${worst ? `; worst gap: ${worst.advice}` : '.'}${r.notes.length ? ` ${r.notes.join(' ')}` : ''} Next: fix what it lists, or dataset_rebalance for a plan.`,
      [
        { kind: 'file', path: r.html_path, mime_type: 'text/html', title: `Dataset report: ${lora.name}` },
        ...(r.contact_sheet_path ? [{ kind: 'image' as const, path: r.contact_sheet_path, mime_type: 'image/png', title: `Contact sheet: ${lora.name}` }] : []),
      ],
      'Fix what the report lists, or call dataset_rebalance for a plan.',
    );
  },
});
