import { z } from 'zod';
import { LoraloopError } from '../core/errors.js';
import { ok } from '../core/result.js';
import { critiqueCover, critiqueReasoning } from '../critique/index.js';
import { visionFindingsSchema } from '../critique/vision.js';
import { boxSchema } from './schemas.js';
import { defineTool } from './types.js';

export const expectSchema = z
  .object({
    coin: z.string().min(1).max(20).optional().describe('Ticker whose logo must be on the cover, e.g. SOL (default: the cover\'s primary coin).'),
    title: z.string().max(2000).optional().describe('The headline the cover should show (for the vision critic).'),
    style: z.string().max(500).optional().describe('A style brief in words, e.g. "dark, neon, minimal" (for the vision critic).'),
  })
  .describe('What the cover should be.');

export const checkSchema = z.object({
  name: z.string().describe('logo, palette_novelty, title_contrast, sharpness, near_duplicate or text_fits.'),
  passed: z.boolean().describe('Whether the check passed.'),
  value: z.number().nullable().describe('The measured figure (match score, OKLab distance, WCAG ratio, Laplacian variance, hash distance, problems), or null.'),
  detail: z.string().describe('What was measured and what to do about a failure.'),
});

export const visionSchema = z
  .object({
    status: z.enum(['ok', 'skipped', 'failed']).describe('ok: findings below; skipped: no model configured or turned off; failed: the model call failed.'),
    model: z.string().nullable().describe('The vision model that answered.'),
    findings: visionFindingsSchema.nullable().describe('Structured findings of the vision model.'),
    note: z.string().nullable().describe('Why there are no findings.'),
  })
  .describe('The vision critic\'s verdict.');

export const critiqueOutput = z.object({
  critique_id: z.string().describe('Id of the stored critique.'),
  cover_id: z.string().nullable().describe('The cover critiqued, or null for a file.'),
  path: z.string().describe('The image file critiqued.'),
  expected_coin: z.string().nullable().describe('The coin whose logo was expected.'),
  score: z.number().describe('Combined score 0..1 (metric and vision); covers under ~0.8 are worth regenerating.'),
  metric_score: z.number().describe('Score of the metric checks alone, 0..1.'),
  checks: z.array(checkSchema).describe('Every metric check.'),
  vision: visionSchema,
  disagreements: z.array(z.string()).describe('Where the metric and vision critics disagree, and which verdict counts.'),
  logos: z
    .array(z.object({ symbol: z.string().describe('Ticker.'), score: z.number().describe('Match 0..1.'), box: boxSchema }))
    .describe('Best logo matches, best first.'),
});

export const coverCritiqueTool = defineTool({
  name: 'cover_critique',
  title: 'Critique a cover',
  description:
    'Check a cover (by cover_id) or any image (by path): the right coin logo and no other coin\'s, palette novelty against recent covers, title contrast, sharpness, near-duplicates and a title that fits; plus a vision model\'s findings when one is configured. Returns a 0-1 score and every check.',
  input: z.object({
    cover_id: z.string().optional().describe('A cover id from cover_generate or cover_make.'),
    path: z.string().optional().describe('Or an image file under LORALOOP_ALLOWED_ROOTS.'),
    expect: expectSchema.optional(),
    vision: z.enum(['auto', 'off', 'required']).default('auto').describe('auto: use the vision model when OPENAI_API_KEY is set; off: metric critic only; required: fail without a model.'),
  }),
  output: critiqueOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  longRunning: true,
  async handler(ctx, input) {
    const target = input.cover_id ?? input.path;
    if (!target || (input.cover_id && input.path)) {
      throw new LoraloopError('INVALID_INPUT', 'Give exactly one of cover_id or path.', { hint: 'Pass {"cover_id": "cov_..."} for a stored cover or {"path": "..."} for an image file.' });
    }
    ctx.progress({ progress: 0, total: 1, message: 'critiquing' });
    const r = await critiqueCover(ctx.services, target, input.expect ?? {}, { vision: input.vision, signal: ctx.signal });
    ctx.progress({ progress: 1, total: 1, message: 'done' });
    return ok(
      {
        critique_id: r.critique_id,
        cover_id: r.cover_id,
        path: r.path,
        expected_coin: r.expected_coin,
        score: r.score,
        metric_score: r.metric_score,
        checks: r.checks,
        vision: {
          status: r.vision.status,
          model: r.vision.status === 'ok' ? r.vision.model : null,
          findings: r.vision.status === 'ok' ? r.vision.findings : null,
          note: r.vision.status === 'skipped' ? r.vision.reason : r.vision.status === 'failed' ? r.vision.error : null,
        },
        disagreements: r.disagreements,
        logos: r.logos.map((l) => ({ symbol: l.symbol, score: Math.round(l.score * 1000) / 1000, box: l.box })),
      },
      critiqueReasoning(r),
    );
  },
});
