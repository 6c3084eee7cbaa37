import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import { z } from 'zod';
import type { RepoContext } from '../context.js';
import { box, jsonObject, palette, parseJson, parseJsonOr } from '../json.js';
import type { CoversTable } from '../schema.js';

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

const lora = z.looseObject({ name: z.string(), version: z.number(), strength: z.number() });
const schemas = {
  coins: z.array(z.looseObject({ symbol: z.string(), name: z.string(), primary: z.boolean() })),
  lora: lora.nullable(),
  palette,
  logo: z.looseObject({ symbol: z.string(), source: z.string(), style: z.string().optional(), box }).nullable(),
  text_box: box.nullable(),
  loras: z.array(z.looseObject({ name: z.string(), version: z.number().optional(), strength: z.number() })),
  meta: jsonObject,
};

const fromRow = (r: Selectable<CoversTable>): CoverRecord => {
  const at = (column: string) => ({ table: 'covers', column, row: r.id });
  return {
    ...r,
    coins: parseJson(schemas.coins, r.coins, at('coins')),
    lora: parseJsonOr(schemas.lora, r.lora, null, at('lora')),
    palette: parseJson(schemas.palette, r.palette, at('palette')),
    logo: parseJsonOr(schemas.logo, r.logo, null, at('logo')),
    text_box: parseJsonOr(schemas.text_box, r.text_box, null, at('text_box')),
    loras: parseJsonOr(schemas.loras, r.loras, [], at('loras')),
    meta: parseJsonOr(schemas.meta, r.meta, {}, at('meta')),
  };
};

export interface CoversRepo {
  /** Insert a cover. The blob must already be written (records never point at missing blobs). */
  insert(c: NewCover): Promise<CoverRecord>;
  get(id: string): Promise<CoverRecord | undefined>;
  /** Most recent first; optionally only covers whose primary coin is `symbol`. */
  recent(limit: number, symbol?: string | null): Promise<CoverRecord[]>;
  /** How many covers there are (optionally: made by one batch). */
  count(filter?: { batch_id?: string }): Promise<number>;
}

export function createCoversRepo({ db, sql, now }: RepoContext): CoversRepo {
  return {
    async insert(c) {
      const rec: CoverRecord = { ...c, id: c.id ?? `cov_${randomUUID()}`, created_at: c.created_at ?? now().toISOString() };
      await db
        .insertInto('covers')
        .values({
          id: rec.id,
          created_at: rec.created_at,
          title: rec.title,
          subtitle: rec.subtitle,
          coins: JSON.stringify(rec.coins),
          primary_symbol: rec.primary_symbol,
          lora: rec.lora ? JSON.stringify(rec.lora) : null,
          seed: rec.seed,
          width: rec.width,
          height: rec.height,
          style: rec.style,
          palette: JSON.stringify(rec.palette),
          logo: rec.logo ? JSON.stringify(rec.logo) : null,
          text_box: rec.text_box ? JSON.stringify(rec.text_box) : null,
          backend: rec.backend,
          checkpoint: rec.checkpoint,
          loras: JSON.stringify(rec.loras),
          batch_id: rec.batch_id,
          blob_sha256: rec.blob_sha256,
          blob_path: rec.blob_path,
          meta: JSON.stringify(rec.meta),
        })
        .execute();
      return rec;
    },
    async get(id) {
      const r = await db.selectFrom('covers').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? fromRow(r) : undefined;
    },
    async recent(limit, symbol) {
      let q = db.selectFrom('covers').selectAll();
      if (symbol !== undefined) q = symbol === null ? q.where('primary_symbol', 'is', null) : q.where('primary_symbol', '=', symbol);
      const rows = await q.orderBy('created_at', 'desc').orderBy(sql.insertionOrder('covers'), 'desc').limit(limit).execute();
      return rows.map(fromRow);
    },
    async count(filter = {}) {
      let q = db.selectFrom('covers').select((eb) => eb.fn.countAll<number>().as('n'));
      if (filter.batch_id !== undefined) q = q.where('batch_id', '=', filter.batch_id);
      return Number((await q.executeTakeFirstOrThrow()).n);
    },
  };
}
