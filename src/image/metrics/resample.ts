/**
 * Area-average (box) resampling on plain arrays. Used to bring any decoded image to the fixed working
 * size of the metrics and to the tiny grids of the perceptual hashes. Area averaging is the right filter
 * for shrinking: every source pixel counts in proportion to its overlap, so no aliasing, no ringing.
 */

/** Per output index: the source indices it covers and their overlap weights (summing to 1). */
interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array[];
}

function taps(srcLen: number, dstLen: number): Taps {
  const scale = srcLen / dstLen;
  const start = new Int32Array(dstLen);
  const count = new Int32Array(dstLen);
  const weights: Float32Array[] = [];
  for (let o = 0; o < dstLen; o++) {
    const a = o * scale;
    const b = Math.min(srcLen, (o + 1) * scale);
    const first = Math.floor(a);
    const last = Math.min(srcLen - 1, Math.ceil(b) - 1);
    const w = new Float32Array(last - first + 1);
    for (let i = first; i <= last; i++) {
      const overlap = Math.min(b, i + 1) - Math.max(a, i);
      w[i - first] = overlap / (b - a);
    }
    start[o] = first;
    count[o] = w.length;
    weights.push(w);
  }
  return { start, count, weights };
}

/**
 * Shrink an interleaved image (`ch` channels, any numeric array) to `dw` x `dh` by area averaging.
 * Enlarging also works (it degenerates to nearest-neighbour), but callers only shrink.
 */
export function resampleArea(
  src: ArrayLike<number>,
  w: number,
  h: number,
  ch: number,
  dw: number,
  dh: number,
): Float32Array {
  const tx = taps(w, dw);
  const ty = taps(h, dh);
  // Horizontal pass: h rows of dw pixels.
  const mid = new Float32Array(h * dw * ch);
  for (let y = 0; y < h; y++) {
    const row = y * w * ch;
    for (let x = 0; x < dw; x++) {
      const s = tx.start[x] as number;
      const n = tx.count[x] as number;
      const wt = tx.weights[x] as Float32Array;
      const o = (y * dw + x) * ch;
      for (let c = 0; c < ch; c++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += (src[row + (s + k) * ch + c] as number) * (wt[k] as number);
        mid[o + c] = acc;
      }
    }
  }
  // Vertical pass.
  const out = new Float32Array(dh * dw * ch);
  for (let y = 0; y < dh; y++) {
    const s = ty.start[y] as number;
    const n = ty.count[y] as number;
    const wt = ty.weights[y] as Float32Array;
    for (let i = 0; i < dw * ch; i++) {
      let acc = 0;
      for (let k = 0; k < n; k++) acc += (mid[(s + k) * dw * ch + i] as number) * (wt[k] as number);
      out[y * dw * ch + i] = acc;
    }
  }
  return out;
}

/** Size that fits inside `max` x `max` keeping the aspect ratio, never enlarging, at least 1x1. */
export function fitInside(w: number, h: number, max: number): { width: number; height: number } {
  if (w <= max && h <= max) return { width: w, height: h };
  const s = max / Math.max(w, h);
  return { width: Math.max(1, Math.round(w * s)), height: Math.max(1, Math.round(h * s)) };
}
