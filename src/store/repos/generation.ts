import { randomUUID } from 'node:crypto';
import type { Db } from '../db.js';

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
  createBatch(b: NewBatch, drafts: NewDraft[]): BatchRecord;
  getBatch(id: string): BatchRecord | undefined;
  listBatches(filter?: { status?: string[]; limit?: number }): BatchRecord[];
  updateBatch(id: string, patch: Partial<Pick<BatchRecord, 'status' | 'job_id' | 'contact_sheet_path' | 'contact_sheet_sha256' | 'meta'>>): BatchRecord;
  listDrafts(batchId: string): DraftRecord[];
  getDraft(id: string): DraftRecord | undefined;
  /** Count one more attempt of a draft (before it is sent to a server). */
  noteAttempt(id: string): void;
  /** Remember the last error of a draft's attempts. */
  noteError(id: string, error: string): void;
  /**
   * Mark a draft done with its stored cover. Returns false (and changes nothing) when it was already done:
   * the guard that keeps a late duplicate from counting twice.
   */
  markDone(id: string, done: { server: string; cover_id: string | null; blob_path: string; elapsed_ms: number; checkpoint?: string | null; loras?: DraftLora[] }): boolean;
  markFailed(id: string, error: string): void;
  /**
   * Record which drafts were chosen and update the selection statistics. Calling it again for the same
   * batch replaces the earlier choice (its counts are taken back first), so stats never double-count.
   */
  recordSelection(batchId: string, selectedIds: string[]): { drafts: DraftRecord[]; replaced: boolean };
  stats(kind: SelectionStat['kind'], scope?: string): SelectionStat[];
  /** Add counts directly (imports, tests, priors). */
  addStats(kind: SelectionStat['kind'], scope: string, arm: string, selected: number, total: number): void;
}

/** Canonical key of a LoRA combination: names sorted, strengths left out (they vary with relevance). */
export function loraComboKey(loras: ReadonlyArray<{ name: string }>): string {
  return [...new Set(loras.map((l) => l.name))].sort().join('+');
}

interface BatchRow extends Omit<BatchRecord, 'reviewed' | 'meta'> {
  reviewed: number;
  meta: string;
}
interface DraftRow extends Omit<DraftRecord, 'loras' | 'selected'> {
  loras: string;
  selected: number;
}

const batchFromRow = (r: BatchRow): BatchRecord => ({ ...r, reviewed: r.reviewed === 1, meta: JSON.parse(r.meta) as Record<string, unknown> });
const draftFromRow = (r: DraftRow): DraftRecord => ({ ...r, loras: JSON.parse(r.loras) as DraftLora[], selected: r.selected === 1 });

