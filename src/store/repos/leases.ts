import type { Db } from '../db.js';

/** Named leases shared by every process on the host (e.g. "improve_run": only one nightly run at a time). */
export interface LeasesRepo {
  /** Take or renew the lease; false when another owner holds an unexpired one. */
  acquire(name: string, owner: string, ttlMs: number): boolean;
  release(name: string, owner: string): void;
  holder(name: string): { owner: string; expires_at: string } | undefined;
}

export function createLeasesRepo(db: Db, now: () => Date = () => new Date()): LeasesRepo {
  const get = db.prepare('SELECT owner, expires_at FROM leases WHERE name = ?');
  const upsert = db.prepare(`INSERT INTO leases (name, owner, expires_at) VALUES (@name, @owner, @exp)
    ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
    WHERE leases.owner = excluded.owner OR leases.expires_at < @now`);
  const del = db.prepare('DELETE FROM leases WHERE name = ? AND owner = ?');
  return {
    acquire(name, owner, ttlMs) {
      const t = now();
      const res = upsert.run({ name, owner, exp: new Date(t.getTime() + ttlMs).toISOString(), now: t.toISOString() });
      return res.changes === 1;
    },
    release: (name, owner) => void del.run(name, owner),
    holder: (name) => get.get(name) as { owner: string; expires_at: string } | undefined,
  };
}
