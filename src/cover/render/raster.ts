/**
 * Small raster operations on RGBA buffers, done in plain JS because they touch only a region (text box,
 * logo box) and a round trip through sharp would cost more than the work itself.
 * The canvas is opaque RGBA (straight = premultiplied since alpha is 255); layers from resvg are premultiplied.
 */
import { Resvg, type ResvgRenderOptions } from '@resvg/resvg-js';
import { LINEAR_LUT, hexToRgb, type Rgb } from '../../image/color.js';
import { createRng } from '../../core/random.js';

/** An RGBA image. `premultiplied` layers come from resvg. */
export interface Raster {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * Render SVG to a premultiplied RGBA raster. System fonts are never loaded: every text is already glyph
 * paths (satori), and resvg's default font scan costs more than the whole render.
 */
export function renderSvg(svg: string, options: Omit<ResvgRenderOptions, 'font'> = {}): Raster {
  const img = new Resvg(svg, { ...options, font: { loadSystemFonts: false } }).render();
  return { data: img.pixels, width: img.width, height: img.height };
}

/** A rectangle in pixels. */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * A clamping view of the same bytes: plain Uint8Array stores values modulo 256 (so -3 would become 253);
 * Uint8ClampedArray clamps and rounds, which is what pixel arithmetic needs.
 */
function clamped(d: Uint8Array): Uint8ClampedArray {
  return d instanceof Uint8ClampedArray ? d : new Uint8ClampedArray(d.buffer, d.byteOffset, d.byteLength);
}

/** Clip a region to the canvas, rounding outwards to whole pixels. */
export function clipRegion(r: Region, w: number, h: number): Region {
  const x0 = Math.max(0, Math.floor(r.x));
  const y0 = Math.max(0, Math.floor(r.y));
  const x1 = Math.min(w, Math.ceil(r.x + r.width));
  const y1 = Math.min(h, Math.ceil(r.y + r.height));
  return { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
}

/** Where a layer placed at (dx, dy) lands on the canvas, clipped to it and to layer rows [from, to). */
function layerSpan(canvas: Raster, layer: Raster, dx: number, dy: number, rows?: [number, number]) {
  const ox = Math.round(dx);
  const oy = Math.round(dy);
  return {
    ox,
    oy,
    x0: Math.max(0, ox),
    y0: Math.max(0, oy + (rows?.[0] ?? 0)),
    x1: Math.min(canvas.width, ox + layer.width),
    y1: Math.min(canvas.height, oy + Math.min(layer.height, rows?.[1] ?? layer.height)),
  };
}

/** Draw a premultiplied layer onto an opaque canvas at (dx, dy): dst = src + dst * (1 - a); `rows` limits it to layer rows [from, to). */
export function drawLayer(canvas: Raster, layer: Raster, dx: number, dy: number, rows?: [number, number]): void {
  const { ox, oy, x0, y0, x1, y1 } = layerSpan(canvas, layer, dx, dy, rows);
  const c = clamped(canvas.data);
  const s = layer.data;
  for (let y = y0; y < y1; y++) {
    let di = (y * canvas.width + x0) * 4;
    let si = ((y - oy) * layer.width + (x0 - ox)) * 4;
    for (let x = x0; x < x1; x++, di += 4, si += 4) {
      const a = s[si + 3]!;
      if (a === 0) continue;
      if (a === 255) {
        c[di] = s[si]!;
        c[di + 1] = s[si + 1]!;
        c[di + 2] = s[si + 2]!;
        continue;
      }
      const k = (255 - a) / 255;
      c[di] = s[si]! + c[di]! * k;
      c[di + 1] = s[si + 1]! + c[di + 1]! * k;
      c[di + 2] = s[si + 2]! + c[di + 2]! * k;
    }
  }
}

/** Draw a layer's coverage (alpha) in a flat colour, so text colour can be chosen after layout; `rows` as in drawLayer. */
export function drawMask(
  canvas: Raster,
  layer: Raster,
  dx: number,
  dy: number,
  color: Rgb,
  rows?: [number, number],
): void {
  const { ox, oy, x0, y0, x1, y1 } = layerSpan(canvas, layer, dx, dy, rows);
  const c = clamped(canvas.data);
  const s = layer.data;
  for (let y = y0; y < y1; y++) {
    let di = (y * canvas.width + x0) * 4;
    let si = ((y - oy) * layer.width + (x0 - ox)) * 4 + 3;
    for (let x = x0; x < x1; x++, di += 4, si += 4) {
      const a = s[si]! / 255;
      if (a === 0) continue;
      c[di] = c[di]! + (color.r - c[di]!) * a;
      c[di + 1] = c[di + 1]! + (color.g - c[di + 1]!) * a;
      c[di + 2] = c[di + 2]! + (color.b - c[di + 2]!) * a;
    }
  }
}

/** Tight bounding box of the pixels whose alpha exceeds `threshold`, or null when the layer is empty. */
export function alphaBounds(layer: Raster, threshold = 8, within?: Region): Region | null {
  const r = clipRegion(within ?? { x: 0, y: 0, width: layer.width, height: layer.height }, layer.width, layer.height);
  let minX = layer.width;
  let minY = layer.height;
  let maxX = -1;
  let maxY = -1;
  const d = layer.data;
  for (let y = r.y; y < r.y + r.height; y++) {
    let i = (y * layer.width + r.x) * 4 + 3;
    for (let x = r.x; x < r.x + r.width; x++, i += 4) {
      if (d[i]! > threshold) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        maxY = y;
      }
    }
  }
  return maxX < 0 ? null : { x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1 };
}

/** Darkest and brightest relative luminance (WCAG) in a region: one pass, no copy. */
export function regionLuminanceRange(canvas: Raster, region: Region): { lo: number; hi: number } {
  const r = clipRegion(region, canvas.width, canvas.height);
  const d = canvas.data;
  let lo = 1;
  let hi = 0;
  for (let y = r.y; y < r.y + r.height; y++) {
    let i = (y * canvas.width + r.x) * 4;
    for (let x = 0; x < r.width; x++, i += 4) {
      const l = 0.2126 * LINEAR_LUT[d[i]!]! + 0.7152 * LINEAR_LUT[d[i + 1]!]! + 0.0722 * LINEAR_LUT[d[i + 2]!]!;
      if (l < lo) lo = l;
      if (l > hi) hi = l;
    }
  }
  return { lo, hi };
}

/** The region's pixels as packed [r,g,b] triples (optionally subsampled). */
export function regionPixels(canvas: Raster, region: Region, step = 1): Uint8Array {
  const r = clipRegion(region, canvas.width, canvas.height);
  const cols = Math.ceil(r.width / step);
  const rows = Math.ceil(r.height / step);
  const out = new Uint8Array(cols * rows * 3);
  const d = canvas.data;
  let o = 0;
  for (let y = r.y; y < r.y + r.height; y += step) {
    let i = (y * canvas.width + r.x) * 4;
    for (let x = r.x; x < r.x + r.width; x += step, i += 4 * step) {
      out[o++] = d[i]!;
      out[o++] = d[i + 1]!;
      out[o++] = d[i + 2]!;
    }
  }
  return out.subarray(0, o);
}

/**
 * Fill a rounded rectangle with a colour at opacity `alpha`, anti-aliased at the corners. Blending is done in
 * sRGB space, like resvg and every browser, so the contrast solver can predict the result exactly.
 */
export function fillRoundedRect(canvas: Raster, box: Region, radius: number, color: string, alpha: number): void {
  if (alpha <= 0) return;
  const rgb = hexToRgb(color);
  const r = clipRegion(box, canvas.width, canvas.height);
  const rad = Math.max(0, Math.min(radius, box.width / 2, box.height / 2));
  const bx0 = box.x;
  const by0 = box.y;
  const bx1 = box.x + box.width;
  const by1 = box.y + box.height;
  const d = clamped(canvas.data);
  const sr = rgb.r * alpha;
  const sg = rgb.g * alpha;
  const sb = rgb.b * alpha;
  const k = 1 - alpha;
  for (let y = r.y; y < r.y + r.height; y++) {
    const py = y + 0.5;
    const inCornerRows = py < by0 + rad || py > by1 - rad;
    let i = (y * canvas.width + r.x) * 4;
    for (let x = r.x; x < r.x + r.width; x++, i += 4) {
      const px = x + 0.5;
      if (inCornerRows && (px < bx0 + rad || px > bx1 - rad)) {
        // Corner: coverage from the distance to the corner circle (1 px anti-aliasing).
        const cx = px < bx0 + rad ? bx0 + rad : bx1 - rad;
        const cy = py < by0 + rad ? by0 + rad : by1 - rad;
        const a = alpha * Math.max(0, Math.min(1, rad - Math.hypot(px - cx, py - cy) + 0.5));
        if (a <= 0) continue;
        d[i] = d[i]! + (rgb.r - d[i]!) * a;
        d[i + 1] = d[i + 1]! + (rgb.g - d[i + 1]!) * a;
        d[i + 2] = d[i + 2]! + (rgb.b - d[i + 2]!) * a;
        continue;
      }
      // Same arithmetic as d + (s - d) * alpha, rearranged so the colour term is computed once.
      d[i] = d[i]! * k + sr;
      d[i + 1] = d[i + 1]! * k + sg;
      d[i + 2] = d[i + 2]! * k + sb;
    }
  }
}

/**
 * Film grain: a seeded noise tile repeated over the canvas. Tiling keeps the PNG small and fast to encode
 * (deflate finds the repeats), which per-pixel noise would not.
 */
export function addGrain(canvas: Raster, amount: number, seed: number): void {
  if (amount <= 0) return;
  const T = 96;
  const rng = createRng(seed).fork('grain');
  const tile = new Int8Array(T * T);
  for (let i = 0; i < tile.length; i++) tile[i] = Math.round((rng.next() + rng.next() - 1) * amount);
  const d = clamped(canvas.data);
  for (let y = 0; y < canvas.height; y++) {
    const row = (y % T) * T;
    let i = y * canvas.width * 4;
    for (let x = 0; x < canvas.width; x++, i += 4) {
      const n = tile[row + (x % T)]!;
      if (n === 0) continue;
      d[i] = d[i]! + n;
      d[i + 1] = d[i + 1]! + n;
      d[i + 2] = d[i + 2]! + n;
    }
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Bilinear upscale of an opaque RGBA image (smooth backgrounds are rendered small and enlarged). */
export function upscaleBilinear(src: Raster, width: number, height: number): Raster {
  if (LITTLE_ENDIAN && src.width * 2 === width && src.height * 2 === height && src.width > 1 && src.height > 1) {
    return upscale2x(src);
  }
  const out = new Uint8ClampedArray(width * height * 4);
  const sx = src.width / width;
  const sy = src.height / height;
  const s = src.data;
  const sw = src.width;
  const x0s = new Int32Array(width);
  const fxs = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const fx = Math.max(0, Math.min(src.width - 1.0001, (x + 0.5) * sx - 0.5));
    x0s[x] = Math.floor(fx);
    fxs[x] = fx - Math.floor(fx);
  }
  for (let y = 0; y < height; y++) {
    const fy = Math.max(0, Math.min(src.height - 1.0001, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const wy = fy - y0;
    const r0 = y0 * sw * 4;
    const r1 = (y0 + 1) * sw * 4;
    let o = y * width * 4;
    for (let x = 0; x < width; x++, o += 4) {
      const xi = x0s[x]! * 4;
      const wx = fxs[x]!;
      for (let c = 0; c < 3; c++) {
        const a = s[r0 + xi + c]! + (s[r0 + xi + 4 + c]! - s[r0 + xi + c]!) * wx;
        const b = s[r1 + xi + c]! + (s[r1 + xi + 4 + c]! - s[r1 + xi + c]!) * wx;
        out[o + c] = a + (b - a) * wy;
      }
      out[o + 3] = 255;
    }
  }
  return { data: new Uint8Array(out.buffer), width, height };
}

/**
 * Exact 2x bilinear enlargement with integer weights (9,3,3,1)/16 -- the same result as the general path
 * for this ratio, several times faster: fixed neighbours, and two channels per 32-bit operation (R/B and G/A
 * lanes of a packed pixel each have 16 bits of headroom, and 255 * 16 fits).
 */
function upscale2x(src: Raster): Raster {
  const sw = src.width;
  const sh = src.height;
  const W = sw * 2;
  const H = sh * 2;
  const bytes = src.data.byteOffset % 4 === 0 ? src.data : Uint8Array.from(src.data);
  const s = new Uint32Array(bytes.buffer, bytes.byteOffset, sw * sh);
  const out = new Uint8Array(W * H * 4);
  const o32 = new Uint32Array(out.buffer);
  const M = 0x00ff00ff;
  const ROUND = 0x00080008;
  // Alpha is forced opaque; in the packed word it is the top byte on little-endian machines.
  const ALPHA = 0xff000000;
  for (let oy = 0; oy < H; oy++) {
    const yc = oy >> 1;
    const yn = oy & 1 ? Math.min(sh - 1, yc + 1) : Math.max(0, yc - 1);
    const rc = yc * sw;
    const rn = yn * sw;
    let o = oy * W;
    for (let ox = 0; ox < W; ox++, o++) {
      const xc = ox >> 1;
      const xn = ox & 1 ? (xc + 1 < sw ? xc + 1 : xc) : xc > 0 ? xc - 1 : 0;
      const a = s[rc + xc]!;
      const b = s[rc + xn]!;
      const c = s[rn + xc]!;
      const d = s[rn + xn]!;
      const lo = ((9 * (a & M) + 3 * (b & M) + 3 * (c & M) + (d & M) + ROUND) >>> 4) & M;
      const hi = ((9 * ((a >>> 8) & M) + 3 * ((b >>> 8) & M) + 3 * ((c >>> 8) & M) + ((d >>> 8) & M) + ROUND) >>> 4) & M;
      o32[o] = (lo | (hi << 8) | ALPHA) >>> 0;
    }
  }
  return { data: out, width: W, height: H };
}
