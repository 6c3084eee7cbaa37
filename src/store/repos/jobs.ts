import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { RepoContext } from '../context.js';
import { jsonObject, parseJson } from '../json.js';
import type { Database, JobsTable } from '../schema.js';

/** A persistent job (training, batch, nightly run). It outlives the process that started it. */
export interface JobRecord<S = Record<string, unknown>> extends Omit<JobsTable, 'state'> {
  /** The JSON `state` column, parsed. */
  state: S;
}

export interface JobsRepo {
  create<S extends Record<string, unknown>>(j: { kind: string; status: string; subject_id?: string | null; backend?: string | null; state?: S; id?: string }): Promise<JobRecord<S>>;
  get<S = Record<string, unknown>>(id: string): Promise<JobRecord<S> | undefined>;
  /** Patch fields; `state` is shallow-merged into the stored state inside one transaction. */
  update<S = Record<string, unknown>>(
    id: string,
    patch: Partial<Pick<JobRecord, 'status' | 'remote_id' | 'progress' | 'error' | 'backend'>> & { state?: Record<string, unknown> },
  ): Promise<JobRecord<S>>;
  list(filter?: { kind?: string; status?: string[]; subject_id?: string }): Promise<JobRecord[]>;
  /**
   * Claim a job for this process until `untilMs` from now, if nobody else holds a live claim.
   * Returns true when claimed. This is how a restarted process picks up jobs without two processes
   * following (and never re-submitting) the same one.
   */
  claim(id: string, owner: string, ttlMs: number): Promise<boolean>;
  release(id: string, owner: string): Promise<void>;
}

/** The generic state column is any JSON object; each job kind knows its own shape. */
const parse = <S>(r: Selectable<JobsTable>): JobRecord<S> => ({ ...r, state: parseJson(jsonObject, r.state, { table: 'jobs', column: 'state', row: r.id }) as S });

export function createJobsRepo({ db, sql, now, atomic }: RepoContext): JobsRepo {
  const get = async <S>(on: Kysely<Database>, id: string): Promise<JobRecord<S> | undefined> => {
    const r = await on.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? parse<S>(r) : undefined;
  };
  return {
    async create(j) {
      const id = j.id ?? `job_${randomUUID()}`;
      const t = now().toISOString();
      const row = await db
        .insertInto('jobs')
        .values({
          id,
          kind: j.kind,
          status: j.status,
          subject_id: j.subject_id ?? null,
          backend: j.backend ?? null,
          remote_id: null,
          progress: 0,
          state: JSON.stringify(j.state ?? {}),
          error: null,
          owner: null,
          owner_until: null,
          created_at: t,
          updated_at: t,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return parse(row);
    },
    get: (id) => get(db, id),
    update: <S>(id: string, patch: Parameters<JobsRepo['update']>[1]) =>
      atomic(async (tx) => {
        const cur = await get<Record<string, unknown>>(tx, id);
        if (!cur) throw new Error(`job ${id} not found`);
        const row = await tx
          .updateTable('jobs')
          .set({
            status: patch.status ?? cur.status,
            remote_id: patch.remote_id !== undefined ? patch.remote_id : cur.remote_id,
            progress: patch.progress ?? cur.progress,
            error: patch.error !== undefined ? patch.error : cur.error,
            backend: patch.backend !== undefined ? patch.backend : cur.backend,
            state: JSON.stringify(patch.state ? { ...cur.state, ...patch.state } : cur.state),
            updated_at: now().toISOString(),
          })
          .where('id', '=', id)
          .returningAll()
          .executeTakeFirstOrThrow();
        return parse<S>(row);
      }),
    async list(filter = {}) {
      let q = db.selectFrom('jobs').selectAll();
      if (filter.kind) q = q.where('kind', '=', filter.kind);
      if (filter.subject_id) q = q.where('subject_id', '=', filter.subject_id);
      if (filter.status?.length) q = q.where('status', 'in', filter.status);
      const rows = await q.orderBy('created_at', 'desc').orderBy(sql.insertionOrder('jobs'), 'desc').execute();
      return rows.map((r) => parse(r));
    },
    async claim(id, owner, ttlMs) {
      const t = now();
      // One statement: of two processes claiming at once, the second sees the first's owner and matches no row.
      const won = await db
        .updateTable('jobs')
        .set({ owner, owner_until: new Date(t.getTime() + ttlMs).toISOString() })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('owner', 'is', null), eb('owner', '=', owner), eb('owner_until', 'is', null), eb('owner_until', '<', t.toISOString())]))
        .returning('id')
        .executeTakeFirst();
      return won !== undefined;
    },
    async release(id, owner) {
      await db.updateTable('jobs').set({ owner: null, owner_until: null }).where('id', '=', id).where('owner', '=', owner).execute();
    },
  };
}
