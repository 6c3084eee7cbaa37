import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable, Updateable } from 'kysely';
import { z } from 'zod';
import type { RepoContext } from '../context.js';
import { jsonObject, parseJson, parseJsonOr, stringArray } from '../json.js';
import type { Database, LoraImagesTable, LorasTable, LoraVersionsTable } from '../schema.js';

export type BaseModelName = 'flux' | 'sdxl' | 'sd15';
export type LoraStatus = 'created' | 'uploading' | 'training' | 'ready' | 'failed';

/** A LoRA project: a name in the registry, its trigger word, its images and its versions. */
export interface LoraRecord {
  id: string;
  name: string;
  description: string | null;
  base_model: BaseModelName;
  asset_type: string;
  trigger_word: string;
  status: LoraStatus;
  coins: string[];
  targets: Record<string, [number, number]> | null;
  vocabulary: Record<string, string> | null;
  active_version: number | null;
  default_strength: number | null;
  created_at: string;
  updated_at: string;
}

export interface LoraImageRecord {
  id: string;
  lora_id: string;
  blob_sha256: string;
  blob_path: string;
  pixel_hash: string;
  width: number;
  height: number;
  format: string;
  source: string;
  file_name: string;
  caption: string | null;
  caption_status: 'ok' | 'pending';
  caption_source: string | null;
  tags: string[];
  categories: string[] | null;
  derived_from: string | null;
  excluded: boolean;
  warnings: string[];
  created_at: string;
}

export interface LoraVersionRecord {
  id: string;
  lora_id: string;
  version: number;
  status: 'ready' | 'candidate' | 'rejected';
  file_sha256: string | null;
  file_path: string | null;
  file_bytes: number | null;
  inspection: Record<string, unknown> | null;
  params: Record<string, unknown>;
  job_id: string | null;
  backend: string | null;
  remote_version: string | null;
  weights_url: string | null;
  created_at: string;
}

const targets = z.record(z.string(), z.tuple([z.number(), z.number()]));
const vocabulary = z.record(z.string(), z.string());

function loraFromRow(r: Selectable<LorasTable>): LoraRecord {
  const at = (column: string) => ({ table: 'loras', column, row: r.id });
  return {
    ...r,
    base_model: r.base_model as BaseModelName,
    status: r.status as LoraStatus,
    coins: parseJson(stringArray, r.coins, at('coins')),
    targets: parseJsonOr(targets, r.targets, null, at('targets')),
    vocabulary: parseJsonOr(vocabulary, r.vocabulary, null, at('vocabulary')),
  };
}
function imageFromRow(r: Selectable<LoraImagesTable>): LoraImageRecord {
  const at = (column: string) => ({ table: 'lora_images', column, row: r.id });
  return {
    ...r,
    caption_status: r.caption_status as LoraImageRecord['caption_status'],
    tags: parseJson(stringArray, r.tags, at('tags')),
    categories: parseJsonOr(stringArray, r.categories, null, at('categories')),
    excluded: r.excluded === 1,
    warnings: parseJson(stringArray, r.warnings, at('warnings')),
  };
}
function versionFromRow(r: Selectable<LoraVersionsTable>): LoraVersionRecord {
  const at = (column: string) => ({ table: 'lora_versions', column, row: r.id });
  return {
    ...r,
    status: r.status as LoraVersionRecord['status'],
    inspection: parseJsonOr(jsonObject, r.inspection, null, at('inspection')),
    params: parseJson(jsonObject, r.params, at('params')),
  };
}

/** A patch as columns: JSON fields serialised, booleans as 0/1, and an explicit undefined clearing the column. */
function toColumns(patch: Record<string, unknown>, json: readonly string[], flags: readonly string[] = []): Record<string, unknown> {
  const set: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (json.includes(k)) set[k] = v === null || v === undefined ? null : JSON.stringify(v);
    else if (flags.includes(k)) set[k] = v ? 1 : 0;
    else set[k] = v ?? null;
  }
  return set;
}

