/**
 * Perceptual hashes for near-duplicate detection, computed like the `imagehash` Python library so the
 * numbers mean the same thing people know from it:
 * - pHash: grey 32x32 (area average, aspect ignored), 2-D DCT-II, the 8x8 lowest frequencies (DC included),
 *   one bit per coefficient: above the median of those 64 or not. 64 bits as 16 hex digits.
 * - dHash: grey 9x8, one bit per horizontal neighbour pair: right brighter than left.
 * Hamming distance <= ~10 of 64 usually means "the same picture" (resized, recompressed, slightly edited).
 */
import { LoraloopError } from '../../core/errors.js';
import { resampleArea } from './resample.js';

const N = 32;
const K = 8;
/** cos(pi * k * (2n + 1) / 2N) for k < 8, n < 32. */
const COS: Float64Array = (() => {
  const t = new Float64Array(K * N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) t[k * N + n] = Math.cos((Math.PI * k * (2 * n + 1)) / (2 * N));
  return t;
})();

/** Pack 64 booleans (MSB first, row-major) into 16 hex digits. */
function bitsToHex(bits: boolean[]): string {
  let hex = '';
  for (let i = 0; i < bits.length; i += 4) {
    const v = (bits[i] ? 8 : 0) | (bits[i + 1] ? 4 : 0) | (bits[i + 2] ? 2 : 0) | (bits[i + 3] ? 1 : 0);
    hex += v.toString(16);
  }
  return hex;
}

/** 64-bit DCT perceptual hash of a grey image (values 0..255), as 16 hex digits. */
export function phashOf(grey: ArrayLike<number>, w: number, h: number): string {
  const small = resampleArea(grey, w, h, 1, N, N);
  // Separable DCT, only the 8 lowest frequencies in each direction are needed.
  const rows = new Float64Array(N * K); // [y][u]
  for (let y = 0; y < N; y++) {
    for (let u = 0; u < K; u++) {
      let acc = 0;
      for (let x = 0; x < N; x++) acc += (small[y * N + x] as number) * (COS[u * N + x] as number);
      rows[y * K + u] = acc;
    }
  }
  const coeffs = new Float64Array(K * K); // [v][u]
  for (let v = 0; v < K; v++) {
    for (let u = 0; u < K; u++) {
      let acc = 0;
      for (let y = 0; y < N; y++) acc += (rows[y * K + u] as number) * (COS[v * N + y] as number);
      coeffs[v * K + u] = acc;
    }
  }
  const sorted = Array.from(coeffs).sort((a, b) => a - b);
  const median = ((sorted[31] as number) + (sorted[32] as number)) / 2;
  return bitsToHex(Array.from(coeffs, (c) => c > median));
}

/** 64-bit difference hash of a grey image (values 0..255), as 16 hex digits. */
export function dhashOf(grey: ArrayLike<number>, w: number, h: number): string {
  const small = resampleArea(grey, w, h, 1, 9, 8);
  const bits: boolean[] = [];
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) bits.push((small[y * 9 + x + 1] as number) > (small[y * 9 + x] as number));
  }
  return bitsToHex(bits);
}

const POP = [0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4];

/** Number of differing bits between two hex hashes of the same length (0 = identical). */
export function hamming(a: string, b: string): number {
  if (a.length !== b.length || !/^[0-9a-f]*$/i.test(a) || !/^[0-9a-f]*$/i.test(b)) {
    throw new LoraloopError('INVALID_INPUT', `Cannot compare hashes "${a}" and "${b}": they must be hex strings of equal length.`, {
      hint: 'Compare two hashes of the same kind (both phash or both dhash).',
    });
  }
  let d = 0;
  for (let i = 0; i < a.length; i++) d += POP[parseInt(a[i] as string, 16) ^ parseInt(b[i] as string, 16)] as number;
  return d;
}
