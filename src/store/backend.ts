import type { Kysely, RawBuilder, SqlBool } from 'kysely';
import type { Migration } from './migrations/types.js';
import type { Database } from './schema.js';

/**
 * What differs between databases, and nothing else: how to connect, the migrations written for it, how to run
 * one, and the few SQL fragments that have no portable spelling. Repos are written once against Kysely and this.
 * SQLite (better-sqlite3, one file per host, the default) and PostgreSQL (LORALOOP_DATABASE_URL, shared by hosts).
 */
export interface StoreBackend {
  /** Connects lazily, on the first query. Its `transaction()` takes the write lock first (see sqlite.ts). */
  db: Kysely<Database>;
  sql: DialectSql;
  /** This backend's own migration files, any order (they are sorted by id). */
  migrations: readonly Migration[];
  /** Run one migration's SQL inside the transaction `trx` that also records it. */
  applyMigration(trx: Kysely<Database>, m: Migration): Promise<void>;
  /**
   * Run `fn` as one write transaction, committed when it resolves and rolled back when it throws. SQLite takes
   * the write lock first; PostgreSQL runs it SERIALIZABLE and runs it again after a serialization failure, so
   * `fn` must do nothing but database work.
   */
  transaction<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Run the migrations under a lock that lets one process at a time apply them (`db` is what to use inside). */
  migrationLock<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  /** The error to report when the database cannot be opened or migrated (it names the database, never a password). */
  openError?(e: unknown): Error;
  close(): Promise<void>;
}

/** SQL that each dialect spells its own way. */
export interface DialectSql {
  /** Insertion order of a table's rows: the tie-breaker where several rows share a timestamp. */
  insertionOrder(table: keyof Database): RawBuilder<number>;
  /** True when the JSON array of strings in `table.column` holds `value`, ignoring case. */
  jsonArrayHasCaseless(table: keyof Database, column: string, value: string): RawBuilder<SqlBool>;
}
