import type { Kysely } from 'kysely';
import type { StoreBackend } from './backend.js';
import type { Database } from './schema.js';

/**
 * Apply pending migrations in id order, each in its own write transaction that checks again whether it is
 * applied: the transaction takes the write lock first (BEGIN IMMEDIATE on SQLite), so two processes starting at
 * once cannot both apply a migration; the second waits, then sees it recorded.
 */
export async function migrate(backend: StoreBackend, at: () => Date = () => new Date()): Promise<void> {
  await backend.migrationLock((db) => migrateOn(backend, db, at));
}

async function migrateOn(backend: StoreBackend, db: Kysely<Database>, at: () => Date): Promise<void> {
  await db.schema
    .createTable('schema_migrations')
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('applied_at', 'text', (c) => c.notNull())
    .execute();
  const applied = new Set((await db.selectFrom('schema_migrations').select('id').execute()).map((r) => r.id));
  const pending = [...backend.migrations].filter((m) => !applied.has(m.id)).sort((a, b) => a.id.localeCompare(b.id));
  for (const m of pending) {
    await db.transaction().execute(async (trx) => {
      if (await trx.selectFrom('schema_migrations').select('id').where('id', '=', m.id).executeTakeFirst()) return;
      await backend.applyMigration(trx, m);
      await trx.insertInto('schema_migrations').values({ id: m.id, applied_at: at().toISOString() }).execute();
    });
  }
}
