/**
 * True when `e` is a unique-constraint violation on `table`, in either database's words: better-sqlite3 says
 * `UNIQUE constraint failed: <table>.<column>` (code SQLITE_CONSTRAINT_UNIQUE), pg gives SQLSTATE 23505 with the
 * table name. Callers turn it into their own CONFLICT or DUPLICATE_IMAGE.
 */
export function isUniqueViolation(e: unknown, table: string, column?: string): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const o = e as { code?: unknown; table?: unknown; constraint?: unknown; message?: unknown };
  if (o.code === '23505') {
    if (o.table !== table) return false;
    return column === undefined || (typeof o.constraint === 'string' && o.constraint.includes(column));
  }
  const message = typeof o.message === 'string' ? o.message : '';
  const m = /UNIQUE constraint failed: (.*)$/m.exec(message);
  if (!m) return false;
  const cols = (m[1] ?? '').split(',').map((c) => c.trim());
  return cols.some((c) => c.startsWith(`${table}.`) && (column === undefined || c === `${table}.${column}`));
}
