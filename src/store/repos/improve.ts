/**
 * Runs and steps of the nightly improvement run, persisted so a killed run continues where it stopped:
 * each step is written when it starts (with what it needs to resume, e.g. the training job id) and when it
 * ends (with what it found). A step that is `done` or `skipped` is never done again.
 */
import { randomUUID } from 'node:crypto';
import type { Selectable, Updateable } from 'kysely';
import type { RepoContext } from '../context.js';
import { jsonObject, parseJson, stringArray } from '../json.js';
import type { ImproveRunsTable, ImproveStepsTable } from '../schema.js';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'canceled';
export type StepStatus = 'running' | 'done' | 'skipped' | 'failed';

export interface ImproveRun {
  id: string;
  status: RunStatus;
  loras: string[] | null;
  since: string;
  owner: string | null;
  summary: Record<string, unknown> | null;
  report_path: string | null;
  error: string | null;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
}

/** One step of a run; `step` is the run's step name (gather, curate, ... see agent/improve/types.ts). */
export interface ImproveStep<D = Record<string, unknown>> {
  run_id: string;
  lora_id: string;
  step: string;
  status: StepStatus;
  data: D;
  started_at: string;
  finished_at: string | null;
}

export interface ImproveRepo {
  create(r: { loras: string[] | null; since: string; owner: string }): Promise<ImproveRun>;
  get(id: string): Promise<ImproveRun | undefined>;
  /** The run left `running` (by a process that died or was stopped), if any. */
  unfinished(): Promise<ImproveRun | undefined>;
  /** The newest finished run (succeeded), for "new since the last run". */
  lastFinished(): Promise<ImproveRun | undefined>;
  list(limit: number): Promise<ImproveRun[]>;
  update(id: string, patch: Partial<Pick<ImproveRun, 'status' | 'owner' | 'summary' | 'report_path' | 'error' | 'finished_at'>>): Promise<ImproveRun>;
  step<D = Record<string, unknown>>(runId: string, loraId: string, step: string): Promise<ImproveStep<D> | undefined>;
  steps(runId: string): Promise<ImproveStep[]>;
  /** Write a step's status and data (data replaces the stored data). */
  putStep(runId: string, loraId: string, step: string, status: StepStatus, data: Record<string, unknown>): Promise<ImproveStep>;
}

const runFrom = (r: Selectable<ImproveRunsTable>): ImproveRun => ({
  ...r,
  status: r.status as RunStatus,
  loras: r.loras ? parseJson(stringArray, r.loras, { table: 'improve_runs', column: 'loras', row: r.id }) : null,
  summary: r.summary ? parseJson(jsonObject, r.summary, { table: 'improve_runs', column: 'summary', row: r.id }) : null,
});
/** The step's data is what that step wrote; the step that reads it back knows its shape. */
const stepFrom = <D>(r: Selectable<ImproveStepsTable>): ImproveStep<D> => ({
  ...r,
  status: r.status as StepStatus,
  data: parseJson(jsonObject, r.data, { table: 'improve_steps', column: 'data', row: `${r.run_id}/${r.lora_id}/${r.step}` }) as D,
});

export function createImproveRepo({ db, sql, now }: RepoContext): ImproveRepo {
  const t = () => now().toISOString();
  const newest = (status: RunStatus) =>
    db
      .selectFrom('improve_runs')
      .selectAll()
      .where('status', '=', status)
      .orderBy('started_at', 'desc')
      .orderBy(sql.insertionOrder('improve_runs'), 'desc')
      .limit(1)
      .executeTakeFirst();
  const get = async (id: string) => {
    const r = await db.selectFrom('improve_runs').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? runFrom(r) : undefined;
  };
  const step = async <D>(runId: string, loraId: string, name: string) => {
    const r = await db
      .selectFrom('improve_steps')
      .selectAll()
      .where('run_id', '=', runId)
      .where('lora_id', '=', loraId)
      .where('step', '=', name)
      .executeTakeFirst();
    return r ? stepFrom<D>(r) : undefined;
  };
  return {
    async create(r) {
      const id = `run_${randomUUID()}`;
      const ts = t();
      await db
        .insertInto('improve_runs')
        .values({ id, status: 'running', loras: r.loras ? JSON.stringify(r.loras) : null, since: r.since, owner: r.owner, started_at: ts, updated_at: ts })
        .execute();
      return (await get(id))!;
    },
    get,
    unfinished: async () => {
      const r = await newest('running');
      return r ? runFrom(r) : undefined;
    },
    lastFinished: async () => {
      const r = await newest('succeeded');
      return r ? runFrom(r) : undefined;
    },
    list: async (limit) =>
      (
        await db
          .selectFrom('improve_runs')
          .selectAll()
          .orderBy('started_at', 'desc')
          .orderBy(sql.insertionOrder('improve_runs'), 'desc')
          .limit(limit)
          .execute()
      ).map(runFrom),
    async update(id, patch) {
      const set: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(patch)) set[k] = k === 'summary' ? (v === null || v === undefined ? null : JSON.stringify(v)) : (v ?? null);
      await db
        .updateTable('improve_runs')
        .set({ ...(set as Updateable<ImproveRunsTable>), updated_at: t() })
        .where('id', '=', id)
        .execute();
      return (await get(id))!;
    },
    step,
    steps: async (runId) =>
      (
        await db
          .selectFrom('improve_steps')
          .selectAll()
          .where('run_id', '=', runId)
          .orderBy('started_at')
          .orderBy(sql.insertionOrder('improve_steps'))
          .execute()
      ).map((r) => stepFrom(r)),
    async putStep(runId, loraId, name, status, data) {
      const ts = t();
      const row = { run_id: runId, lora_id: loraId, step: name, status, data: JSON.stringify(data), started_at: ts, finished_at: status === 'running' ? null : ts };
      await db
        .insertInto('improve_steps')
        .values(row)
        .onConflict((oc) => oc.columns(['run_id', 'lora_id', 'step']).doUpdateSet({ status, data: row.data, finished_at: row.finished_at }))
        .execute();
      return (await step(runId, loraId, name))!;
    },
  };
}
