/**
 * Which coin logo is in an image: template matching against the cryptocurrency-icons set.
 *
 * Each comparison looks only at the inscribed disc of a square (shrunk a little, so anti-aliased edges,
 * halos, rims and glass plates that our logo styles add stay out), and scores two things separately:
 * - shape: normalised cross-correlation (NCC) of the grey pixels, which tells the glyphs apart
 *   (Bitcoin's B from Solana's bars), independent of brightness and contrast;
 * - colour: the OKLab distance between the mean colours of the disc, which tells same-shaped icons apart.
 * An earlier version correlated RGB vectors with one mean; any patch with the icon's colour cast then
 * scored 0.85 without any shape in it, so shape and colour are kept apart here.
 *
 * Two modes: {@link LogoMatcher.matchAtBox} when we know where the logo was composited (our covers), and
 * {@link LogoMatcher.searchLogos} for a raw image: a multi-scale sliding window on a small copy (window
 * statistics shared by every candidate coin), then the best hit of each coin refined on a larger copy.
 */
import { Resvg } from '@resvg/resvg-js';
import sharp from 'sharp';
import { deltaEOk, rgbToOklab, type Lab } from '../image/color.js';
import type { IconSet } from '../cover/render/icons.js';

/** A rectangle in image pixels. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Raw interleaved RGB pixels. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** How well one candidate coin's logo matches. */
export interface LogoScore {
  symbol: string;
  /** Combined score 0..1: shape NCC damped by the colour distance. ~0.95+ is the logo itself. */
  score: number;
  /** Grey NCC inside the disc, -1..1. */
  shape: number;
  /** OKLab distance between the mean disc colours (0 = same; 0.1 is a clearly different colour). */
  colour: number;
  /** Where it matched (image pixels; for box matching, the box itself). */
  box: Box;
}

/** Share of the template's radius that is compared. */
const DISC = 0.9;
/** Side of the template compared at a known box and in refinement. */
const FINE = 48;
/** Long side of the copy the sliding window runs on. */
const COARSE_SIZE = 160;
/** Long side of the copy used to refine coarse hits. */
const MID_SIZE = 480;
/** Minimum standard deviation (0-255 levels) of a window's grey pixels for it to be compared at all. */
const MIN_WINDOW_STD = 20;
/** Colour distance at which the score is damped by 1/e. */
const COLOUR_SCALE = 0.12;

interface Template {
  symbol: string;
  grey: Float32Array;
  lab: Lab;
}

interface Window {
  grey: Float32Array;
  lab: Lab;
  std: number;
}

const offsetsCache = new Map<number, Int16Array>();
/** [dx, dy] pairs of the pixels inside the disc of a `size` square. */
function offsetsFor(size: number): Int16Array {
  let o = offsetsCache.get(size);
  if (!o) {
    const r = (size / 2) * DISC;
    const c = (size - 1) / 2;
    const out: number[] = [];
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) if ((x - c) ** 2 + (y - c) ** 2 <= r * r) out.push(x, y);
    o = Int16Array.from(out);
    offsetsCache.set(size, o);
  }
  return o;
}

/** Zero-mean, unit-norm (in place); returns the standard deviation before scaling. */
function normalise(v: Float32Array): number {
  let mean = 0;
  for (let i = 0; i < v.length; i++) mean += v[i]!;
  mean /= v.length || 1;
  let ss = 0;
  for (let i = 0; i < v.length; i++) {
    const d = v[i]! - mean;
    v[i] = d;
    ss += d * d;
  }
  const norm = Math.sqrt(ss);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] = v[i]! / norm;
  return norm / Math.sqrt(v.length || 1);
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** The disc of an RGB(A) buffer at integer offset (x0, y0), `size` wide. */
function discWindow(data: Uint8Array, width: number, channels: number, x0: number, y0: number, size: number, out: Float32Array): Window {
  const offs = offsetsFor(size);
  let r = 0;
  let g = 0;
  let b = 0;
  for (let k = 0, j = 0; k < offs.length; k += 2, j++) {
    const i = ((y0 + offs[k + 1]!) * width + x0 + offs[k]!) * channels;
    const R = data[i]!;
    const G = data[i + 1]!;
    const B = data[i + 2]!;
    r += R;
    g += G;
    b += B;
    out[j] = 0.299 * R + 0.587 * G + 0.114 * B;
  }
  const n = offs.length / 2 || 1;
  const std = normalise(out);
  return { grey: out, lab: rgbToOklab({ r: r / n, g: g / n, b: b / n }), std };
}

