import { z } from 'zod';
import { ok } from '../../core/result.js';
import { improveRun } from '../improve/run.js';
import { describeLora, type RunSummary } from '../improve/summary.js';
import { defineTool } from '../../tools/types.js';

const gapSchema = z.object({
  category: z.string().describe('Category outside its target range.'),
  direction: z.string().describe('under or over.'),
  severity: z.string().describe('high, medium or low.'),
  advice: z.string().describe('What to add or remove.'),
});

const verdictSchema = z.object({
  promote: z.boolean().describe('True when the candidate beat the current version by the margin.'),
  evaluated: z.boolean().describe('False when the comparison proves nothing (the generator could not draw with the candidate); the candidate then stays a candidate.'),
  current: z.number().describe('Mean evaluation score of the current version (0..1).'),
  candidate: z.number().describe('Mean evaluation score of the candidate (0..1).'),
  delta: z.number().describe('candidate - current.'),
  margin: z.number().describe('The margin the candidate had to beat.'),
  reason: z.string().describe('The decision in a sentence.'),
});

const loraSummarySchema = z.object({
  lora_id: z.string().describe('Project id.'),
  name: z.string().describe('Project name.'),
  outcome: z
    .enum(['promoted', 'kept', 'unchanged', 'skipped', 'failed', 'no_backend', 'planned'])
    .describe('promoted (candidate now active), kept (candidate not better, rejected), unchanged (under the retraining threshold), skipped (no active version), failed (training failed), no_backend, planned (dry run: would retrain).'),
  reason: z.string().describe('Why, in a sentence.'),
  new_images: z.number().int().describe('Images added to the project since the last run.'),
  new_ratings: z.number().int().describe('Ratings of its covers since the last run.'),
  positives_added: z.number().int().describe('Well-rated covers added to its training set (dry run: would add).'),
  negatives_excluded: z.number().int().describe('Badly rated covers excluded from its training set (dry run: would exclude).'),
  gaps: z.array(gapSchema).describe('Gaps dataset_analyze found.'),
  change: z
    .object({
      baseline: z.number().int().describe('Images the current version was trained on.'),
      current: z.number().int().describe('Images the next training would use.'),
      added: z.number().int().describe('Added since.'),
      removed: z.number().int().describe('Removed or excluded since.'),
      changed: z.number().int().describe('added + removed.'),
      threshold: z.number().int().describe('Changes needed to retrain: max(5, 10% of the baseline).'),
      enough: z.boolean().describe('changed >= threshold.'),
      baseline_from: z.string().describe('Where the baseline came from.'),
    })
    .nullable()
    .describe('How much the training set moved.'),
  backend: z.string().nullable().describe('Training backend used or planned.'),
  job_id: z.string().nullable().describe('The training job.'),
  current_version: z.number().int().nullable().describe('Active version before the run.'),
  candidate_version: z.number().int().nullable().describe('Version the run trained.'),
  verdict: verdictSchema.nullable().describe('The evaluation verdict.'),
  samples: z
    .array(
      z.object({
        prompt: z.string().describe('category#index of the suite.'),
        role: z.enum(['current', 'candidate']).describe('Which version made it.'),
        score: z.number().describe('Evaluation score 0..1.'),
        critic_score: z.number().describe("The critic's own score."),
        cover_id: z.string().nullable().describe('The cover made.'),
        path: z.string().nullable().describe('The image judged.'),
        applied: z.boolean().describe('Whether the generator used the requested version.'),
        failed_checks: z.array(z.string()).describe('Critic checks that failed.'),
      }),
    )
    .describe('Every evaluated cover.'),
});

export const runSummarySchema = z.object({
  run_id: z.string().nullable().describe('The run id (null for a dry run).'),
  dry_run: z.boolean().describe('True when nothing was changed.'),
  resumed: z.boolean().describe('True when this call continued a run an earlier process left unfinished.'),
  since: z.string().describe('What counted as new is newer than this (the previous run).'),
  feeds: z
    .array(
      z.object({
        source: z.string().describe('Feed URL or folder (LORALOOP_FEEDS).'),
        added: z.number().int().describe('Images collected.'),
        would_add: z.number().int().describe('Dry run: images it would collect.'),
        error: z.string().nullable().describe('Why the feed failed.'),
      }),
    )
    .describe('The configured feeds and what they brought.'),
  new_ratings: z.number().int().describe('Ratings since the last run.'),
  new_images: z.number().int().describe('Images added to projects since the last run.'),
  loras: z.array(loraSummarySchema).describe('One entry per LoRA project.'),
  report_path: z.string().nullable().describe('The HTML report (before/after side by side, scores, decisions).'),
});

export function runReasoning(r: RunSummary): string {
  const head = r.dry_run
    ? `Dry run (nothing changed): since ${r.since}, ${r.new_images} new images and ${r.new_ratings} ratings${r.feeds.length ? `; the feeds would bring ${r.feeds.reduce((a, f) => a + f.would_add, 0)} images` : ''}.`
    : `${r.resumed ? `Resumed and finished run ${r.run_id}` : `Run ${r.run_id} finished`}: since ${r.since}, ${r.new_images} new images and ${r.new_ratings} ratings${r.feeds.length ? `; feeds brought ${r.feeds.reduce((a, f) => a + f.added, 0)} images` : ''}.`;
  const lines = r.loras.map(describeLora);
  const tail = r.report_path ? `Report: ${r.report_path}.` : r.dry_run ? 'Run improve_run without dry_run to do it.' : '';
  return [head, ...lines, tail].filter(Boolean).join(' ');
}

export const improveRunTool = defineTool({
  name: 'improve_run',
  title: 'Nightly improvement run',
  description:
    'Gather what is new since the last run (ratings, images from LORALOOP_FEEDS, images added to projects), put well-rated covers into each LoRA\'s training set and keep badly rated ones out, name the gaps, retrain the LoRAs whose set changed enough (max(5, 10%) images) on the configured backend, evaluate each candidate against the current version on a fixed suite (10 headlines per category, fixed seeds) with the critic, promote it only when it scores better by a margin (the old version stays for rollback), and write an HTML report. One run at a time (a lease); a run stopped midway is continued by the next call; dry_run says what it would do and changes nothing.',
  input: z.object({
    dry_run: z.boolean().optional().describe('Say what the run would do without changing anything (default false).'),
    loras: z.array(z.string().min(1).max(200)).max(100).optional().describe('Only these LoRA projects (ids or names); default every project.'),
  }),
  output: runSummarySchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  longRunning: true,
  worker: true,
  async handler(ctx, input) {
    const r = await improveRun(ctx, { dryRun: input.dry_run ?? false, ...(input.loras ? { loras: input.loras } : {}) }, ctx.services.improveOptions);
    return ok(r, runReasoning(r), r.report_path ? [{ kind: 'file', path: r.report_path, mime_type: 'text/html', title: 'Nightly report' }] : undefined);
  },
});
