import type { Kysely, RawBuilder, SqlBool } from 'kysely';
import type { Migration } from './migrations/types.js';
import type { Database } from './schema.js';

/**
 * What differs between databases, and nothing else: how to connect, the migrations written for it, how to run
 * one, and the few SQL fragments that have no portable spelling. Repos are written once against Kysely and this.
 * SQLite (better-sqlite3, one file per host) is the only backend today; PostgreSQL is the planned second.
 */
export interface StoreBackend {
  /** Connects lazily, on the first query. Its `transaction()` takes the write lock first (see sqlite.ts). */
  db: Kysely<Database>;
  sql: DialectSql;
  /** This backend's own migration files, any order (they are sorted by id). */
  migrations: readonly Migration[];
  /** Run one migration's SQL inside the transaction `trx` that also records it. */
  applyMigration(trx: Kysely<Database>, m: Migration): Promise<void>;
  close(): Promise<void>;
}

/** SQL that each dialect spells its own way. */
export interface DialectSql {
  /** Insertion order of a table's rows: the tie-breaker where several rows share a timestamp. */
  insertionOrder(table: keyof Database): RawBuilder<number>;
  /** True when the JSON array of strings in `table.column` holds `value`, ignoring case. */
  jsonArrayHasCaseless(table: keyof Database, column: string, value: string): RawBuilder<SqlBool>;
}
