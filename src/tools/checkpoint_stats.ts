import { z } from 'zod';
import { ok } from '../core/result.js';
import { selectionRate } from '../cover/checkpoints.js';
import { defineTool } from './types.js';

const statSchema = z.object({
  selected: z.number().int().describe('Drafts made with this checkpoint that were selected.'),
  total: z.number().int().describe('Drafts made with this checkpoint in reviewed batches.'),
  selection_rate: z.number().describe('selected / total (0 when total is 0).'),
});

/** `data` is exactly `{"<checkpoint>": {selected, total, selection_rate}}`: an object keyed by checkpoint file. */
export const checkpointStatsOutput = z.object({}).catchall(statSchema).describe('Selection statistics keyed by checkpoint file name.');

export const checkpointStatsTool = defineTool({
  name: 'checkpoint_stats',
  title: 'Checkpoint selection rates',
  description:
    'How often drafts made with each checkpoint were selected (drafts_select), over every reviewed batch: data is {"<checkpoint>": {"selected", "total", "selection_rate"}}. Batches favour checkpoints with better rates (Thompson sampling) while still exploring.',
  input: z.object({}),
  output: checkpointStatsOutput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(ctx) {
    const rows = await ctx.services.store.generation.stats('checkpoint');
    const data: Record<string, z.infer<typeof statSchema>> = {};
    for (const r of rows) {
      const cur = data[r.arm] ?? { selected: 0, total: 0, selection_rate: 0 };
      cur.selected += r.selected;
      cur.total += r.total;
      cur.selection_rate = selectionRate(cur);
      data[r.arm] = cur;
    }
    const ranked = Object.entries(data).sort((a, b) => b[1].selection_rate - a[1].selection_rate);
    const reasoning = ranked.length
      ? `${ranked.map(([k, v]) => `${k}: ${v.selected}/${v.total} selected (${(v.selection_rate * 100).toFixed(1)}%)`).join('; ')}. New batches give better checkpoints more drafts; record choices with drafts_select to keep learning.`
      : 'No reviewed batches yet. Run cover_batch, then record the drafts you chose with drafts_select.';
    return ok(data, reasoning);
  },
});
