/**
 * JSON columns are read through zod, so a row damaged by hand, by another program or by a bug surfaces as a
 * STORE_ERROR naming the table, column and row, instead of a TypeError somewhere far from the store.
 * Objects are loose: keys the schema does not name are kept, as they were before the schemas existed.
 */
import { z } from 'zod';
import { LoraloopError } from '../core/errors.js';

/** Which cell a JSON value came from (for the error message). */
export interface JsonCell {
  table: string;
  column: string;
  /** The row's key, e.g. its id. */
  row: string;
}

export function parseJson<T>(schema: z.ZodType<T>, text: string, cell: JsonCell): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw corrupt(cell, `not JSON (${(e as Error).message})`, e);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw corrupt(cell, z.prettifyError(parsed.error).replace(/\n/g, '; '), parsed.error);
  return parsed.data;
}

/** A nullable JSON column: null (or absent) gives `fallback`. */
export function parseJsonOr<T, F>(schema: z.ZodType<T>, text: string | null | undefined, fallback: F, cell: JsonCell): T | F {
  return text === null || text === undefined ? fallback : parseJson(schema, text, cell);
}

function corrupt(cell: JsonCell, reason: string, cause: unknown): LoraloopError {
  return new LoraloopError('STORE_ERROR', `The stored ${cell.table}.${cell.column} of ${cell.row} is corrupt: ${reason}.`, {
    hint: 'The database row was damaged or written by something else; restore it from a backup or delete that row.',
    details: { table: cell.table, column: cell.column, row: cell.row },
    cause,
  });
}

/** Schemas shared by several tables. */
export const jsonObject = z.record(z.string(), z.unknown());
export const stringArray = z.array(z.string());
export const box = z.looseObject({ x: z.number(), y: z.number(), width: z.number(), height: z.number() });
export const palette = z.looseObject({ colors: z.array(z.string()), scheme: z.string() });
