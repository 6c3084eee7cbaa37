import { randomUUID } from 'node:crypto';
import type { Db } from '../db.js';

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

type Json = string | null;
const j = <T>(s: Json, d: T): T => (s === null || s === undefined ? d : (JSON.parse(s) as T));

function loraFromRow(r: Record<string, unknown>): LoraRecord {
  return {
    ...(r as unknown as LoraRecord),
    coins: j(r.coins as Json, []),
    targets: j(r.targets as Json, null),
    vocabulary: j(r.vocabulary as Json, null),
  };
}
function imageFromRow(r: Record<string, unknown>): LoraImageRecord {
  return {
    ...(r as unknown as LoraImageRecord),
    tags: j(r.tags as Json, []),
    categories: j(r.categories as Json, null),
    excluded: r.excluded === 1,
    warnings: j(r.warnings as Json, []),
  };
}
function versionFromRow(r: Record<string, unknown>): LoraVersionRecord {
  return { ...(r as unknown as LoraVersionRecord), inspection: j(r.inspection as Json, null), params: j(r.params as Json, {}) };
}

export interface LorasRepo {
  create(l: Pick<LoraRecord, 'name' | 'base_model' | 'asset_type' | 'trigger_word'> & Partial<Pick<LoraRecord, 'description' | 'coins' | 'targets' | 'vocabulary' | 'status'>>): LoraRecord;
  get(id: string): LoraRecord | undefined;
  getByName(name: string): LoraRecord | undefined;
  /** By id or, failing that, by name. */
  find(idOrName: string): LoraRecord | undefined;
  list(filter?: { base_model?: string; asset_type?: string; status?: string; coin?: string }): LoraRecord[];
  update(id: string, patch: Partial<Omit<LoraRecord, 'id' | 'created_at' | 'updated_at'>>): LoraRecord;
  delete(id: string): void;

  addImage(img: Omit<LoraImageRecord, 'id' | 'created_at' | 'excluded' | 'warnings' | 'categories' | 'derived_from' | 'caption_source'> & Partial<Pick<LoraImageRecord, 'id' | 'excluded' | 'warnings' | 'categories' | 'derived_from' | 'caption_source'>>): LoraImageRecord;
  getImage(id: string): LoraImageRecord | undefined;
  findImageByPixelHash(loraId: string, pixelHash: string): LoraImageRecord | undefined;
  listImages(loraId: string, opts?: { includeExcluded?: boolean }): LoraImageRecord[];
  updateImage(id: string, patch: Partial<Pick<LoraImageRecord, 'caption' | 'caption_status' | 'caption_source' | 'tags' | 'categories' | 'excluded'>>): LoraImageRecord;
  deleteImage(id: string): void;
  countImages(loraId: string): number;

  /** Add the next version (max+1) atomically; two processes cannot both make v2. */
  addVersion(v: Omit<LoraVersionRecord, 'id' | 'version' | 'created_at'>): LoraVersionRecord;
  getVersion(loraId: string, version: number): LoraVersionRecord | undefined;
  listVersions(loraId: string): LoraVersionRecord[];
  updateVersion(id: string, patch: Partial<Pick<LoraVersionRecord, 'status' | 'file_sha256' | 'file_path' | 'file_bytes' | 'inspection' | 'remote_version' | 'weights_url'>>): LoraVersionRecord;
  deleteVersion(id: string): void;
  /** How many version rows (any LoRA) point at this file blob. */
  countFileRefs(fileSha256: string): number;
}

