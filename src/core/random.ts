/**
 * Seeded randomness. Every random choice a cover makes comes from here, so the same seed and inputs give
 * the same bytes (never Math.random or the clock).
 */

/** A deterministic random source. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [min, max). */
  range(min: number, max: number): number;
  /** Integer in [min, max] inclusive. */
  int(min: number, max: number): number;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** true with probability p. */
  chance(p: number): boolean;
  /** An independent stream for a named sub-task (so adding a draw in one place does not shift others). */
  fork(label: string): Rng;
}

/** 32-bit FNV-1a of a string: stable across platforms and Node versions. */
export function hashString(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** mulberry32: small, fast, good enough for layout and colour choices. */
export function createRng(seed: number): Rng {
  let state = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    range: (min, max) => min + (max - min) * next(),
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => {
      const v = items[Math.floor(next() * items.length)];
      if (v === undefined) throw new RangeError('pick() needs a non-empty array');
      return v;
    },
    chance: (p) => next() < p,
    fork: (label) => createRng(hashString(label, (Math.trunc(seed) ^ 0x5bd1e995) >>> 0)),
  };
  return rng;
}
