/**
 * Palettes and the variety engine.
 *
 * A palette is 3-5 hex colours with a role per position, which the background styles rely on:
 *   colors[0] base (largest area), colors[1] secondary area, colors[2] accent (the coin's brand colour or
 *   close to it), colors[3] highlight, colors[4] optional extra.
 * Candidates are derived from the coin's brand colour in OKLCH (hue rotations for the classic schemes, plus
 * lightness families), then the variety engine picks one that is far from every recently used palette.
 */
import {
  deltaEOk,
  hexToLch,
  hexToOklab,
  isHex,
  lchToHex,
  oklabToLch,
  rgbToOklab,
  type Lab,
  type Lch,
} from './color.js';
import { createRng, hashString, type Rng } from '../core/random.js';

/** A cover's colour scheme. */
export interface Palette {
  /** 3-5 hex colours: base, secondary, accent, highlight[, extra]. */
  colors: string[];
  /** How the colours were derived, e.g. 'analogous', 'complementary', 'monochrome', 'extracted'. */
  scheme: string;
}

/** How much each role counts in paletteDistance: roughly the share of the cover each role paints. */
export const PALETTE_ROLE_WEIGHTS = [3, 2, 1, 1, 0.5] as const;

/**
 * Distance between two palettes, in OKLab units (deltaE OK; ~0.02 is a just-noticeable difference).
 *
 * Definition: a role-weighted mean of per-role colour differences,
 *   d(A, B) = sum_i w_i * |A_i - B_i| / sum_i w_i,   i = 0 .. max(|A|, |B|) - 1
 * where |x - y| is the Euclidean distance in OKLab, w = PALETTE_ROLE_WEIGHTS (base 3, secondary 2, accent 1,
 * highlight 1, extra 0.5) and a palette shorter than the other repeats its last colour. Roles, not sets:
 * the base colour covers most of a cover, so two palettes that share colours in different roles look
 * different and score so (a set distance such as Chamfer would call them close). Symmetric, 0 only for equal
 * palettes, ignores the `scheme` label. Rough scale: < 0.04 reads as the same scheme, 0.1+ as a visibly
 * different one, 0.3+ as a different world (e.g. dark vs light).
 */
export function paletteDistance(a: Palette, b: Palette): number {
  const A = labsOf(a);
  const B = labsOf(b);
  if (A.length === 0 || B.length === 0) return A.length === B.length ? 0 : 1;
  const n = Math.max(A.length, B.length);
  let sum = 0;
  let wsum = 0;
  for (let i = 0; i < n; i++) {
    const w = PALETTE_ROLE_WEIGHTS[Math.min(i, PALETTE_ROLE_WEIGHTS.length - 1)]!;
    sum += w * deltaEOk(A[Math.min(i, A.length - 1)]!, B[Math.min(i, B.length - 1)]!);
    wsum += w;
  }
  return sum / wsum;
}

const labCache = new WeakMap<Palette, Lab[]>();

/** OKLab of a palette's colours, cached per palette object (the variety engine compares each one often). */
function labsOf(p: Palette): Lab[] {
  let labs = labCache.get(p);
  if (!labs || labs.length !== p.colors.length) {
    labs = p.colors.filter(isHex).map(hexToOklab);
    labCache.set(p, labs);
  }
  return labs;
}

/** Dark palettes get light text and vice versa; the renderer still measures the real pixels. */
export function isDarkPalette(p: Palette): boolean {
  const L = p.colors.slice(0, 2).map((c) => hexToLch(c).L);
  const mean = L.reduce((s, v) => s + v, 0) / Math.max(1, L.length);
  return mean < 0.6;
}

/** Options of the variety engine. */
export interface ChoosePaletteOptions {
  /** Palettes of the last covers (newest last); the choice keeps away from all of them. */
  recent?: readonly Palette[];
  /** Minimum paletteDistance to every recent palette (default DEFAULT_MIN_PALETTE_DISTANCE). */
  minDistance?: number;
  /** How many candidates to derive (default 48). */
  candidates?: number;
}

/** Default threshold of the variety engine (see paletteDistance for the scale). */
export const DEFAULT_MIN_PALETTE_DISTANCE = 0.1;