function combine(t: Template, w: Window, box: Box): LogoScore {
  const shape = dot(t.grey, w.grey);
  const colour = deltaEOk(t.lab, w.lab);
  return { symbol: t.symbol, score: Math.max(0, shape) * Math.exp(-((colour / COLOUR_SCALE) ** 2)), shape, colour, box };
}

/** Template matcher over an icon set; templates are rendered once and cached. */
export interface LogoMatcher {
  /** Whether the icon set has a logo for the symbol. */
  has(symbol: string): boolean;
  /** Scores of each candidate against the pixels in `box`, best first. */
  matchAtBox(img: RgbImage, box: Box, candidates: string[]): Promise<LogoScore[]>;
  /** The best spot and score of each candidate anywhere in the image, best first. */
  searchLogos(img: RgbImage, candidates: string[]): Promise<LogoScore[]>;
}

export function createLogoMatcher(icons: IconSet): LogoMatcher {
  const templates = new Map<string, Template | null>();

  function template(symbol: string, size: number): Template | null {
    const key = `${symbol.toLowerCase()}@${size}`;
    const hit = templates.get(key);
    if (hit !== undefined) return hit;
    const svg = icons.svg(symbol);
    let t: Template | null = null;
    if (svg) {
      const px = new Resvg(svg, { fitTo: { mode: 'width', value: size }, background: '#808080' }).render();
      const w = discWindow(px.pixels, px.width, 4, 0, 0, size, new Float32Array(offsetsFor(size).length / 2));
      if (w.std > 0) t = { symbol: symbol.toUpperCase(), grey: w.grey, lab: w.lab };
    }
    templates.set(key, t);
    return t;
  }

  const resized = async (img: RgbImage, long: number): Promise<{ img: RgbImage; scale: number }> => {
    const scale = Math.min(1, long / Math.max(img.width, img.height));
    if (scale === 1) return { img, scale };
    const W = Math.max(8, Math.round(img.width * scale));
    const H = Math.max(8, Math.round(img.height * scale));
    const data = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).resize(W, H, { fit: 'fill' }).raw().toBuffer();
    return { img: { data, width: W, height: H }, scale };
  };

  async function matchAtBox(img: RgbImage, box: Box, candidates: string[]): Promise<LogoScore[]> {
    const x = Math.max(0, Math.round(box.x));
    const y = Math.max(0, Math.round(box.y));
    const w = Math.min(img.width - x, Math.round(box.width));
    const h = Math.min(img.height - y, Math.round(box.height));
    if (w < 4 || h < 4) return [];
    const crop = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
      .extract({ left: x, top: y, width: w, height: h })
      .resize(FINE, FINE, { fit: 'fill' })
      .raw()
      .toBuffer();
    const win = discWindow(crop, FINE, 3, 0, 0, FINE, new Float32Array(offsetsFor(FINE).length / 2));
    const where = { x, y, width: w, height: h };
    const out: LogoScore[] = [];
    for (const sym of candidates) {
      const t = template(sym, FINE);
      if (!t) continue;
      out.push(win.std > 0 ? combine(t, win, where) : { symbol: t.symbol, score: 0, shape: 0, colour: 1, box: where });
    }
    return out.sort((a, b) => b.score - a.score);
  }

  async function searchLogos(img: RgbImage, candidates: string[]): Promise<LogoScore[]> {
    const { img: small, scale } = await resized(img, COARSE_SIZE);
    const short = Math.min(small.width, small.height);
    // Diameters from 15% to 75% of the short side in ~1.25x steps. Smaller discs are a handful of pixels
    // on this copy, too few to tell glyphs apart.
    const sizes: number[] = [];
    for (let d = Math.max(12, Math.round(short * 0.15)); d <= short * 0.75; d = Math.round(d * 1.25)) sizes.push(d);
    const coarse = new Map<string, LogoScore>();
    for (const d of sizes) {
      const tpls = candidates.map((s) => template(s, d)).filter((t): t is Template => t !== null);
      if (tpls.length === 0) continue;
      const buf = new Float32Array(offsetsFor(d).length / 2);
      const stride = Math.max(1, Math.round(d / 8));
      for (let y0 = 0; y0 + d <= small.height; y0 += stride) {
        for (let x0 = 0; x0 + d <= small.width; x0 += stride) {
          const win = discWindow(small.data, small.width, 3, x0, y0, d, buf);
          // A logo is a glyph on a disc: a window without contrast cannot hold one.
          if (win.std < MIN_WINDOW_STD) continue;
          const box = { x: x0 / scale, y: y0 / scale, width: d / scale, height: d / scale };
          for (const t of tpls) {
            // Colour first: past 2x the damping scale the score is under 2% whatever the shape, so the
            // dot product (the expensive part) is skipped for most coins at most positions.
            if (deltaEOk(t.lab, win.lab) > 2 * COLOUR_SCALE) continue;
            const s = combine(t, win, box);
            const prev = coarse.get(t.symbol);
            if (!prev || s.score > prev.score) coarse.set(t.symbol, s);
          }
        }
      }
    }
    // Refine each coin's best coarse spot on a larger copy.
    const { img: mid, scale: ms } = await resized(img, MID_SIZE);
    const buf = new Float32Array(offsetsFor(FINE).length / 2);
    const out: LogoScore[] = [];
    for (const hit of coarse.values()) {
      const t = template(hit.symbol, FINE);
      if (!t || hit.score < 0.3) {
        out.push(roundBox(hit));
        continue;
      }
      out.push(roundBox(refine(t, mid, ms, hit, buf)));
      continue;
    }
    return out.sort((a, b) => b.score - a.score);
  }

  return { has: (symbol) => icons.has(symbol), matchAtBox, searchLogos };
}

