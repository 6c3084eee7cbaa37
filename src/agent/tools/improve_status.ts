import { z } from 'zod';
import { LoraloopError } from '../../core/errors.js';
import { ok } from '../../core/result.js';
import { IMPROVE_LEASE } from '../improve/run.js';
import { defineTool } from '../../tools/types.js';

const runSchema = z.object({
  run_id: z.string().describe('Run id.'),
  status: z.enum(['running', 'succeeded', 'failed', 'canceled']).describe('running (or left unfinished by a stopped process), succeeded, failed.'),
  started_at: z.string().describe('When it started.'),
  finished_at: z.string().nullable().describe('When it ended.'),
  since: z.string().describe('What counted as new was newer than this.'),
  loras: z
    .array(z.object({ name: z.string().describe('LoRA name.'), outcome: z.string().describe('What happened to it.'), reason: z.string().describe('Why.') }))
    .describe('Per LoRA outcome (finished runs).'),
  steps: z
    .array(z.object({ lora_id: z.string().describe("LoRA id ('' for run-wide steps)."), step: z.string().describe('Step name.'), status: z.string().describe('running, done, skipped or failed.') }))
    .describe('Persisted steps, in order.'),
  report_path: z.string().nullable().describe('The HTML report.'),
  error: z.string().nullable().describe('Why a failed run failed.'),
});

export const improveStatusTool = defineTool({
  name: 'improve_status',
  title: 'Nightly run status',
  description: 'The last nightly improvement runs (or one run): status, per-LoRA outcomes (promoted, kept, unchanged...), persisted steps, the report path, and who holds the run lease now.',
  input: z.object({
    run_id: z.string().min(1).max(100).optional().describe('One run; default the latest runs.'),
    limit: z.number().int().min(1).max(50).optional().describe('How many recent runs (default 5).'),
  }),
  output: z.object({
    runs: z.array(runSchema).describe('Newest first.'),
    lease: z.object({ owner: z.string().describe('Process holding it.'), expires_at: z.string().describe('Until when.') }).nullable().describe('The live run lease, or null when no run is in progress.'),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(ctx, input) {
    const s = ctx.services;
    const repo = s.store.improve;
    const runs = input.run_id ? [await repo.get(input.run_id)].filter((r) => r !== undefined) : await repo.list(input.limit ?? 5);
    if (input.run_id && !runs.length) throw new LoraloopError('NOT_FOUND', `No nightly run "${input.run_id}".`, { hint: 'Call improve_status without run_id to list the recent runs.' });
    const holder = await s.store.leases.holder(IMPROVE_LEASE);
    const lease = holder && Date.parse(holder.expires_at) > s.now().getTime() ? holder : null;
    const out = [];
    for (const r of runs) {
      const loras = ((r.summary?.loras as Array<{ name: string; outcome: string; reason: string }> | undefined) ?? []).map((l) => ({ name: l.name, outcome: l.outcome, reason: l.reason }));
      out.push({
        run_id: r.id,
        status: r.status,
        started_at: r.started_at,
        finished_at: r.finished_at,
        since: r.since,
        loras,
        steps: (await repo.steps(r.id)).map((st) => ({ lora_id: st.lora_id, step: st.step, status: st.status })),
        report_path: r.report_path,
        error: r.error,
      });
    }
    const lines = out.map((r) => {
      const what = r.loras.length ? r.loras.map((l) => `${l.name} ${l.outcome}`).join(', ') : `${r.steps.length} steps so far`;
      return `${r.run_id} ${r.status} (started ${r.started_at}): ${what}.${r.report_path ? ` Report: ${r.report_path}.` : ''}${r.error ? ` Error: ${r.error}` : ''}`;
    });
    const reasoning = out.length
      ? `${lines.join(' ')}${lease ? ` A run is in progress (${lease.owner}).` : ''}`
      : 'No nightly run yet. Run improve_run (or loraloop improve), or start loraloop daemon for the schedule.';
    const reports = out.filter((r) => r.report_path).map((r) => ({ kind: 'file' as const, path: r.report_path!, mime_type: 'text/html', title: `Nightly report ${r.run_id}` }));
    return ok({ runs: out, lease }, reasoning, reports);
  },
});
