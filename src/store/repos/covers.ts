import { randomUUID } from 'node:crypto';
import type { Db } from '../db.js';

/** A persisted cover: what was asked, what was chosen, and where the PNG lives. */
export interface CoverRecord {
  id: string;
  created_at: string;
  title: string;
  subtitle: string | null;
  coins: Array<{ symbol: string; name: string; primary: boolean }>;
  primary_symbol: string | null;
  lora: { name: string; version: number; strength: number } | null;
  seed: number;
  width: number;
  height: number;
  style: string | null;
  palette: { colors: string[]; scheme: string };
  logo: { symbol: string; source: string; style?: string; box: { x: number; y: number; width: number; height: number } } | null;
  text_box: { x: number; y: number; width: number; height: number } | null;
  backend: string;
  checkpoint: string | null;
  loras: Array<{ name: string; version?: number; strength: number }>;
  batch_id: string | null;
  blob_sha256: string;
  blob_path: string;
  meta: Record<string, unknown>;
}

export type NewCover = Omit<CoverRecord, 'id' | 'created_at'> & { id?: string; created_at?: string };

interface Row {
  id: string;
  created_at: string;
  title: string;
  subtitle: string | null;
  coins: string;
  primary_symbol: string | null;
  lora: string | null;
  seed: number;
  width: number;
  height: number;
  style: string | null;
  palette: string;
  logo: string | null;
  text_box: string | null;
  backend: string;
  checkpoint: string | null;
  loras: string | null;
  batch_id: string | null;
  blob_sha256: string;
  blob_path: string;
  meta: string | null;
}

const fromRow = (r: Row): CoverRecord => ({
  id: r.id,
  created_at: r.created_at,
  title: r.title,
  subtitle: r.subtitle,
  coins: JSON.parse(r.coins) as CoverRecord['coins'],
  primary_symbol: r.primary_symbol,
  lora: r.lora ? (JSON.parse(r.lora) as CoverRecord['lora']) : null,
  seed: r.seed,
  width: r.width,
  height: r.height,
  style: r.style,
  palette: JSON.parse(r.palette) as CoverRecord['palette'],
  logo: r.logo ? (JSON.parse(r.logo) as CoverRecord['logo']) : null,
  text_box: r.text_box ? (JSON.parse(r.text_box) as CoverRecord['text_box']) : null,
  backend: r.backend,
  checkpoint: r.checkpoint,
  loras: r.loras ? (JSON.parse(r.loras) as CoverRecord['loras']) : [],
  batch_id: r.batch_id,
  blob_sha256: r.blob_sha256,
  blob_path: r.blob_path,
  meta: r.meta ? (JSON.parse(r.meta) as Record<string, unknown>) : {},
});

export interface CoversRepo {
  /** Insert a cover. The blob must already be written (records never point at missing blobs). */
  insert(c: NewCover): CoverRecord;
  get(id: string): CoverRecord | undefined;
  /** Most recent first; optionally only covers whose primary coin is `symbol`. */
  recent(limit: number, symbol?: string | null): CoverRecord[];
  count(): number;
}

export function createCoversRepo(db: Db, now: () => Date = () => new Date()): CoversRepo {
  const ins = db.prepare(`INSERT INTO covers (id, created_at, title, subtitle, coins, primary_symbol, lora, seed, width, height,
    style, palette, logo, text_box, backend, checkpoint, loras, batch_id, blob_sha256, blob_path, meta)
    VALUES (@id, @created_at, @title, @subtitle, @coins, @primary_symbol, @lora, @seed, @width, @height, @style, @palette,
    @logo, @text_box, @backend, @checkpoint, @loras, @batch_id, @blob_sha256, @blob_path, @meta)`);
  const byId = db.prepare('SELECT * FROM covers WHERE id = ?');
  const recentAll = db.prepare('SELECT * FROM covers ORDER BY created_at DESC, rowid DESC LIMIT ?');
  const recentSym = db.prepare('SELECT * FROM covers WHERE primary_symbol IS ? ORDER BY created_at DESC, rowid DESC LIMIT ?');
  const cnt = db.prepare('SELECT COUNT(*) AS n FROM covers');
  return {
    insert(c) {
      const rec: CoverRecord = { ...c, id: c.id ?? `cov_${randomUUID()}`, created_at: c.created_at ?? now().toISOString() };
      ins.run({
        ...rec,
        coins: JSON.stringify(rec.coins),
        lora: rec.lora ? JSON.stringify(rec.lora) : null,
        palette: JSON.stringify(rec.palette),
        logo: rec.logo ? JSON.stringify(rec.logo) : null,
        text_box: rec.text_box ? JSON.stringify(rec.text_box) : null,
        loras: JSON.stringify(rec.loras),
        meta: JSON.stringify(rec.meta),
      });
      return rec;
    },
    get(id) {
      const r = byId.get(id) as Row | undefined;
      return r ? fromRow(r) : undefined;
    },
    recent(limit, symbol) {
      const rows = (symbol === undefined ? recentAll.all(limit) : recentSym.all(symbol, limit)) as Row[];
      return rows.map(fromRow);
    },
    count: () => (cnt.get() as { n: number }).n,
  };
}