export function createLorasRepo(db: Db, now: () => Date = () => new Date()): LorasRepo {
  const t = () => now().toISOString();
  const repo: LorasRepo = {
    create(l) {
      const id = `lora_${randomUUID()}`;
      const ts = t();
      db.prepare(`INSERT INTO loras (id, name, description, base_model, asset_type, trigger_word, status, coins, targets, vocabulary,
        active_version, default_strength, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,NULL,NULL,?,?)`).run(
        id, l.name, l.description ?? null, l.base_model, l.asset_type, l.trigger_word, l.status ?? 'created',
        JSON.stringify(l.coins ?? []), l.targets ? JSON.stringify(l.targets) : null, l.vocabulary ? JSON.stringify(l.vocabulary) : null, ts, ts,
      );
      return repo.get(id)!;
    },
    get(id) {
      const r = db.prepare('SELECT * FROM loras WHERE id = ?').get(id) as Record<string, unknown> | undefined;
      return r ? loraFromRow(r) : undefined;
    },
    getByName(name) {
      const r = db.prepare('SELECT * FROM loras WHERE name = ?').get(name) as Record<string, unknown> | undefined;
      return r ? loraFromRow(r) : undefined;
    },
    find: (idOrName) => repo.get(idOrName) ?? repo.getByName(idOrName),
    list(filter = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      for (const k of ['base_model', 'asset_type', 'status'] as const) {
        if (filter[k]) {
          where.push(`${k} = ?`);
          args.push(filter[k]);
        }
      }
      if (filter.coin) {
        where.push('EXISTS (SELECT 1 FROM json_each(loras.coins) WHERE upper(json_each.value) = upper(?))');
        args.push(filter.coin);
      }
      const rows = db.prepare(`SELECT * FROM loras ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY name`).all(...args) as Record<string, unknown>[];
      return rows.map(loraFromRow);
    },
    update(id, patch) {
      const cols: string[] = [];
      const args: unknown[] = [];
      for (const [k, v] of Object.entries(patch)) {
        cols.push(`${k} = ?`);
        args.push(k === 'coins' || k === 'targets' || k === 'vocabulary' ? (v === null ? null : JSON.stringify(v)) : v);
      }
      cols.push('updated_at = ?');
      args.push(t(), id);
      db.prepare(`UPDATE loras SET ${cols.join(', ')} WHERE id = ?`).run(...args);
      return repo.get(id)!;
    },
    delete: (id) => void db.prepare('DELETE FROM loras WHERE id = ?').run(id),

    addImage(img) {
      const id = img.id ?? `img_${randomUUID()}`;
      db.prepare(`INSERT INTO lora_images (id, lora_id, blob_sha256, blob_path, pixel_hash, width, height, format, source, file_name,
        caption, caption_status, caption_source, tags, categories, derived_from, excluded, warnings, created_at)
        VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`).run(
        id, img.lora_id, img.blob_sha256, img.blob_path, img.pixel_hash, img.width, img.height, img.format, img.source, img.file_name,
        img.caption, img.caption_status, img.caption_source ?? null, JSON.stringify(img.tags), img.categories ? JSON.stringify(img.categories) : null,
        img.derived_from ?? null, img.excluded ? 1 : 0, JSON.stringify(img.warnings ?? []), t(),
      );
      return repo.getImage(id)!;
    },
    getImage(id) {
      const r = db.prepare('SELECT * FROM lora_images WHERE id = ?').get(id) as Record<string, unknown> | undefined;
      return r ? imageFromRow(r) : undefined;
    },
    findImageByPixelHash(loraId, pixelHash) {
      const r = db.prepare('SELECT * FROM lora_images WHERE lora_id = ? AND pixel_hash = ?').get(loraId, pixelHash) as Record<string, unknown> | undefined;
      return r ? imageFromRow(r) : undefined;
    },
    listImages(loraId, opts = {}) {
      const rows = db
        .prepare(`SELECT * FROM lora_images WHERE lora_id = ? ${opts.includeExcluded ? '' : 'AND excluded = 0'} ORDER BY created_at, rowid`)
        .all(loraId) as Record<string, unknown>[];
      return rows.map(imageFromRow);
    },
    updateImage(id, patch) {
      const cols: string[] = [];
      const args: unknown[] = [];
      for (const [k, v] of Object.entries(patch)) {
        cols.push(`${k} = ?`);
        args.push(k === 'tags' || k === 'categories' ? (v === null ? null : JSON.stringify(v)) : k === 'excluded' ? (v ? 1 : 0) : v);
      }
      if (cols.length) db.prepare(`UPDATE lora_images SET ${cols.join(', ')} WHERE id = ?`).run(...args, id);
      return repo.getImage(id)!;
    },
    deleteImage: (id) => void db.prepare('DELETE FROM lora_images WHERE id = ?').run(id),
    countImages: (loraId) => (db.prepare('SELECT COUNT(*) AS n FROM lora_images WHERE lora_id = ? AND excluded = 0').get(loraId) as { n: number }).n,

    addVersion(v) {
      const id = `ver_${randomUUID()}`;
      const tx = db.transaction(() => {
        const max = (db.prepare('SELECT COALESCE(MAX(version), 0) AS m FROM lora_versions WHERE lora_id = ?').get(v.lora_id) as { m: number }).m;
        db.prepare(`INSERT INTO lora_versions (id, lora_id, version, status, file_sha256, file_path, file_bytes, inspection, params, job_id, backend,
          remote_version, weights_url, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`).run(
          id, v.lora_id, max + 1, v.status, v.file_sha256, v.file_path, v.file_bytes, v.inspection ? JSON.stringify(v.inspection) : null,
          JSON.stringify(v.params ?? {}), v.job_id, v.backend, v.remote_version, v.weights_url, t(),
        );
      });
      tx.immediate();
      return versionFromRow(db.prepare('SELECT * FROM lora_versions WHERE id = ?').get(id) as Record<string, unknown>);
    },
    getVersion(loraId, version) {
      const r = db.prepare('SELECT * FROM lora_versions WHERE lora_id = ? AND version = ?').get(loraId, version) as Record<string, unknown> | undefined;
      return r ? versionFromRow(r) : undefined;
    },
    listVersions: (loraId) =>
      (db.prepare('SELECT * FROM lora_versions WHERE lora_id = ? ORDER BY version').all(loraId) as Record<string, unknown>[]).map(versionFromRow),
    updateVersion(id, patch) {
      const cols: string[] = [];
      const args: unknown[] = [];
      for (const [k, v] of Object.entries(patch)) {
        cols.push(`${k} = ?`);
        args.push(k === 'inspection' ? (v === null ? null : JSON.stringify(v)) : v);
      }
      if (cols.length) db.prepare(`UPDATE lora_versions SET ${cols.join(', ')} WHERE id = ?`).run(...args, id);
      return versionFromRow(db.prepare('SELECT * FROM lora_versions WHERE id = ?').get(id) as Record<string, unknown>);
    },
    deleteVersion: (id) => void db.prepare('DELETE FROM lora_versions WHERE id = ?').run(id),
    countFileRefs: (sha) => (db.prepare('SELECT COUNT(*) AS n FROM lora_versions WHERE file_sha256 = ?').get(sha) as { n: number }).n,
  };
  return repo;
}
