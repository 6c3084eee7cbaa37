/**
 * Runs and steps of the nightly improvement run, persisted so a killed run continues where it stopped:
 * each step is written when it starts (with what it needs to resume, e.g. the training job id) and when it
 * ends (with what it found). A step that is `done` or `skipped` is never done again.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../store/db.js';
import type { RunStep } from './types.js';

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

export interface ImproveStep<D = Record<string, unknown>> {
  run_id: string;
  lora_id: string;
  step: RunStep;
  status: StepStatus;
  data: D;
  started_at: string;
  finished_at: string | null;
}

export interface ImproveRepo {
  create(r: { loras: string[] | null; since: string; owner: string }): ImproveRun;
  get(id: string): ImproveRun | undefined;
  /** The run left `running` (by a process that died or was stopped), if any. */
  unfinished(): ImproveRun | undefined;
  /** The newest finished run (succeeded), for "new since the last run". */
  lastFinished(): ImproveRun | undefined;
  list(limit: number): ImproveRun[];
  update(id: string, patch: Partial<Pick<ImproveRun, 'status' | 'owner' | 'summary' | 'report_path' | 'error' | 'finished_at'>>): ImproveRun;
  step<D = Record<string, unknown>>(runId: string, loraId: string, step: RunStep): ImproveStep<D> | undefined;
  steps(runId: string): ImproveStep[];
  /** Write a step's status and data (data replaces the stored data). */
  putStep(runId: string, loraId: string, step: RunStep, status: StepStatus, data: Record<string, unknown>): ImproveStep;
}

interface RunRow extends Omit<ImproveRun, 'loras' | 'summary'> {
  loras: string | null;
  summary: string | null;
}
interface StepRow extends Omit<ImproveStep, 'data'> {
  data: string;
}

const runFrom = (r: RunRow): ImproveRun => ({
  ...r,
  loras: r.loras ? (JSON.parse(r.loras) as string[]) : null,
  summary: r.summary ? (JSON.parse(r.summary) as Record<string, unknown>) : null,
});
const stepFrom = <D>(r: StepRow): ImproveStep<D> => ({ ...r, data: JSON.parse(r.data) as D });

export function createImproveRepo(db: Db, now: () => Date = () => new Date()): ImproveRepo {
  const t = () => now().toISOString();
  const repo: ImproveRepo = {
    create(r) {
      const id = `run_${randomUUID()}`;
      const ts = t();
      db.prepare(`INSERT INTO improve_runs (id, status, loras, since, owner, started_at, updated_at) VALUES (?, 'running', ?, ?, ?, ?, ?)`).run(
        id, r.loras ? JSON.stringify(r.loras) : null, r.since, r.owner, ts, ts,
      );
      return repo.get(id)!;
    },
    get(id) {
      const r = db.prepare('SELECT * FROM improve_runs WHERE id = ?').get(id) as RunRow | undefined;
      return r ? runFrom(r) : undefined;
    },
    unfinished() {
      const r = db.prepare(`SELECT * FROM improve_runs WHERE status = 'running' ORDER BY started_at DESC, rowid DESC LIMIT 1`).get() as RunRow | undefined;
      return r ? runFrom(r) : undefined;
    },
    lastFinished() {
      const r = db.prepare(`SELECT * FROM improve_runs WHERE status = 'succeeded' ORDER BY started_at DESC, rowid DESC LIMIT 1`).get() as RunRow | undefined;
      return r ? runFrom(r) : undefined;
    },
    list(limit) {
      return (db.prepare('SELECT * FROM improve_runs ORDER BY started_at DESC, rowid DESC LIMIT ?').all(limit) as RunRow[]).map(runFrom);
    },
    update(id, patch) {
      const cols: string[] = [];
      const args: unknown[] = [];
      for (const [k, v] of Object.entries(patch)) {
        cols.push(`${k} = ?`);
        args.push(k === 'summary' ? (v === null ? null : JSON.stringify(v)) : v);
      }
      cols.push('updated_at = ?');
      args.push(t(), id);
      db.prepare(`UPDATE improve_runs SET ${cols.join(', ')} WHERE id = ?`).run(...args);
      return repo.get(id)!;
    },
    step<D>(runId: string, loraId: string, step: RunStep) {
      const r = db.prepare('SELECT * FROM improve_steps WHERE run_id = ? AND lora_id = ? AND step = ?').get(runId, loraId, step) as StepRow | undefined;
      return r ? stepFrom<D>(r) : undefined;
    },
    steps(runId) {
      return (db.prepare('SELECT * FROM improve_steps WHERE run_id = ? ORDER BY started_at, rowid').all(runId) as StepRow[]).map((r) => stepFrom(r));
    },
    putStep(runId, loraId, step, status, data) {
      const ts = t();
      const finished = status === 'running' ? null : ts;
      db.prepare(`INSERT INTO improve_steps (run_id, lora_id, step, status, data, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(run_id, lora_id, step) DO UPDATE SET status = excluded.status, data = excluded.data, finished_at = excluded.finished_at`).run(
        runId, loraId, step, status, JSON.stringify(data), ts, finished,
      );
      return repo.step(runId, loraId, step)!;
    },
  };
  return repo;
}
