import { describe, expect, it } from 'vitest';
import { monotonicProgress } from '../../src/faces/mcp/progress.js';
import { CALL_JOB_KIND, isAbandoned, runWithinBudget, type CallJob } from '../../src/tools/handover.js';
import { ok } from '../../src/core/result.js';
import { makeTestApp } from '../support/app.js';
import { dataOf } from '../support/result.js';

describe('progress notifications', () => {
  it('only strictly increasing values go out (repeats and steps back are dropped)', () => {
    const sent: number[] = [];
    const send = monotonicProgress((p) => sent.push(p.progress));
    for (const v of [0, 0, 5, 5, 3, 10, Number.NaN, 10, 11]) send({ progress: v, total: 100 });
    expect(sent).toEqual([0, 5, 10, 11]);
  });
});

describe('the call budget hand-over', () => {
  it('a cancel before the hand-over reaches the work; after it, the caller going away does not stop it', async () => {
    const t = makeTestApp();
    try {
      const deps = { jobs: t.app.services.store.jobs, logger: t.app.services.logger };
      // Cancelled inside the budget: the work sees the abort.
      const early = new AbortController();
      let sawAbort = false;
      const p1 = runWithinBudget(deps, (ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => ((sawAbort = true), resolve(ok({}, 'stopped'))))), 'x', t.app.context({ signal: early.signal }), 5_000);
      early.abort();
      await p1;
      expect(sawAbort).toBe(true);

      // Handed over, then the caller's request goes away: the work still finishes and its result is kept.
      const caller = new AbortController();
      let finish!: () => void;
      const gate = new Promise<void>((r) => (finish = r));
      let aborted = false;
      const r = await runWithinBudget(
        deps,
        async (ctx) => {
          ctx.signal.addEventListener('abort', () => (aborted = true));
          await gate;
          return ok({ made: 1 }, 'made one', undefined, 'rate it');
        },
        'slow_tool',
        t.app.context({ signal: caller.signal }),
        50,
      );
      const handed = dataOf(r) as { status: string; job_id: string };
      expect(handed.status).toBe('running');
      caller.abort();
      finish();
      await new Promise((res) => setTimeout(res, 50));
      expect(aborted).toBe(false);
      const job = (await t.app.services.store.jobs.get(handed.job_id)) as CallJob;
      expect(job.kind).toBe(CALL_JOB_KIND);
      expect(job.status).toBe('succeeded');
      expect(job.state.result).toMatchObject({ success: true, data: { made: 1 }, next: 'rate it' });
      const st = await t.app.tools.execute('job_status', { job_id: handed.job_id }, t.app.context());
      expect(dataOf(st)).toMatchObject({ status: 'succeeded', tool: 'slow_tool', result: { made: 1 } });
    } finally {
      await t.dispose();
    }
  });

  it('a job whose process stopped renewing its claim is reported lost, not running forever', async () => {
    const t = makeTestApp();
    try {
      const jobs = t.app.services.store.jobs;
      const j = await jobs.create({ kind: CALL_JOB_KIND, status: 'running', state: { tool: 'cover_generate' } });
      await jobs.claim(j.id, 'dead-host:1', 1);
      await new Promise((r) => setTimeout(r, 10));
      expect(isAbandoned((await jobs.get(j.id)) as CallJob, Date.now())).toBe(true);
      const st = await t.app.tools.execute('job_status', { job_id: j.id }, t.app.context());
      expect(dataOf(st)).toMatchObject({ status: 'lost', tool: 'cover_generate' });
      expect(st.reasoning).toMatch(/Call cover_generate again/);
    } finally {
      await t.dispose();
    }
  });
});
