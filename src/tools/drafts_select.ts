import { z } from 'zod';
import { LoraloopError } from '../core/errors.js';
import { ok } from '../core/result.js';
import { selectionRate } from '../cover/checkpoints.js';
import { defineTool } from './types.js';

const statSchema = z.object({
  selected: z.number().int().describe('Selected drafts.'),
  total: z.number().int().describe('Drafts in reviewed batches.'),
  selection_rate: z.number().describe('selected / total.'),
});

export const draftsSelectOutput = z.object({
  batch_id: z.string().describe('The batch.'),
  selected: z.array(z.string()).describe('Draft ids recorded as selected.'),
  covers: z.array(z.string()).describe('Cover ids of the selected drafts.'),
  replaced: z.boolean().describe('True when an earlier choice for this batch was replaced (its counts were taken back).'),
  checkpoints: z.record(z.string(), statSchema).describe('Updated selection stats of the batch\'s checkpoints.'),
  lora_combos: z.record(z.string(), statSchema).describe('Updated stats of the batch\'s LoRA combinations for its coin or style ("" = no LoRA).'),
});

export const draftsSelectTool = defineTool({
  name: 'drafts_select',
  title: 'Record the chosen drafts',
  description:
    'Record which drafts of a batch were chosen (by draft id or the 1-based number on the contact sheet). Updates the selection rates of checkpoints and LoRA combinations that later batches learn from. Calling again for the same batch replaces the earlier choice.',
  input: z.object({
    batch_id: z.string().describe('The batch (from cover_batch).'),
    selected: z.array(z.union([z.string(), z.number().int().min(1)])).max(200).describe('Chosen drafts: draft ids or 1-based numbers. An empty list records that none was good.'),
  }),
  output: draftsSelectOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(ctx, input) {
    const gen = ctx.services.store.generation;
    const batch = await gen.getBatch(input.batch_id);
    if (!batch) throw new LoraloopError('NOT_FOUND', `No batch "${input.batch_id}".`, { hint: 'Use the batch_id cover_batch returned.' });
    const drafts = await gen.listDrafts(batch.id);
    const done = drafts.filter((d) => d.status === 'done');
    if (done.length === 0) {
      throw new LoraloopError('CONFLICT', `Batch ${batch.id} has no finished drafts to choose from (status ${batch.status}).`, {
        hint: 'Wait for it: call cover_batch with this batch_id.',
      });
    }
    const ids = new Set<string>();
    const bad: string[] = [];
    for (const x of input.selected) {
      const d = typeof x === 'number' ? drafts.find((y) => y.idx === x - 1) : drafts.find((y) => y.id === x || y.cover_id === x);
      if (!d || d.status !== 'done') bad.push(String(x));
      else ids.add(d.id);
    }
    if (bad.length) {
      throw new LoraloopError('INVALID_INPUT', `Not finished drafts of batch ${batch.id}: ${bad.join(', ')}.`, {
        hint: `Choose among numbers ${done.map((d) => d.idx + 1).join(', ')} (or their draft ids).`,
      });
    }
    const r = await gen.recordSelection(batch.id, [...ids]);
    const ckpts = new Set(done.map((d) => d.checkpoint).filter((c): c is string => c !== null));
    const combos = new Set(done.map((d) => d.lora_combo));
    const checkpoints: Record<string, z.infer<typeof statSchema>> = {};
    for (const st of await gen.stats('checkpoint')) {
      if (!ckpts.has(st.arm)) continue;
      const cur = checkpoints[st.arm] ?? { selected: 0, total: 0, selection_rate: 0 };
      cur.selected += st.selected;
      cur.total += st.total;
      cur.selection_rate = selectionRate(cur);
      checkpoints[st.arm] = cur;
    }
    const lora_combos: Record<string, z.infer<typeof statSchema>> = {};
    for (const st of await gen.stats('lora_combo', batch.scope)) {
      if (combos.has(st.arm)) lora_combos[st.arm] = { selected: st.selected, total: st.total, selection_rate: selectionRate(st) };
    }
    const chosen = r.drafts.filter((d) => d.selected);
    const rates = Object.entries(checkpoints).map(([k, v]) => `${k} ${v.selected}/${v.total}`).join(', ');
    return ok(
      {
        batch_id: batch.id,
        selected: chosen.map((d) => d.id),
        covers: chosen.map((d) => d.cover_id).filter((c): c is string => c !== null),
        replaced: r.replaced,
        checkpoints,
        lora_combos,
      },
      `Recorded ${chosen.length} of ${done.length} drafts as chosen${r.replaced ? ' (replacing the earlier choice)' : ''}.${rates ? ` Checkpoint rates now: ${rates}.` : ''} Later batches favour what gets chosen; see checkpoint_stats.`,
    );
  },
});
