import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { z } from 'zod';
import type { RepoContext } from '../context.js';
import { jsonObject, parseJson } from '../json.js';
import type { BatchesTable, Database, DraftsTable } from '../schema.js';

/** A LoRA as a draft used it. */
export interface DraftLora {
  name: string;
  strength: number;
}

/** A batch of drafts: one request spread over checkpoints, LoRA combinations and servers. */
export interface BatchRecord {
  id: string;
  job_id: string | null;
  title: string | null;
  subtitle: string | null;
  prompt: string;
  negative_prompt: string | null;
  mode: 'explore' | 'quick';
  backend: string;
  tier: string | null;
  scope: string;
  count: number;
  width: number;
  height: number;
  status: 'running' | 'done' | 'failed' | 'canceled';
  contact_sheet_path: string | null;
  contact_sheet_sha256: string | null;
  reviewed: boolean;
  meta: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

/** One image of a batch. `status` turns `done` exactly once, when its cover is stored. */
export interface DraftRecord {
  id: string;
  batch_id: string;
  idx: number;
  checkpoint: string | null;
  loras: DraftLora[];
  lora_combo: string;
  seed: number;
  status: 'pending' | 'done' | 'failed';
  attempts: number;
  server: string | null;
  cover_id: string | null;
  blob_path: string | null;
  elapsed_ms: number | null;
  error: string | null;
  selected: boolean;
  /** Its contact-sheet thumbnail (a blob), when a queue worker made it. */
  thumb_sha256: string | null;
  /** Servers that refused it for a reason of their own (a missing checkpoint or LoRA); queue workers only. */
  refused_by: string[];
  created_at: string;
  updated_at: string;
}

/** Selection counts of one arm (a checkpoint, or a LoRA combination within a scope). */
export interface SelectionStat {
  kind: 'checkpoint' | 'lora_combo';
  scope: string;
  arm: string;
  selected: number;
  total: number;
}

export type NewBatch = Omit<BatchRecord, 'id' | 'created_at' | 'updated_at' | 'reviewed' | 'contact_sheet_path' | 'contact_sheet_sha256' | 'status'> & {
  id?: string;
  status?: BatchRecord['status'];
};
export type NewDraft = Pick<DraftRecord, 'idx' | 'checkpoint' | 'loras' | 'seed'>;

export interface GenerationRepo {
  /** Insert a batch and all its drafts (pending) in one transaction. */
  createBatch(b: NewBatch, drafts: NewDraft[]): Promise<BatchRecord>;
  getBatch(id: string): Promise<BatchRecord | undefined>;
  listBatches(filter?: { status?: string[]; limit?: number }): Promise<BatchRecord[]>;
  updateBatch(id: string, patch: Partial<Pick<BatchRecord, 'status' | 'job_id' | 'contact_sheet_path' | 'contact_sheet_sha256' | 'meta'>>): Promise<BatchRecord>;
  listDrafts(batchId: string): Promise<DraftRecord[]>;
  getDraft(id: string): Promise<DraftRecord | undefined>;
  /** Server and time of every draft finished since `sinceIso`: how fast each server is now, for every worker. */
  recentDraftTimes(sinceIso: string): Promise<Array<{ server: string; elapsed_ms: number; updated_at: string }>>;
  /** Count one more attempt of a draft (before it is sent to a server). */
  noteAttempt(id: string): Promise<void>;
  /** Remember the last error of a draft's attempts. */
  noteError(id: string, error: string): Promise<void>;
  /** A server refused the draft for a reason of its own: remember it (with the error); the draft as it is now. */
  noteRefusal(id: string, server: string, error: string): Promise<DraftRecord | undefined>;
  /**
   * Mark a draft done with its stored cover. Returns false (and changes nothing) when it was already done:
   * the guard that keeps a late duplicate from counting twice.
   */
  markDone(
    id: string,
    done: { server: string; cover_id: string | null; blob_path: string; elapsed_ms: number; checkpoint?: string | null; loras?: DraftLora[]; thumb_sha256?: string | null },
  ): Promise<boolean>;
  markFailed(id: string, error: string): Promise<void>;
  /**
   * Record which drafts were chosen and update the selection statistics. Calling it again for the same
   * batch replaces the earlier choice (its counts are taken back first), so stats never double-count.
   */
  recordSelection(batchId: string, selectedIds: string[]): Promise<{ drafts: DraftRecord[]; replaced: boolean }>;
  stats(kind: SelectionStat['kind'], scope?: string): Promise<SelectionStat[]>;
  /** Add counts directly (imports, tests, priors). */
  addStats(kind: SelectionStat['kind'], scope: string, arm: string, selected: number, total: number): Promise<void>;
}

/** Canonical key of a LoRA combination: names sorted, strengths left out (they vary with relevance). */
export function loraComboKey(loras: ReadonlyArray<{ name: string }>): string {
  return [...new Set(loras.map((l) => l.name))].sort().join('+');
}

const draftLoras = z.array(z.looseObject({ name: z.string(), strength: z.number() }));
const serverList = z.array(z.string());

const batchFromRow = (r: Selectable<BatchesTable>): BatchRecord => ({
  ...r,
  mode: r.mode as BatchRecord['mode'],
  status: r.status as BatchRecord['status'],
  reviewed: r.reviewed === 1,
  meta: parseJson(jsonObject, r.meta, { table: 'batches', column: 'meta', row: r.id }),
});
const draftFromRow = (r: Selectable<DraftsTable>): DraftRecord => ({
  ...r,
  status: r.status as DraftRecord['status'],
  loras: parseJson(draftLoras, r.loras, { table: 'drafts', column: 'loras', row: r.id }),
  refused_by: parseJson(serverList, r.refused_by, { table: 'drafts', column: 'refused_by', row: r.id }),
  selected: r.selected === 1,
});

export function createGenerationRepo({ db, sql, now, atomic }: RepoContext): GenerationRepo {
  const t = (): string => now().toISOString();
  const getBatch = async (on: Kysely<Database>, id: string) => {
    const r = await on.selectFrom('batches').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? batchFromRow(r) : undefined;
  };
  const listDrafts = async (on: Kysely<Database>, batchId: string) =>
    (await on.selectFrom('drafts').selectAll().where('batch_id', '=', batchId).orderBy('idx').execute()).map(draftFromRow);
  const bump = (on: Kysely<Database>, kind: string, scope: string, arm: string, selected: number, total: number, ts: string) =>
    on
      .insertInto('selection_stats')
      .values({ kind, scope, arm, selected, total, updated_at: ts })
      .onConflict((oc) =>
        oc.columns(['kind', 'scope', 'arm']).doUpdateSet((eb) => ({
          selected: eb('selection_stats.selected', '+', eb.ref('excluded.selected')),
          total: eb('selection_stats.total', '+', eb.ref('excluded.total')),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();

  return {
    async createBatch(b, drafts) {
      const id = b.id ?? `batch_${randomUUID()}`;
      const ts = t();
      return atomic(async (tx) => {
        await tx
          .insertInto('batches')
          .values({
            id,
            job_id: b.job_id,
            title: b.title,
            subtitle: b.subtitle,
            prompt: b.prompt,
            negative_prompt: b.negative_prompt,
            mode: b.mode,
            backend: b.backend,
            tier: b.tier,
            scope: b.scope,
            count: b.count,
            width: b.width,
            height: b.height,
            status: b.status ?? 'running',
            contact_sheet_path: null,
            contact_sheet_sha256: null,
            reviewed: 0,
            meta: JSON.stringify(b.meta),
            created_at: ts,
            updated_at: ts,
          })
          .execute();
        for (const d of drafts) {
          await tx
            .insertInto('drafts')
            .values({
              id: `draft_${randomUUID()}`,
              batch_id: id,
              idx: d.idx,
              checkpoint: d.checkpoint,
              loras: JSON.stringify(d.loras),
              lora_combo: loraComboKey(d.loras),
              seed: d.seed,
              status: 'pending',
              attempts: 0,
              selected: 0,
              created_at: ts,
              updated_at: ts,
            })
            .execute();
        }
        return (await getBatch(tx, id))!;
      });
    },
    getBatch: (id) => getBatch(db, id),
    async listBatches(filter = {}) {
      let q = db.selectFrom('batches').selectAll();
      if (filter.status?.length) q = q.where('status', 'in', filter.status);
      const rows = await q
        .orderBy('created_at', 'desc')
        .orderBy(sql.insertionOrder('batches'), 'desc')
        .limit(filter.limit ?? 100)
        .execute();
      return rows.map(batchFromRow);
    },
    async updateBatch(id, patch) {
      const set: Record<string, unknown> = {};
      // An explicit undefined clears the column, as a bound undefined always did.
      for (const [k, v] of Object.entries(patch)) set[k] = k === 'meta' ? JSON.stringify(v) : (v ?? null);
      await db
        .updateTable('batches')
        .set({ ...set, updated_at: t() })
        .where('id', '=', id)
        .execute();
      return (await getBatch(db, id))!;
    },
    listDrafts: (batchId) => listDrafts(db, batchId),
    async getDraft(id) {
      const r = await db.selectFrom('drafts').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? draftFromRow(r) : undefined;
    },
    async recentDraftTimes(sinceIso) {
      const rows = await db
        .selectFrom('drafts')
        .select(['server', 'elapsed_ms', 'updated_at'])
        .where('status', '=', 'done')
        .where('updated_at', '>=', sinceIso)
        .where('server', 'is not', null)
        .where('elapsed_ms', 'is not', null)
        .execute();
      return rows.map((r) => ({ server: r.server as string, elapsed_ms: Number(r.elapsed_ms), updated_at: r.updated_at }));
    },
    async noteAttempt(id) {
      await db
        .updateTable('drafts')
        .set((eb) => ({ attempts: eb('attempts', '+', 1), updated_at: t() }))
        .where('id', '=', id)
        .execute();
    },
    async noteRefusal(id, server, error) {
      // One attempt holds a draft at a time (the queue's lease), so this read-modify-write has no rival writer.
      return atomic(async (tx) => {
        const r = await tx.selectFrom('drafts').selectAll().where('id', '=', id).executeTakeFirst();
        if (!r) return undefined;
        const d = draftFromRow(r);
        const refused = d.refused_by.includes(server) ? d.refused_by : [...d.refused_by, server];
        await tx
          .updateTable('drafts')
          .set({ refused_by: JSON.stringify(refused), error: error.slice(0, 2000), updated_at: t() })
          .where('id', '=', id)
          .where('status', '!=', 'done')
          .execute();
        return { ...d, refused_by: refused, error: error.slice(0, 2000) };
      });
    },
    async noteError(id, error) {
      await db
        .updateTable('drafts')
        .set({ error: error.slice(0, 2000), updated_at: t() })
        .where('id', '=', id)
        .where('status', '!=', 'done')
        .execute();
    },
    async markDone(id, d) {
      const r = await db
        .updateTable('drafts')
        .set({
          status: 'done',
          server: d.server,
          cover_id: d.cover_id,
          blob_path: d.blob_path,
          elapsed_ms: Math.round(d.elapsed_ms),
          error: null,
          updated_at: t(),
          ...(d.checkpoint !== undefined ? { checkpoint: d.checkpoint } : {}),
          ...(d.loras !== undefined ? { loras: JSON.stringify(d.loras), lora_combo: loraComboKey(d.loras) } : {}),
          ...(d.thumb_sha256 !== undefined ? { thumb_sha256: d.thumb_sha256 } : {}),
        })
        .where('id', '=', id)
        .where('status', '!=', 'done')
        .executeTakeFirst();
      return r.numUpdatedRows === 1n;
    },
    async markFailed(id, error) {
      await db
        .updateTable('drafts')
        .set({ status: 'failed', error, updated_at: t() })
        .where('id', '=', id)
        .where('status', '!=', 'done')
        .execute();
    },
    async recordSelection(batchId, selectedIds) {
      const wanted = new Set(selectedIds);
      return atomic(async (tx) => {
        const batch = await getBatch(tx, batchId);
        if (!batch) throw new Error(`batch ${batchId} not found`);
        const drafts = (await listDrafts(tx, batchId)).filter((d) => d.status === 'done');
        const ts = t();
        const apply = async (sign: 1 | -1, chosen: (d: DraftRecord) => boolean): Promise<void> => {
          for (const d of drafts) {
            const s = chosen(d) ? sign : 0;
            if (d.checkpoint) await bump(tx, 'checkpoint', '', d.checkpoint, s, sign, ts);
            await bump(tx, 'lora_combo', batch.scope, d.lora_combo, s, sign, ts);
          }
        };
        const replaced = batch.reviewed;
        if (replaced) await apply(-1, (d) => d.selected);
        await apply(1, (d) => wanted.has(d.id));
        await tx.updateTable('drafts').set({ selected: 0, updated_at: ts }).where('batch_id', '=', batchId).execute();
        for (const id of wanted) {
          await tx.updateTable('drafts').set({ selected: 1, updated_at: ts }).where('id', '=', id).where('batch_id', '=', batchId).execute();
        }
        await tx.updateTable('batches').set({ reviewed: 1, updated_at: ts }).where('id', '=', batchId).execute();
        return { drafts: await listDrafts(tx, batchId), replaced };
      });
    },
    async stats(kind, scope) {
      let q = db.selectFrom('selection_stats').select(['kind', 'scope', 'arm', 'selected', 'total']).where('kind', '=', kind);
      q = scope === undefined ? q.orderBy('arm').orderBy('scope') : q.where('scope', '=', scope).orderBy('arm');
      return (await q.execute()) as SelectionStat[];
    },
    async addStats(kind, scope, arm, selected, total) {
      await bump(db, kind, scope, arm, selected, total, t());
    },
  };
}
