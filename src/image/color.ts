/**
 * Colour maths for the cover renderer: hex <-> sRGB, OKLab / OKLCH (Björn Ottosson's 2020 definition),
 * and WCAG 2.x relative luminance and contrast. Pure functions, no I/O.
 */

/** An sRGB colour with 8-bit-scale channels (0..255, may be fractional before rounding). */
export interface Rgb {
  r: number;
  g: number;
  b: number;
}

/** A colour in OKLab: L in 0..1, a/b roughly -0.4..0.4. */
export interface Lab {
  L: number;
  a: number;
  b: number;
}

/** A colour in OKLCH: L 0..1, C (chroma) 0..~0.37, h in degrees 0..360. */
export interface Lch {
  L: number;
  C: number;
  h: number;
}

const HEX_RE = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i;

/** Whether `s` is a #rgb or #rrggbb colour. */
export function isHex(s: string): boolean {
  return HEX_RE.test(s.trim());
}

/** Parse #rgb / #rrggbb; anything else gives `fallback` (the renderer never throws on a bad brand colour). */
export function hexToRgb(hex: string, fallback: Rgb = { r: 128, g: 128, b: 128 }): Rgb {
  const m = HEX_RE.exec(hex.trim());
  if (!m || m[1] === undefined) return fallback;
  let h = m[1];
  if (h.length === 3) h = h[0]! + h[0]! + h[1]! + h[1]! + h[2]! + h[2]!;
  const n = parseInt(h, 16);
  return { r: (n >> 16) & 255, g: (n >> 8) & 255, b: n & 255 };
}

function clamp255(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

export function rgbToHex(c: Rgb): string {
  const n = (clamp255(c.r) << 16) | (clamp255(c.g) << 8) | clamp255(c.b);
  return `#${n.toString(16).padStart(6, '0')}`;
}

/** sRGB channel (0..1) to linear light. */
export function srgbToLinear(v: number): number {
  return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
}

export function linearToSrgb(v: number): number {
  return v <= 0.0031308 ? v * 12.92 : 1.055 * Math.pow(v, 1 / 2.4) - 0.055;
}

/** Linear-light value for each 8-bit sRGB level, so per-pixel luminance needs no pow(). */
export const LINEAR_LUT: Float64Array = (() => {
  const t = new Float64Array(256);
  for (let i = 0; i < 256; i++) t[i] = srgbToLinear(i / 255);
  return t;
})();

export function rgbToOklab(c: Rgb): Lab {
  const r = srgbToLinear(c.r / 255);
  const g = srgbToLinear(c.g / 255);
  const b = srgbToLinear(c.b / 255);
  const l = Math.cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b);
  const m = Math.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
  const s = Math.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
  return {
    L: 0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s,
    a: 1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s,
    b: 0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s,
  };
}

/** OKLab to sRGB; the result may be out of gamut (channels outside 0..255). */
export function oklabToRgbUnclamped(c: Lab): Rgb {
  const l = (c.L + 0.3963377774 * c.a + 0.2158037573 * c.b) ** 3;
  const m = (c.L - 0.1055613458 * c.a - 0.0638541728 * c.b) ** 3;
  const s = (c.L - 0.0894841775 * c.a - 1.291485548 * c.b) ** 3;
  const r = 4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s;
  const g = -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s;
  const b = -0.0041960863 * l - 0.7034186147 * m + 1.707614701 * s;
  return { r: linearToSrgb(r) * 255, g: linearToSrgb(g) * 255, b: linearToSrgb(b) * 255 };
}

export function oklabToLch(c: Lab): Lch {
  const C = Math.hypot(c.a, c.b);
  let h = (Math.atan2(c.b, c.a) * 180) / Math.PI;
  if (h < 0) h += 360;
  return { L: c.L, C, h };
}

export function lchToOklab(c: Lch): Lab {
  const r = (c.h * Math.PI) / 180;
  return { L: c.L, a: c.C * Math.cos(r), b: c.C * Math.sin(r) };
}

function inGamut(c: Rgb): boolean {
  return c.r >= -0.5 && c.r <= 255.5 && c.g >= -0.5 && c.g <= 255.5 && c.b >= -0.5 && c.b <= 255.5;
}

/**
 * OKLCH to hex, mapped into sRGB by lowering chroma at constant L and hue (the CSS Color 4 approach, by
 * bisection), so hues stay recognisable instead of being clipped channel by channel.
 */
export function lchToHex(c: Lch): string {
  const L = Math.min(1, Math.max(0, c.L));
  const h = ((c.h % 360) + 360) % 360;
  let rgb = oklabToRgbUnclamped(lchToOklab({ L, C: c.C, h }));
  if (!inGamut(rgb)) {
    let lo = 0;
    let hi = c.C;
    for (let i = 0; i < 14; i++) {
      const mid = (lo + hi) / 2;
      if (inGamut(oklabToRgbUnclamped(lchToOklab({ L, C: mid, h })))) lo = mid;
      else hi = mid;
    }
    rgb = oklabToRgbUnclamped(lchToOklab({ L, C: lo, h }));
  }
  return rgbToHex(rgb);
}

export function hexToLch(hex: string): Lch {
  return oklabToLch(rgbToOklab(hexToRgb(hex)));
}

export function hexToOklab(hex: string): Lab {
  return rgbToOklab(hexToRgb(hex));
}

/** Euclidean distance in OKLab (the "deltaE OK"; ~0.02 is a just-noticeable difference). */
export function deltaEOk(a: Lab, b: Lab): number {
  return Math.hypot(a.L - b.L, a.a - b.a, a.b - b.b);
}

/** WCAG 2.x relative luminance of an sRGB colour (channels 0..255). */
export function relativeLuminance(c: Rgb): number {
  return (
    0.2126 * srgbToLinear(c.r / 255) + 0.7152 * srgbToLinear(c.g / 255) + 0.0722 * srgbToLinear(c.b / 255)
  );
}

/** WCAG contrast ratio of two relative luminances (1..21). */
export function contrastRatio(l1: number, l2: number): number {
  const hi = Math.max(l1, l2);
  const lo = Math.min(l1, l2);
  return (hi + 0.05) / (lo + 0.05);
}

/** Linear interpolation of two hex colours in OKLab (perceptually even mixes). */
export function mixHex(a: string, b: string, t: number): string {
  const x = hexToOklab(a);
  const y = hexToOklab(b);
  const lab = { L: x.L + (y.L - x.L) * t, a: x.a + (y.a - x.a) * t, b: x.b + (y.b - x.b) * t };
  return lchToHex(oklabToLch(lab));
}
