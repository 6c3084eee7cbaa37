import { createHash } from 'node:crypto';

/**
 * The job id an idempotency key stands for: a UUID (pg-boss ids are uuid) made from a hash of the queue and
 * key, so every process that sends the same key names the same job and the database keeps one.
 */
export function jobIdFor(queue: string, key: string): string {
  const h = createHash('sha256').update(`${queue}\u0000${key}`).digest('hex');
  // Version 8 (custom) UUID layout: the version and variant nibbles are fixed, the rest is the hash.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16] ?? '0', 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Two signed 32-bit halves of a hash of `key`: the two-key form of PostgreSQL's advisory locks. */
export function lockKeysFor(namespace: number, key: string): [number, number] {
  const h = createHash('sha256').update(key).digest();
  return [namespace | 0, h.readInt32BE(0)];
}