export function createGenerationRepo(db: Db, now: () => Date = () => new Date()): GenerationRepo {
  const t = (): string => now().toISOString();
  const insBatch = db.prepare(`INSERT INTO batches (id, job_id, title, subtitle, prompt, negative_prompt, mode, backend, tier, scope, count,
    width, height, status, contact_sheet_path, contact_sheet_sha256, reviewed, meta, created_at, updated_at)
    VALUES (@id, @job_id, @title, @subtitle, @prompt, @negative_prompt, @mode, @backend, @tier, @scope, @count, @width, @height, @status,
    NULL, NULL, 0, @meta, @t, @t)`);
  const insDraft = db.prepare(`INSERT INTO drafts (id, batch_id, idx, checkpoint, loras, lora_combo, seed, status, attempts, selected, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, 0, ?, ?)`);
  const oneBatch = db.prepare('SELECT * FROM batches WHERE id = ?');
  const oneDraft = db.prepare('SELECT * FROM drafts WHERE id = ?');
  const draftsOf = db.prepare('SELECT * FROM drafts WHERE batch_id = ? ORDER BY idx');
  const bump = db.prepare(`INSERT INTO selection_stats (kind, scope, arm, selected, total, updated_at) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT(kind, scope, arm) DO UPDATE SET selected = selected + excluded.selected, total = total + excluded.total, updated_at = excluded.updated_at`);

  const repo: GenerationRepo = {
    createBatch(b, drafts) {
      const id = b.id ?? `batch_${randomUUID()}`;
      const ts = t();
      db.transaction(() => {
        insBatch.run({
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
          meta: JSON.stringify(b.meta),
          t: ts,
        });
        for (const d of drafts) {
          insDraft.run(`draft_${randomUUID()}`, id, d.idx, d.checkpoint, JSON.stringify(d.loras), loraComboKey(d.loras), d.seed, ts, ts);
        }
      }).immediate();
      return repo.getBatch(id)!;
    },
    getBatch(id) {
      const r = oneBatch.get(id) as BatchRow | undefined;
      return r ? batchFromRow(r) : undefined;
    },
    listBatches(filter = {}) {
      const where = filter.status?.length ? `WHERE status IN (${filter.status.map(() => '?').join(',')})` : '';
      const rows = db
        .prepare(`SELECT * FROM batches ${where} ORDER BY created_at DESC, rowid DESC LIMIT ?`)
        .all(...(filter.status ?? []), filter.limit ?? 100) as BatchRow[];
      return rows.map(batchFromRow);
    },
    updateBatch(id, patch) {
      const cols: string[] = [];
      const args: unknown[] = [];
      for (const [k, v] of Object.entries(patch)) {
        cols.push(`${k} = ?`);
        args.push(k === 'meta' ? JSON.stringify(v) : v);
      }
      cols.push('updated_at = ?');
      db.prepare(`UPDATE batches SET ${cols.join(', ')} WHERE id = ?`).run(...args, t(), id);
      return repo.getBatch(id)!;
    },
    listDrafts: (batchId) => (draftsOf.all(batchId) as DraftRow[]).map(draftFromRow),
    getDraft(id) {
      const r = oneDraft.get(id) as DraftRow | undefined;
      return r ? draftFromRow(r) : undefined;
    },
    noteAttempt(id) {
      db.prepare('UPDATE drafts SET attempts = attempts + 1, updated_at = ? WHERE id = ?').run(t(), id);
    },
    noteError(id, error) {
      db.prepare(`UPDATE drafts SET error = ?, updated_at = ? WHERE id = ? AND status != 'done'`).run(error.slice(0, 2000), t(), id);
    },
    markDone(id, d) {
      const sets = ['status = \'done\'', 'server = @server', 'cover_id = @cover_id', 'blob_path = @blob_path', 'elapsed_ms = @elapsed_ms', 'error = NULL', 'updated_at = @t'];
      if (d.checkpoint !== undefined) sets.push('checkpoint = @checkpoint');
      if (d.loras !== undefined) sets.push('loras = @loras', 'lora_combo = @combo');
      const r = db.prepare(`UPDATE drafts SET ${sets.join(', ')} WHERE id = @id AND status != 'done'`).run({
        id,
        server: d.server,
        cover_id: d.cover_id,
        blob_path: d.blob_path,
        elapsed_ms: Math.round(d.elapsed_ms),
        t: t(),
        ...(d.checkpoint !== undefined ? { checkpoint: d.checkpoint } : {}),
        ...(d.loras !== undefined ? { loras: JSON.stringify(d.loras), combo: loraComboKey(d.loras) } : {}),
      });
      return r.changes === 1;
    },
    markFailed(id, error) {
      db.prepare(`UPDATE drafts SET status = 'failed', error = ?, updated_at = ? WHERE id = ? AND status != 'done'`).run(error, t(), id);
    },
    recordSelection(batchId, selectedIds) {
      const wanted = new Set(selectedIds);
      let replaced = false;
      db.transaction(() => {
        const batch = repo.getBatch(batchId);
        if (!batch) throw new Error(`batch ${batchId} not found`);
        const drafts = repo.listDrafts(batchId).filter((d) => d.status === 'done');
        const ts = t();
        const apply = (sign: 1 | -1, chosen: (d: DraftRecord) => boolean): void => {
          for (const d of drafts) {
            const s = chosen(d) ? sign : 0;
            if (d.checkpoint) bump.run('checkpoint', '', d.checkpoint, s, sign, ts);
            bump.run('lora_combo', batch.scope, d.lora_combo, s, sign, ts);
          }
        };
        if (batch.reviewed) {
          replaced = true;
          apply(-1, (d) => d.selected);
        }
        apply(1, (d) => wanted.has(d.id));
        db.prepare('UPDATE drafts SET selected = 0, updated_at = ? WHERE batch_id = ?').run(ts, batchId);
        const mark = db.prepare('UPDATE drafts SET selected = 1, updated_at = ? WHERE id = ? AND batch_id = ?');
        for (const id of wanted) mark.run(ts, id, batchId);
        db.prepare('UPDATE batches SET reviewed = 1, updated_at = ? WHERE id = ?').run(ts, batchId);
      }).immediate();
      return { drafts: repo.listDrafts(batchId), replaced };
    },
    stats(kind, scope) {
      const rows =
        scope === undefined
          ? db.prepare('SELECT kind, scope, arm, selected, total FROM selection_stats WHERE kind = ? ORDER BY arm, scope').all(kind)
          : db.prepare('SELECT kind, scope, arm, selected, total FROM selection_stats WHERE kind = ? AND scope = ? ORDER BY arm').all(kind, scope);
      return rows as SelectionStat[];
    },
    addStats(kind, scope, arm, selected, total) {
      bump.run(kind, scope, arm, selected, total, t());
    },
  };
  return repo;
}