/** The result of the variety engine, with the figures behind the choice. */
export interface PaletteChoice {
  palette: Palette;
  /** Smallest distance to any recent palette (Infinity when there were none). */
  minDistanceToRecent: number;
  /** false when no candidate cleared the threshold and the farthest one was taken instead. */
  clearedThreshold: boolean;
}

/**
 * The variety engine: derive candidates from the brand colour, keep those whose distance to every recent
 * palette exceeds the threshold, and pick one with the seeded generator (deterministic for seed + inputs).
 * When no candidate clears the whole history, the window shrinks to the newer half, then quarter, ... down to
 * the last cover, so the latest covers are always avoided first; only if even that fails does the candidate
 * farthest from the recent set win.
 */
export function choosePalette(brandColor: string, seed: number, options: ChoosePaletteOptions = {}): PaletteChoice {
  const rng = createRng(seed).fork('palette');
  const recent = options.recent ?? [];
  const min = options.minDistance ?? DEFAULT_MIN_PALETTE_DISTANCE;
  const n = Math.max(4, options.candidates ?? 48);
  const cands: Palette[] = [];
  for (let i = 0; i < n; i++) cands.push(derivePalette(brandColor, rng));
  if (recent.length === 0) return { palette: rng.pick(cands), minDistanceToRecent: Infinity, clearedThreshold: true };
  // Distance of each candidate to each recent palette, newest first.
  const newestFirst = [...recent].reverse();
  const dist = cands.map((p) => newestFirst.map((r) => paletteDistance(p, r)));
  const minOver = (row: number[], k: number): number => Math.min(...row.slice(0, k));
  for (let k = newestFirst.length; k >= 1; k = k === 1 ? 0 : Math.ceil(k / 2)) {
    const passing = cands.map((p, i) => ({ p, i })).filter(({ i }) => minOver(dist[i]!, k) > min);
    if (passing.length > 0) {
      const chosen = rng.pick(passing);
      return {
        palette: chosen.p,
        minDistanceToRecent: minOver(dist[chosen.i]!, newestFirst.length),
        clearedThreshold: k === newestFirst.length,
      };
    }
  }
  let best = 0;
  dist.forEach((row, i) => {
    if (Math.min(...row) > Math.min(...dist[best]!)) best = i;
  });
  return { palette: cands[best]!, minDistanceToRecent: Math.min(...dist[best]!), clearedThreshold: false };
}

/** Hue relations: offsets (degrees from the brand hue) of the base, secondary and highlight colours. */
const SCHEMES: Record<string, readonly [number, number, number]> = {
  monochrome: [0, 0, 0],
  analogous: [-35, 35, 60],
  'analogous-warm': [35, -35, -60],
  complementary: [180, 180, 0],
  'split-complementary': [150, 210, 150],
  triadic: [120, 240, 120],
  tetradic: [90, 180, 270],
  duotone: [0, 180, 180],
  'accent-contrast': [180, 0, 180],
};

/** The scheme names derivePalette can produce (a tone suffix is added, e.g. 'triadic-dark'). */
export const PALETTE_SCHEMES = Object.keys(SCHEMES);

/**
 * Tone families: lightness/chroma ranges of the base and secondary colours. Dark covers dominate news
 * feeds, but deep, vivid and light ones keep a run of covers from looking alike.
 */
const TONES = {
  dark: { weight: 0.4, base: [0.13, 0.24, 0.03, 0.11], sec: [0.28, 0.42, 0.07, 0.16], hiL: 0.9 },
  deep: { weight: 0.22, base: [0.3, 0.42, 0.08, 0.16], sec: [0.45, 0.58, 0.1, 0.18], hiL: 0.92 },
  vivid: { weight: 0.16, base: [0.56, 0.7, 0.12, 0.2], sec: [0.42, 0.55, 0.12, 0.2], hiL: 0.95 },
  light: { weight: 0.12, base: [0.9, 0.97, 0.01, 0.05], sec: [0.78, 0.88, 0.04, 0.1], hiL: 0.42 },
  pastel: { weight: 0.1, base: [0.8, 0.88, 0.06, 0.12], sec: [0.68, 0.78, 0.08, 0.14], hiL: 0.35 },
} as const;
type Tone = keyof typeof TONES;

function pickTone(rng: Rng): Tone {
  let r = rng.next();
  for (const [k, v] of Object.entries(TONES) as Array<[Tone, (typeof TONES)[Tone]]>) {
    r -= v.weight;
    if (r < 0) return k;
  }
  return 'dark';
}

