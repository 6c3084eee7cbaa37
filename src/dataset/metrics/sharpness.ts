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

/** Measure edge widths on a grey image (values 0..255). */
export function edgeSharpness(grey: Float32Array, w: number, h: number): EdgeSharpness {
  // Preallocated (at most one edge per pixel): this runs for every image of a dataset.
  const across = new Float32Array(w * h);
  const down = new Float32Array(w * h);
  let na = 0;
  let nd = 0;
  for (let y = 1; y < h - 1; y++) {
    const row = y * w;
    // Every other pixel, in a checkerboard: half the work, and still thousands of edges on a photo (the
    // quartile barely moves), so this stays cheap next to decoding.
    for (let x = 1 + ((y + 1) & 1); x < w - 1; x += 2) {
      const i = row + x;
      const gx = (grey[i + 1] as number) - (grey[i - 1] as number);
      const gy = (grey[i + w] as number) - (grey[i - w] as number);
      const ax = Math.abs(gx);
      const ay = Math.abs(gy);
      if (ax >= ay) {
        // A vertical edge: keep only the gradient's local maximum along the row (the edge centre).
        if (ax < 8 || ax < Math.abs((grey[i + 2] as number) - (grey[i] as number)) || ax < Math.abs((grey[i] as number) - (grey[i - 2] as number))) continue;
        const r = widthAt(grey, i, 1, gx > 0 ? 1 : -1, row, row + w - 1);
        if (r.rise >= MIN_STEP) across[na++] = r.width;
      } else {
        if (ay < 8 || (y + 2 < h && ay < Math.abs((grey[i + 2 * w] as number) - (grey[i] as number))) || (y >= 2 && ay < Math.abs((grey[i] as number) - (grey[i - 2 * w] as number)))) continue;
        const r = widthAt(grey, i, w, gy > 0 ? 1 : -1, x, x + (h - 1) * w);
        if (r.rise >= MIN_STEP) down[nd++] = r.width;
      }
    }
  }
  const widths: number[] = [];
  if (na >= MIN_EDGES) widths.push(quantile(across, na, QUANTILE));
  if (nd >= MIN_EDGES) widths.push(quantile(down, nd, QUANTILE));
  return { edgeWidth: widths.length ? Math.round(Math.max(...widths) * 100) / 100 : 0, edges: na + nd };
}
