import type { Db } from '../db.js';

/** Small JSON settings and counters that are not worth a table of their own. */
export interface KvRepo {
  get<T>(key: string): T | undefined;
  set(key: string, value: unknown): void;
}

export function createKvRepo(db: Db, now: () => Date = () => new Date()): KvRepo {
  const g = db.prepare('SELECT value FROM kv WHERE key = ?');
  const s = db.prepare(`INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?)
    ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`);
  return {
    get<T>(key: string) {
      const r = g.get(key) as { value: string } | undefined;
      return r ? (JSON.parse(r.value) as T) : undefined;
    },
    set: (key, value) => void s.run(key, JSON.stringify(value), now().toISOString()),
  };
}