/** A brand colour usable as a hue anchor: grey or missing brand colours get a hue from the symbol. */
export function brandAnchor(brandColor: string | undefined, symbol: string): Lch {
  const fromHash: Lch = { L: 0.62, C: 0.14, h: hashString(symbol.toUpperCase()) % 360 };
  if (!brandColor || !isHex(brandColor)) return fromHash;
  const lch = hexToLch(brandColor);
  // Near-grey brands (white, black, silver) have no usable hue: keep their lightness, borrow a hue.
  if (lch.C < 0.03) return { L: lch.L, C: lch.C, h: fromHash.h };
  return lch;
}

/** One candidate palette for a brand colour; `rng` decides the scheme, the tone and the jitter. */
export function derivePalette(brandColor: string, rng: Rng): Palette {
  const brand = hexToLch(brandColor);
  const h = brand.h;
  const schemeName = rng.pick(PALETTE_SCHEMES);
  const [hb, hs, hh] = SCHEMES[schemeName] ?? [0, 0, 0];
  const toneName = pickTone(rng);
  const tone = TONES[toneName];
  const j = (deg: number): number => h + deg + rng.range(-18, 18);
  const base = lchToHex({ L: rng.range(tone.base[0], tone.base[1]), C: rng.range(tone.base[2], tone.base[3]), h: j(hb) });
  const sec = lchToHex({ L: rng.range(tone.sec[0], tone.sec[1]), C: rng.range(tone.sec[2], tone.sec[3]), h: j(hs) });
  const accent = lchToHex({ L: clamp(brand.L, 0.45, 0.85), C: brand.C, h });
  const highlight = lchToHex({ L: tone.hiL, C: rng.range(0.03, 0.1), h: j(hh) });
  const colors = [base, sec, accent, highlight];
  if (rng.chance(0.35)) {
    colors.push(lchToHex({ L: rng.range(tone.sec[0], tone.sec[1]), C: rng.range(0.06, 0.16), h: j(hh + 20) }));
  }
  return { colors, scheme: `${schemeName}-${toneName}` };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/**
 * A palette measured from an image (for covers composed on another backend's picture): 4 colours from a
 * small k-means in OKLab over an RGBA thumbnail, darkest first. Deterministic (fixed initialisation).
 */
export function extractPalette(rgba: Uint8Array | Buffer, width: number, height: number): Palette {
  const pts: Lab[] = [];
  const step = Math.max(1, Math.floor((width * height) / 1024));
  for (let i = 0; i < width * height; i += step) {
    const o = i * 4;
    pts.push(rgbToOklab({ r: rgba[o] ?? 0, g: rgba[o + 1] ?? 0, b: rgba[o + 2] ?? 0 }));
  }
  if (pts.length === 0) return { colors: ['#202020', '#404040', '#808080'], scheme: 'extracted' };
  const sorted = [...pts].sort((x, y) => x.L - y.L);
  const k = 4;
  let centers: Lab[] = Array.from({ length: k }, (_, i) => sorted[Math.floor(((i + 0.5) / k) * sorted.length)]!);
  for (let iter = 0; iter < 8; iter++) {
    const sums = centers.map(() => ({ L: 0, a: 0, b: 0, n: 0 }));
    for (const p of pts) {
      let bi = 0;
      let bd = Infinity;
      centers.forEach((c, i) => {
        const d = deltaEOk(p, c);
        if (d < bd) {
          bd = d;
          bi = i;
        }
      });
      const s = sums[bi]!;
      s.L += p.L;
      s.a += p.a;
      s.b += p.b;
      s.n++;
    }
    centers = centers.map((c, i) => {
      const s = sums[i]!;
      return s.n === 0 ? c : { L: s.L / s.n, a: s.a / s.n, b: s.b / s.n };
    });
  }
  centers.sort((x, y) => x.L - y.L);
  return { colors: centers.map((c) => lchToHex(oklabToLch(c))), scheme: 'extracted' };
}

/** Convenience: a neutral palette for covers without a coin. */
export function neutralBrand(seed: number): string {
  const rng = createRng(seed).fork('neutral');
  return lchToHex({ L: 0.6, C: 0.14, h: rng.pick([250, 265, 200, 25, 150, 300]) });
}

