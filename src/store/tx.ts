import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * The database transaction behind a transaction's repos. Only store code asks (the job queue settles a job
 * inside the caller's transaction); a WeakMap keeps it off the Repos type every caller sees.
 */
const handles = new WeakMap<object, Kysely<Database>>();

export function bindTransaction(repos: object, trx: Kysely<Database>): void {
  handles.set(repos, trx);
}

export function transactionOf(repos: object): Kysely<Database> | undefined {
  return handles.get(repos);
}
