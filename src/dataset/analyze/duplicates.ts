/**
 * Exact and near duplicates as groups. Exact: the same bytes (or the same pixels, for stored images).
 * Near: perceptual hashes within a Hamming distance, confirmed by the difference hash, so flat graphics that
 * merely share a layout are not lumped together. Pairwise over compact 2x32-bit hashes: 5,000 images are
 * 12.5 M comparisons, a few tens of milliseconds.
 */

/** Hashes of one image. */
export interface HashEntry {
  key: string;
  /** 16 hex digits each (metrics.ts phash/dhash). */
  phash: string;
  dhash: string;
  /** Exact identity (sha256 of bytes or pixels), when known. */
  exact?: string;
}

/** Options for {@link duplicateGroups}. */
export interface DuplicateOptions {
  /** Largest pHash distance of near duplicates (default 6 of 64 bits). */
  phashDistance?: number;
  /** Largest dHash distance confirming a near duplicate (default 10). */
  dhashDistance?: number;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

function split(hex: string): [number, number] {
  return [parseInt(hex.slice(0, 8), 16) >>> 0, parseInt(hex.slice(8, 16), 16) >>> 0];
}

/** Groups of duplicate keys (each group sorted by input order, groups by their first member). */
export function duplicateGroups(entries: HashEntry[], opts: DuplicateOptions = {}): string[][] {
  const pd = opts.phashDistance ?? 6;
  const dd = opts.dhashDistance ?? 10;
  const n = entries.length;
  const parent = new Int32Array(n).map((_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x] as number] as number;
      x = parent[x] as number;
    }
    return x;
  };
  const union = (a: number, b: number): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  const exact = new Map<string, number>();
  const ph = new Uint32Array(n * 2);
  const dh = new Uint32Array(n * 2);
  entries.forEach((e, i) => {
    if (e.exact) {
      const j = exact.get(e.exact);
      if (j !== undefined) union(j, i);
      else exact.set(e.exact, i);
    }
    const [a, b] = split(e.phash);
    const [c, d] = split(e.dhash);
    ph[i * 2] = a;
    ph[i * 2 + 1] = b;
    dh[i * 2] = c;
    dh[i * 2 + 1] = d;
  });
  for (let i = 0; i < n; i++) {
    const a0 = ph[i * 2] as number;
    const a1 = ph[i * 2 + 1] as number;
    for (let j = i + 1; j < n; j++) {
      const d = popcount((a0 ^ (ph[j * 2] as number)) >>> 0) + popcount((a1 ^ (ph[j * 2 + 1] as number)) >>> 0);
      if (d > pd) continue;
      const e = popcount(((dh[i * 2] as number) ^ (dh[j * 2] as number)) >>> 0) + popcount(((dh[i * 2 + 1] as number) ^ (dh[j * 2 + 1] as number)) >>> 0);
      if (e <= dd) union(i, j);
    }
  }
  const groups = new Map<number, string[]>();
  for (let i = 0; i < n; i++) {
    const r = find(i);
    const g = groups.get(r);
    if (g) g.push((entries[i] as HashEntry).key);
    else groups.set(r, [(entries[i] as HashEntry).key]);
  }
  return [...groups.values()].filter((g) => g.length > 1);
}
