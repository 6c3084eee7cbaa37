import { randomUUID } from 'node:crypto';
import type { Db } from '../db.js';

/** A persistent job (training, batch, nightly run). It outlives the process that started it. */
export interface JobRecord<S = Record<string, unknown>> {
  id: string;
  kind: string;
  status: string;
  subject_id: string | null;
  backend: string | null;
  remote_id: string | null;
  progress: number;
  state: S;
  error: string | null;
  owner: string | null;
  owner_until: string | null;
  created_at: string;
  updated_at: string;
}

interface Row extends Omit<JobRecord, 'state'> {
  state: string;
}

export interface JobsRepo {
  create<S extends Record<string, unknown>>(j: { kind: string; status: string; subject_id?: string | null; backend?: string | null; state?: S; id?: string }): JobRecord<S>;
  get<S = Record<string, unknown>>(id: string): JobRecord<S> | undefined;
  /** Patch fields; `state` is shallow-merged into the stored state inside one transaction. */
  update<S = Record<string, unknown>>(id: string, patch: Partial<Pick<JobRecord, 'status' | 'remote_id' | 'progress' | 'error' | 'backend'>> & { state?: Record<string, unknown> }): JobRecord<S>;
  list(filter?: { kind?: string; status?: string[]; subject_id?: string }): JobRecord[];
  /**
   * Claim a job for this process until `untilMs` from now, if nobody else holds a live claim.
   * Returns true when claimed. This is how a restarted process picks up jobs without two processes
   * following (and never re-submitting) the same one.
   */
  claim(id: string, owner: string, ttlMs: number): boolean;
  release(id: string, owner: string): void;
}

export function createJobsRepo(db: Db, now: () => Date = () => new Date()): JobsRepo {
  const ins = db.prepare(`INSERT INTO jobs (id, kind, status, subject_id, backend, remote_id, progress, state, error, owner, owner_until, created_at, updated_at)
    VALUES (@id, @kind, @status, @subject_id, @backend, NULL, 0, @state, NULL, NULL, NULL, @t, @t)`);
  const one = db.prepare('SELECT * FROM jobs WHERE id = ?');
  const parse = <S>(r: Row): JobRecord<S> => ({ ...r, state: JSON.parse(r.state) as S });
  const claimStmt = db.prepare(`UPDATE jobs SET owner = @owner, owner_until = @until
    WHERE id = @id AND (owner IS NULL OR owner = @owner OR owner_until IS NULL OR owner_until < @now)`);
  const releaseStmt = db.prepare('UPDATE jobs SET owner = NULL, owner_until = NULL WHERE id = ? AND owner = ?');
  const repo: JobsRepo = {
    create(j) {
      const id = j.id ?? `job_${randomUUID()}`;
      ins.run({ id, kind: j.kind, status: j.status, subject_id: j.subject_id ?? null, backend: j.backend ?? null, state: JSON.stringify(j.state ?? {}), t: now().toISOString() });
      return repo.get(id)!;
    },
    get<S>(id: string) {
      const r = one.get(id) as Row | undefined;
      return r ? parse<S>(r) : undefined;
    },
    update<S>(id: string, patch: Parameters<JobsRepo['update']>[1]) {
      const tx = db.transaction(() => {
        const cur = one.get(id) as Row | undefined;
        if (!cur) throw new Error(`job ${id} not found`);
        const state = patch.state ? { ...(JSON.parse(cur.state) as Record<string, unknown>), ...patch.state } : JSON.parse(cur.state);
        const next = {
          status: patch.status ?? cur.status,
          remote_id: patch.remote_id !== undefined ? patch.remote_id : cur.remote_id,
          progress: patch.progress ?? cur.progress,
          error: patch.error !== undefined ? patch.error : cur.error,
          backend: patch.backend !== undefined ? patch.backend : cur.backend,
          state: JSON.stringify(state),
          updated_at: now().toISOString(),
          id,
        };
        db.prepare(`UPDATE jobs SET status=@status, remote_id=@remote_id, progress=@progress, error=@error, backend=@backend,
          state=@state, updated_at=@updated_at WHERE id=@id`).run(next);
      });
      tx.immediate();
      return repo.get<S>(id)!;
    },
    list(filter = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.kind) {
        where.push('kind = ?');
        args.push(filter.kind);
      }
      if (filter.subject_id) {
        where.push('subject_id = ?');
        args.push(filter.subject_id);
      }
      if (filter.status?.length) {
        where.push(`status IN (${filter.status.map(() => '?').join(',')})`);
        args.push(...filter.status);
      }
      const sql = `SELECT * FROM jobs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at DESC, rowid DESC`;
      return (db.prepare(sql).all(...args) as Row[]).map((r) => parse(r));
    },
    claim(id, owner, ttlMs) {
      const t = now();
      return claimStmt.run({ id, owner, until: new Date(t.getTime() + ttlMs).toISOString(), now: t.toISOString() }).changes === 1;
    },
    release(id, owner) {
      releaseStmt.run(id, owner);
    },
  };
  return repo;
}
