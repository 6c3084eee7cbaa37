import type { Kysely } from 'kysely';
import type { DialectSql } from './backend.js';
import type { Database } from './schema.js';

/** What a repository is built on: the database (or one transaction of it), the dialect's SQL, and the clock. */
export interface RepoContext {
  db: Kysely<Database>;
  sql: DialectSql;
  now: () => Date;
  /**
   * Run `fn` atomically: in a write transaction of its own, or, for repos bound to a transaction, inside that
   * one (SQLite has no nested transactions, and the caller's transaction already makes it atomic).
   */
  atomic<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T>;
}
