import { randomBytes } from 'node:crypto';
import type { Db } from '../db.js';

/** A single-use upload URL's server side: which project it feeds, how big it may be, until when. */
export interface UploadSlot {
  id: string;
  lora_id: string;
  max_bytes: number;
  expires_at: string;
  used_at: string | null;
  result: unknown;
}

export interface UploadSlotsRepo {
  create(s: { lora_id: string; max_bytes: number; ttlSeconds: number }): UploadSlot;
  get(id: string): UploadSlot | undefined;
  /** Mark the slot used; false when it was used already or has expired (only one PUT ever wins). */
  take(id: string): boolean;
  finish(id: string, result: unknown): void;
}

interface Row extends Omit<UploadSlot, 'result'> {
  result: string | null;
}

export function createUploadSlotsRepo(db: Db, now: () => Date = () => new Date()): UploadSlotsRepo {
  const ins = db.prepare('INSERT INTO upload_slots (id, lora_id, max_bytes, expires_at) VALUES (?, ?, ?, ?)');
  const one = db.prepare('SELECT * FROM upload_slots WHERE id = ?');
  const take = db.prepare('UPDATE upload_slots SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at >= ?');
  const fin = db.prepare('UPDATE upload_slots SET result = ? WHERE id = ?');
  const parse = (r: Row | undefined): UploadSlot | undefined => (r ? { ...r, result: r.result ? (JSON.parse(r.result) as unknown) : null } : undefined);
  return {
    create(s) {
      const id = `up_${randomBytes(16).toString('base64url')}`;
      const expires = new Date(now().getTime() + s.ttlSeconds * 1000).toISOString();
      ins.run(id, s.lora_id, s.max_bytes, expires);
      return parse(one.get(id) as Row)!;
    },
    get: (id) => parse(one.get(id) as Row | undefined),
    take: (id) => {
      const t = now().toISOString();
      return take.run(t, id, t).changes === 1;
    },
    finish: (id, result) => void fin.run(JSON.stringify(result), id),
  };
}