export interface LorasRepo {
  create(l: Pick<LoraRecord, 'name' | 'base_model' | 'asset_type' | 'trigger_word'> & Partial<Pick<LoraRecord, 'description' | 'coins' | 'targets' | 'vocabulary' | 'status'>>): Promise<LoraRecord>;
  get(id: string): Promise<LoraRecord | undefined>;
  getByName(name: string): Promise<LoraRecord | undefined>;
  /** By id or, failing that, by name. */
  find(idOrName: string): Promise<LoraRecord | undefined>;
  list(filter?: { base_model?: string; asset_type?: string; status?: string; coin?: string }): Promise<LoraRecord[]>;
  update(id: string, patch: Partial<Omit<LoraRecord, 'id' | 'created_at' | 'updated_at'>>): Promise<LoraRecord>;
  delete(id: string): Promise<void>;

  addImage(img: Omit<LoraImageRecord, 'id' | 'created_at' | 'excluded' | 'warnings' | 'categories' | 'derived_from' | 'caption_source'> & Partial<Pick<LoraImageRecord, 'id' | 'excluded' | 'warnings' | 'categories' | 'derived_from' | 'caption_source'>>): Promise<LoraImageRecord>;
  getImage(id: string): Promise<LoraImageRecord | undefined>;
  findImageByPixelHash(loraId: string, pixelHash: string): Promise<LoraImageRecord | undefined>;
  listImages(loraId: string, opts?: { includeExcluded?: boolean }): Promise<LoraImageRecord[]>;
  updateImage(id: string, patch: Partial<Pick<LoraImageRecord, 'caption' | 'caption_status' | 'caption_source' | 'tags' | 'categories' | 'excluded'>>): Promise<LoraImageRecord>;
  deleteImage(id: string): Promise<void>;
  countImages(loraId: string): Promise<number>;

  /** Add the next version (max+1) atomically; two processes cannot both make v2. */
  addVersion(v: Omit<LoraVersionRecord, 'id' | 'version' | 'created_at'>): Promise<LoraVersionRecord>;
  getVersion(loraId: string, version: number): Promise<LoraVersionRecord | undefined>;
  listVersions(loraId: string): Promise<LoraVersionRecord[]>;
  updateVersion(id: string, patch: Partial<Pick<LoraVersionRecord, 'status' | 'file_sha256' | 'file_path' | 'file_bytes' | 'inspection' | 'remote_version' | 'weights_url'>>): Promise<LoraVersionRecord>;
  deleteVersion(id: string): Promise<void>;
  /** How many version rows (any LoRA) point at this file blob. */
  countFileRefs(fileSha256: string): Promise<number>;
}

