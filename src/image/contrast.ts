/**
 * Text contrast against the real pixels behind it (WCAG 2.x ratio). The worst pixel counts: a title must
 * stay readable over the brightest streak of a pattern, not just over the average colour.
 */
import { LINEAR_LUT, contrastRatio, hexToLch, hexToRgb, lchToHex, relativeLuminance } from './color.js';

/** The WCAG AA threshold for normal text. */
export const MIN_CONTRAST = 4.5;

/** Text colours the renderer chooses between. */
export const LIGHT_TEXT = '#ffffff';
export const DARK_TEXT = '#101218';

/**
 * Worst (lowest) contrast of `textColor` against any pixel of `rgb` (packed r,g,b triples).
 * Contrast falls as a pixel's luminance approaches the text's, so only the brightest pixel darker than the
 * text and the darkest pixel brighter than it can be the worst: one pass, no per-pixel ratio.
 */
export function worstContrast(rgb: Uint8Array, textColor: string): number {
  const lt = relativeLuminance(hexToRgb(textColor));
  let below = -1;
  let above = 2;
  for (let i = 0; i < rgb.length; i += 3) {
    const l = 0.2126 * LINEAR_LUT[rgb[i]!]! + 0.7152 * LINEAR_LUT[rgb[i + 1]!]! + 0.0722 * LINEAR_LUT[rgb[i + 2]!]!;
    if (l <= lt) {
      if (l > below) below = l;
    } else if (l < above) above = l;
  }
  let worst = 21;
  if (below >= 0) worst = Math.min(worst, contrastRatio(lt, below));
  if (above <= 1) worst = Math.min(worst, contrastRatio(lt, above));
  return worst;
}

/** Luminance range of packed RGB pixels. */
function lumRange(rgb: Uint8Array): { lo: number; hi: number; lum: Float32Array } {
  const lum = new Float32Array(rgb.length / 3);
  let lo = 1;
  let hi = 0;
  for (let i = 0, j = 0; i < rgb.length; i += 3, j++) {
    const l = 0.2126 * LINEAR_LUT[rgb[i]!]! + 0.7152 * LINEAR_LUT[rgb[i + 1]!]! + 0.0722 * LINEAR_LUT[rgb[i + 2]!]!;
    lum[j] = l;
    if (l < lo) lo = l;
    if (l > hi) hi = l;
  }
  return { lo, hi, lum };
}

/**
 * The pixels that can decide the scrim: for light text the brightest quarter of the luminance range, for
 * dark text the darkest. A uniform scrim keeps luminance order nearly intact, so the far end cannot become the
 * worst; the renderer re-measures every pixel afterwards anyway.
 */
function extremes(rgb: Uint8Array, range: { lo: number; hi: number; lum: Float32Array }, light: boolean): Uint8Array {
  const cut = light ? range.lo + (range.hi - range.lo) * 0.75 : range.lo + (range.hi - range.lo) * 0.25;
  const out = new Uint8Array(rgb.length);
  let o = 0;
  const lum = range.lum;
  for (let j = 0; j < lum.length; j++) {
    if (light ? lum[j]! >= cut : lum[j]! <= cut) {
      out[o++] = rgb[j * 3]!;
      out[o++] = rgb[j * 3 + 1]!;
      out[o++] = rgb[j * 3 + 2]!;
    }
  }
  return out.subarray(0, o);
}

/** Worst contrast of a text colour against pixels whose luminance spans [lo, hi]. */
export function worstContrastInRange(textColor: string, range: { lo: number; hi: number }): number {
  return worstFromRange(relativeLuminance(hexToRgb(textColor)), range.lo, range.hi);
}

/** Worst contrast of a text luminance against a luminance range (the range's ends are the worst pixels). */
function worstFromRange(lt: number, lo: number, hi: number): number {
  if (lt >= hi) return contrastRatio(lt, hi);
  if (lt <= lo) return contrastRatio(lt, lo);
  return 1;
}

/** The pixels after a scrim of `color` at `alpha` (same rounding as raster.fillRoundedRect), into `out`. */
function withScrim(rgb: Uint8Array, color: string, alpha: number, out: Uint8ClampedArray): Uint8Array {
  const s = hexToRgb(color);
  for (let i = 0; i < rgb.length; i += 3) {
    out[i] = rgb[i]! + (s.r - rgb[i]!) * alpha;
    out[i + 1] = rgb[i + 1]! + (s.g - rgb[i + 1]!) * alpha;
    out[i + 2] = rgb[i + 2]! + (s.b - rgb[i + 2]!) * alpha;
  }
  return new Uint8Array(out.buffer, out.byteOffset, rgb.length);
}

/** What to draw: a text colour, and a scrim when the background alone is not enough. */
export interface ContrastPlan {
  textColor: string;
  /** Predicted worst contrast after the scrim. */
  predicted: number;
  scrim: { color: string; alpha: number } | null;
}

/**
 * Pick the text colour with the better worst-case contrast; if it is below target, find the smallest scrim
 * opacity (bisection) that lifts the worst pixel above it. The scrim is a tinted near-black (or near-white)
 * taken from the palette so it reads as part of the design.
 */
export function planContrast(
  rgb: Uint8Array,
  tintHex: string,
  target = MIN_CONTRAST + 0.1,
  forceText?: string,
): ContrastPlan {
  const range = lumRange(rgb);
  const lLight = relativeLuminance(hexToRgb(LIGHT_TEXT));
  const lDark = relativeLuminance(hexToRgb(DARK_TEXT));
  const light = worstFromRange(lLight, range.lo, range.hi);
  const dark = worstFromRange(lDark, range.lo, range.hi);
  const textColor = forceText ?? (light >= dark ? LIGHT_TEXT : DARK_TEXT);
  const base = textColor === LIGHT_TEXT ? light : dark;
  if (base >= target) return { textColor, predicted: base, scrim: null };
  const tint = hexToLch(tintHex);
  const scrimColor =
    textColor === LIGHT_TEXT
      ? lchToHex({ L: 0.14, C: Math.min(0.035, tint.C), h: tint.h })
      : lchToHex({ L: 0.97, C: Math.min(0.015, tint.C), h: tint.h });
  const cand = extremes(rgb, range, textColor === LIGHT_TEXT);
  const buf = new Uint8ClampedArray(cand.length);
  let lo = 0;
  let hi = 0.95;
  for (let i = 0; i < 12; i++) {
    const mid = (lo + hi) / 2;
    if (worstContrast(withScrim(cand, scrimColor, mid, buf), textColor) >= target) hi = mid;
    else lo = mid;
  }
  // Round up to a tidy opacity with a little headroom; never fully opaque so the background shows through.
  const alpha = Math.min(0.95, Math.ceil((hi + 0.03) * 50) / 50);
  const after = withScrim(rgb, scrimColor, alpha, new Uint8ClampedArray(rgb.length));
  return { textColor, predicted: worstContrast(after, textColor), scrim: { color: scrimColor, alpha } };
}
