import type { RepoContext } from '../context.js';

/** Named leases shared by every process on the host (e.g. "improve_run": only one nightly run at a time). */
export interface LeasesRepo {
  /** Take or renew the lease; false when another owner holds an unexpired one. */
  acquire(name: string, owner: string, ttlMs: number): Promise<boolean>;
  release(name: string, owner: string): Promise<void>;
  holder(name: string): Promise<{ owner: string; expires_at: string } | undefined>;
}

export function createLeasesRepo({ db, now }: RepoContext): LeasesRepo {
  return {
    async acquire(name, owner, ttlMs) {
      const t = now();
      // One statement: the row is inserted, or taken over only when it is ours or expired; RETURNING says which.
      const won = await db
        .insertInto('leases')
        .values({ name, owner, expires_at: new Date(t.getTime() + ttlMs).toISOString() })
        .onConflict((oc) =>
          oc
            .column('name')
            .doUpdateSet((eb) => ({ owner: eb.ref('excluded.owner'), expires_at: eb.ref('excluded.expires_at') }))
            .where((eb) => eb.or([eb('leases.owner', '=', eb.ref('excluded.owner')), eb('leases.expires_at', '<', t.toISOString())])),
        )
        .returning('name')
        .executeTakeFirst();
      return won !== undefined;
    },
    async release(name, owner) {
      await db.deleteFrom('leases').where('name', '=', name).where('owner', '=', owner).execute();
    },
    holder: (name) => db.selectFrom('leases').select(['owner', 'expires_at']).where('name', '=', name).executeTakeFirst(),
  };
}