/**
 * Hill-climb from a coarse hit: try the 8 neighbouring positions and a 6% larger/smaller box, move to the
 * best, halve the step when nothing improves. Thin glyphs lose most of their NCC at one or two pixels of
 * misalignment, so the coarse grid alone underrates real logos.
 */
function refine(t: Template, mid: RgbImage, ms: number, hit: LogoScore, buf: Float32Array): LogoScore {
  let best = hit;
  const first = sampleDisc(mid, hit.box, ms, buf);
  if (first) best = combine(t, first, hit.box);
  let step = hit.box.width / 8;
  const minStep = Math.max(0.5 / ms, hit.box.width / 96);
  while (step >= minStep) {
    const b = best.box;
    let moved = false;
    const tries: Box[] = [];
    for (const dy of [-step, 0, step]) for (const dx of [-step, 0, step]) if (dx || dy) tries.push({ ...b, x: b.x + dx, y: b.y + dy });
    for (const f of [0.94, 1.06]) {
      const size = b.width * f;
      tries.push({ x: b.x + (b.width - size) / 2, y: b.y + (b.height - size) / 2, width: size, height: size });
    }
    for (const box of tries) {
      const win = sampleDisc(mid, box, ms, buf);
      if (!win) continue;
      const s = combine(t, win, box);
      if (s.score > best.score) {
        best = s;
        moved = true;
      }
    }
    if (!moved) step /= 2;
  }
  return best;
}

/** Bilinear samples of the disc of `box` (full-image pixels) on a copy scaled by `scale`, FINE wide. */
function sampleDisc(img: RgbImage, box: Box, scale: number, out: Float32Array): Window | null {
  const bx = box.x * scale;
  const by = box.y * scale;
  const bs = box.width * scale;
  if (bx < 0 || by < 0 || bx + bs > img.width - 1 || by + bs > img.height - 1) return null;
  const tmp = new Uint8Array(FINE * FINE * 3);
  const k = bs / FINE;
  for (let y = 0; y < FINE; y++) {
    const sy = by + (y + 0.5) * k - 0.5;
    const y0 = Math.max(0, Math.floor(sy));
    const fy = sy - y0;
    for (let x = 0; x < FINE; x++) {
      const sx = bx + (x + 0.5) * k - 0.5;
      const x0 = Math.max(0, Math.floor(sx));
      const fx = sx - x0;
      const i00 = (y0 * img.width + x0) * 3;
      const i10 = i00 + 3;
      const i01 = i00 + img.width * 3;
      const i11 = i01 + 3;
      for (let c = 0; c < 3; c++) {
        const v =
          (img.data[i00 + c]! * (1 - fx) + img.data[i10 + c]! * fx) * (1 - fy) + (img.data[i01 + c]! * (1 - fx) + img.data[i11 + c]! * fx) * fy;
        tmp[(y * FINE + x) * 3 + c] = v;
      }
    }
  }
  return discWindow(tmp, FINE, 3, 0, 0, FINE, out);
}

function roundBox(s: LogoScore): LogoScore {
  const b = s.box;
  return { ...s, box: { x: Math.round(b.x), y: Math.round(b.y), width: Math.round(b.width), height: Math.round(b.height) } };
}

/** Whether two boxes overlap by more than half of the smaller one (the same spot). */
export function sameSpot(a: Box, b: Box): boolean {
  const ix = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  return ix * iy > 0.5 * Math.min(a.width * a.height, b.width * b.height);
}