export function createLorasRepo({ db, sql, now, atomic }: RepoContext): LorasRepo {
  const t = () => now().toISOString();
  const getLora = async (on: Kysely<Database>, id: string) => {
    const r = await on.selectFrom('loras').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? loraFromRow(r) : undefined;
  };
  const getByName = async (name: string) => {
    const r = await db.selectFrom('loras').selectAll().where('name', '=', name).executeTakeFirst();
    return r ? loraFromRow(r) : undefined;
  };
  const getImage = async (id: string) => {
    const r = await db.selectFrom('lora_images').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? imageFromRow(r) : undefined;
  };
  const versionById = async (on: Kysely<Database>, id: string) =>
    versionFromRow(await on.selectFrom('lora_versions').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
  return {
    async create(l) {
      const id = `lora_${randomUUID()}`;
      const ts = t();
      await db
        .insertInto('loras')
        .values({
          id,
          name: l.name,
          description: l.description ?? null,
          base_model: l.base_model,
          asset_type: l.asset_type,
          trigger_word: l.trigger_word,
          status: l.status ?? 'created',
          coins: JSON.stringify(l.coins ?? []),
          targets: l.targets ? JSON.stringify(l.targets) : null,
          vocabulary: l.vocabulary ? JSON.stringify(l.vocabulary) : null,
          active_version: null,
          default_strength: null,
          created_at: ts,
          updated_at: ts,
        })
        .execute();
      return (await getLora(db, id))!;
    },
    get: (id) => getLora(db, id),
    getByName,
    find: async (idOrName) => (await getLora(db, idOrName)) ?? (await getByName(idOrName)),
    async list(filter = {}) {
      let q = db.selectFrom('loras').selectAll();
      for (const k of ['base_model', 'asset_type', 'status'] as const) {
        const v = filter[k];
        if (v) q = q.where(k, '=', v);
      }
      if (filter.coin) q = q.where(sql.jsonArrayHasCaseless('loras', 'coins', filter.coin));
      return (await q.orderBy('name').execute()).map(loraFromRow);
    },
    async update(id, patch) {
      await db
        .updateTable('loras')
        .set({ ...(toColumns(patch, ['coins', 'targets', 'vocabulary']) as Updateable<LorasTable>), updated_at: t() })
        .where('id', '=', id)
        .execute();
      return (await getLora(db, id))!;
    },
    async delete(id) {
      await db.deleteFrom('loras').where('id', '=', id).execute();
    },

    async addImage(img) {
      const id = img.id ?? `img_${randomUUID()}`;
      await db
        .insertInto('lora_images')
        .values({
          id,
          lora_id: img.lora_id,
          blob_sha256: img.blob_sha256,
          blob_path: img.blob_path,
          pixel_hash: img.pixel_hash,
          width: img.width,
          height: img.height,
          format: img.format,
          source: img.source,
          file_name: img.file_name,
          caption: img.caption,
          caption_status: img.caption_status,
          caption_source: img.caption_source ?? null,
          tags: JSON.stringify(img.tags),
          categories: img.categories ? JSON.stringify(img.categories) : null,
          derived_from: img.derived_from ?? null,
          excluded: img.excluded ? 1 : 0,
          warnings: JSON.stringify(img.warnings ?? []),
          created_at: t(),
        })
        .execute();
      return (await getImage(id))!;
    },
    getImage,
    async findImageByPixelHash(loraId, pixelHash) {
      const r = await db.selectFrom('lora_images').selectAll().where('lora_id', '=', loraId).where('pixel_hash', '=', pixelHash).executeTakeFirst();
      return r ? imageFromRow(r) : undefined;
    },
    async listImages(loraId, opts = {}) {
      let q = db.selectFrom('lora_images').selectAll().where('lora_id', '=', loraId);
      if (!opts.includeExcluded) q = q.where('excluded', '=', 0);
      return (await q.orderBy('created_at').orderBy(sql.insertionOrder('lora_images')).execute()).map(imageFromRow);
    },
    async updateImage(id, patch) {
      const set = toColumns(patch, ['tags', 'categories'], ['excluded']) as Updateable<LoraImagesTable>;
      if (Object.keys(set).length) await db.updateTable('lora_images').set(set).where('id', '=', id).execute();
      return (await getImage(id))!;
    },
    async deleteImage(id) {
      await db.deleteFrom('lora_images').where('id', '=', id).execute();
    },
    async countImages(loraId) {
      const r = await db
        .selectFrom('lora_images')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('lora_id', '=', loraId)
        .where('excluded', '=', 0)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },

    addVersion: (v) =>
      atomic(async (tx) => {
        const id = `ver_${randomUUID()}`;
        const max = await tx
          .selectFrom('lora_versions')
          .select((eb) => eb.fn.coalesce(eb.fn.max('version'), eb.lit(0)).as('m'))
          .where('lora_id', '=', v.lora_id)
          .executeTakeFirstOrThrow();
        await tx
          .insertInto('lora_versions')
          .values({
            id,
            lora_id: v.lora_id,
            version: Number(max.m) + 1,
            status: v.status,
            file_sha256: v.file_sha256,
            file_path: v.file_path,
            file_bytes: v.file_bytes,
            inspection: v.inspection ? JSON.stringify(v.inspection) : null,
            params: JSON.stringify(v.params ?? {}),
            job_id: v.job_id,
            backend: v.backend,
            remote_version: v.remote_version,
            weights_url: v.weights_url,
            created_at: t(),
          })
          .execute();
        return versionById(tx, id);
      }),
    async getVersion(loraId, version) {
      const r = await db.selectFrom('lora_versions').selectAll().where('lora_id', '=', loraId).where('version', '=', version).executeTakeFirst();
      return r ? versionFromRow(r) : undefined;
    },
    listVersions: async (loraId) =>
      (await db.selectFrom('lora_versions').selectAll().where('lora_id', '=', loraId).orderBy('version').execute()).map(versionFromRow),
    async updateVersion(id, patch) {
      const set = toColumns(patch, ['inspection']) as Updateable<LoraVersionsTable>;
      if (Object.keys(set).length) await db.updateTable('lora_versions').set(set).where('id', '=', id).execute();
      return versionById(db, id);
    },
    async deleteVersion(id) {
      await db.deleteFrom('lora_versions').where('id', '=', id).execute();
    },
    async countFileRefs(sha) {
      const r = await db
        .selectFrom('lora_versions')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('file_sha256', '=', sha)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },
  };
}
