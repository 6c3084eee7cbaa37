/**
 * Sharpness from the width of edges (Marziliano et al., "A no-reference perceptual blur metric", 2002):
 * at each strong edge, walk across it along the gradient (horizontally for vertical edges, vertically for
 * horizontal ones) to where the intensity stops rising or falling; the distance is the edge's width.
 * Crisp edges are 1-2 px wide whatever the picture shows, so a flat icon or a vector illustration with few
 * but crisp edges reads as sharp, which the Laplacian variance of the whole image (low for anything with
 * large flat areas) cannot tell from a defocused photo. Widths are measured separately for the two walking
 * directions and the wider one counts: a horizontal camera shake widens only the vertical edges.
 */

/** What {@link edgeSharpness} measured. */
export interface EdgeSharpness {
  /**
   * Width of the crisper edges (first quartile) in pixels of the working image (<= 256 px long side), in
   * the blurrier direction. About 1-2 crisp (vector art, in-focus photos), above ~3 visibly soft. 0 when
   * there are too few edges to judge.
   */
  edgeWidth: number;
  /** Edges measured (both directions). */
  edges: number;
}

/** Edges whose step (intensity change across them) is below this are texture or noise, not edges. */
const MIN_STEP = 24;
/** Fewer edges than this in a direction and that direction is not judged. */
const MIN_EDGES = 20;
/** Longest walk from an edge centre to either side. */
const MAX_WALK = 12;

/**
 * The crispest quarter of the edges decides: a portrait with a soft, out-of-focus background still has
 * crisp edges on its subject, while a defocused or shaken picture has none anywhere.
 */
const QUANTILE = 0.25;

/** The q-quantile of the first `n` values (sorts them in place; typed-array sort is numeric and fast). */
function quantile(values: Float32Array, n: number, q: number): number {
  if (n === 0) return 0;
  const s = values.subarray(0, n).sort();
  return s[Math.min(n - 1, Math.floor(q * n))] as number;
}

/**
 * Width of the edge at `i` walking with `step` (1: horizontally, w: vertically): from the centre, walk both
 * ways while the intensity keeps moving in the edge's direction; the ends are the local extremes.
 */
function widthAt(g: Float32Array, i: number, step: number, sign: number, lo: number, hi: number): { width: number; rise: number } {
  let a = i;
  let n = 0;
  let slope = 0;
  while (n < MAX_WALK && a - step >= lo) {
    const d = sign * ((g[a] as number) - (g[a - step] as number));
    if (d <= 0) break;
    if (d > slope) slope = d;
    a -= step;
    n++;
  }
  let b = i;
  n = 0;
  while (n < MAX_WALK && b + step <= hi) {
    const d = sign * ((g[b + step] as number) - (g[b] as number));
    if (d <= 0) break;
    if (d > slope) slope = d;
    b += step;
    n++;
  }
  const rise = sign * ((g[b] as number) - (g[a] as number));
  // Rise over the steepest one-pixel step: 1 for a perfect step edge, about 2.5 sigma for a Gaussian blur.
  // Continuous, unlike counting the pixels between the extremes.
  return { width: slope > 0 ? rise / slope : 0, rise };
}

/** Rows (and columns) scanned: every STRIDE-th. A photo still yields a thousand edges or more per direction. */
const STRIDE = 3;

/**
 * Scan one line (a row: step 1, or a column: step w) for edge centres: the central difference is at least 8
 * levels, a local maximum along the line, and larger than the difference across the line (so the edge runs
 * across the walking direction). Each centre's width goes to `out` from `n`; returns the new count.
 */
function scanLine(g: Float32Array, start: number, len: number, step: number, across: number, out: Float32Array, n: number): number {
  const lo = start;
  const hi = start + (len - 1) * step;
  let prev = 0;
  let cur = (g[start + 2 * step] as number) - (g[start] as number); // difference at index 1
  for (let k = 1; k < len - 1; k++) {
    const i = start + k * step;
    const next = k + 2 < len ? (g[i + 2 * step] as number) - (g[i] as number) : 0;
    const a = cur < 0 ? -cur : cur;
    if (a >= 8 && a >= (prev < 0 ? -prev : prev) && a > (next < 0 ? -next : next)) {
      const o = (g[i + across] as number) - (g[i - across] as number);
      if (a >= (o < 0 ? -o : o)) {
        const r = widthAt(g, i, step, cur > 0 ? 1 : -1, lo, hi);
        if (r.rise >= MIN_STEP) out[n++] = r.width;
      }
    }
    prev = cur;
    cur = next;
  }
  return n;
}

/** Measure edge widths on a grey image (values 0..255). */
export function edgeSharpness(grey: Float32Array, w: number, h: number): EdgeSharpness {
  if (w < 5 || h < 5) return { edgeWidth: 0, edges: 0 };
  // Preallocated (at most one edge per pixel scanned): this runs for every image of a dataset.
  const across = new Float32Array(Math.ceil(h / STRIDE) * w);
  const down = new Float32Array(Math.ceil(w / STRIDE) * h);
  let na = 0;
  let nd = 0;
  // Vertical edges, walking along rows; horizontal edges, walking down columns.
  for (let y = 1; y < h - 1; y += STRIDE) na = scanLine(grey, y * w, w, 1, w, across, na);
  for (let x = 1; x < w - 1; x += STRIDE) nd = scanLine(grey, x, h, w, 1, down, nd);
  const widths: number[] = [];
  if (na >= MIN_EDGES) widths.push(quantile(across, na, QUANTILE));
  if (nd >= MIN_EDGES) widths.push(quantile(down, nd, QUANTILE));
  return { edgeWidth: widths.length ? Math.round(Math.max(...widths) * 100) / 100 : 0, edges: na + nd };
}
