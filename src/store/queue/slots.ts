/**
 * GPU server slots shared by every worker on every host: one PostgreSQL session advisory lock per slot, held on
 * a connection of this process's own. PostgreSQL drops a session's locks when the session ends, so a worker
 * that is killed (or cut off) gives its slots back by itself, as soon as the server sees its connection go.
 */
import type { Client } from 'pg';
import type { Logger } from '../../core/logger.js';
import { lockKeysFor } from './keys.js';
import type { SlotLocks } from './types.js';

/** Advisory lock namespace of GPU slots ("slot"); the migration lock uses another. */
const SLOT_NAMESPACE = 0x736c6f74;

export function createSlotLocks(url: string, logger: Pick<Logger, 'warn'>): SlotLocks {
  let connecting: Promise<Client> | undefined;
  let healthy = true;
  const held = new Set<string>();
  // One query at a time on the session: pg queues them anyway, but says so with a deprecation warning.
  let chain: Promise<unknown> = Promise.resolve();
  const query = <R>(run: (c: Client) => Promise<R>): Promise<R> => {
    const next = chain.then(async () => run(await client()));
    chain = next.catch(() => undefined);
    return next;
  };
  const client = (): Promise<Client> =>
    (connecting ??= (async () => {
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: url, application_name: 'loraloop-slots', keepAlive: true });
      c.on('error', (e) => {
        // Every lock went with the session: say so, and let the next acquire open a new one.
        logger.warn('lost the GPU slot connection; its slots are free again', { error: e.message, slots: held.size });
        healthy = false;
        held.clear();
        connecting = undefined;
      });
      await c.connect();
      healthy = true;
      return c;
    })().catch((e: unknown) => {
      connecting = undefined;
      throw e;
    }));
  return {
    get healthy() {
      return healthy;
    },
    async tryAcquire(key) {
      if (held.has(key)) return true;
      const [a, b] = lockKeysFor(SLOT_NAMESPACE, key);
      const r = await query((c) => c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [a, b]));
      const ok = r.rows[0]?.ok === true;
      if (ok) held.add(key);
      return ok;
    },
    async release(key) {
      if (!held.delete(key)) return;
      const [a, b] = lockKeysFor(SLOT_NAMESPACE, key);
      await query((c) => c.query('SELECT pg_advisory_unlock($1, $2)', [a, b]));
    },
    async close() {
      const c = connecting;
      connecting = undefined;
      held.clear();
      if (c) await (await c.catch(() => undefined))?.end().catch(() => undefined);
    },
  };
}
