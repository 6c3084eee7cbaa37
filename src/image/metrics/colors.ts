/**
 * Dominant colours with plain names ("orange", "dark blue", "light grey"): what a caption writer or a
 * gap report would say. Every pixel of the working image gets a name from simple HSL rules; the shares
 * are the fraction of pixels per name, and the hex is the mean colour of those pixels.
 */

/** One dominant colour. */
export interface NamedColor {
  /** Mean colour of the pixels with this name, `#rrggbb`. */
  hex: string;
  /** Plain name, e.g. 'orange', 'dark blue', 'white'. */
  name: string;
  /** Fraction of the image (0..1). */
  share: number;
}

const HUES: Array<[number, string]> = [
  [15, 'red'],
  [45, 'orange'],
  [68, 'yellow'],
  [160, 'green'],
  [195, 'teal'],
  [255, 'blue'],
  [290, 'purple'],
  [335, 'pink'],
  [360, 'red'],
];

/** Name an sRGB colour (0..255 per channel). */
export function colorName(r: number, g: number, b: number): string {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const l = (max + min) / 510;
  const chroma = (max - min) / 255;
  // Low chroma reads as grey whatever the hue; near-black colours have no visible hue either.
  if (chroma < 0.1 || max < 40) {
    if (l < 0.14) return 'black';
    if (l < 0.38) return 'dark grey';
    if (l < 0.65) return 'grey';
    if (l < 0.88) return 'light grey';
    return 'white';
  }
  let h: number;
  if (max === r) h = (((g - b) / (max - min)) * 60 + 360) % 360;
  else if (max === g) h = ((b - r) / (max - min)) * 60 + 120;
  else h = ((r - g) / (max - min)) * 60 + 240;
  let name = 'red';
  for (const [limit, n] of HUES) {
    if (h < limit) {
      name = n;
      break;
    }
  }
  // Dark oranges and dark yellows are what people call brown; light reds are pink.
  if ((name === 'orange' || name === 'yellow' || (name === 'red' && h < 30)) && l < 0.4) return 'brown';
  if (name === 'red' && l > 0.7) return 'pink';
  if (l < 0.3) return `dark ${name}`;
  if (l > 0.75) return `light ${name}`;
  return name;
}

/** Names are cached per 5-bit-per-channel cell: 32768 cells cover every colour closely enough. */
let cache: Int16Array | undefined;
const names: string[] = [];
const nameIndex = new Map<string, number>();

function nameIdOf(r: number, g: number, b: number): number {
  cache ??= new Int16Array(32768).fill(-1);
  const key = ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3);
  let id = cache[key] as number;
  if (id < 0) {
    // Name the centre of the cell so the cached answer does not depend on which pixel came first.
    const n = colorName((r & ~7) + 4, (g & ~7) + 4, (b & ~7) + 4);
    id = nameIndex.get(n) ?? -1;
    if (id < 0) {
      id = names.length;
      names.push(n);
      nameIndex.set(n, id);
    }
    cache[key] = id;
  }
  return id;
}

const hex2 = (v: number): string => Math.round(Math.min(255, Math.max(0, v))).toString(16).padStart(2, '0');

/**
 * Dominant named colours of an interleaved 8-bit RGB image of `w` x `h`, largest first: at most `max`
 * names, each covering at least `minShare` of the pixels.
 */
export function dominantColorsOf(rgb: Uint8Array, w: number, h: number, max = 5, minShare = 0.05): NamedColor[] {
  // Shares are statistics: on images above 32k pixels every other row and column (a quarter) is plenty.
  const step = w * h > 32768 ? 2 : 1;
  let n = 0;
  // Fewer than 64 names exist (5 greys, brown, pink, 8 hues x 3 lightnesses): flat arrays beat a Map here.
  const acc = new Float64Array(64 * 4);
  for (let y = 0; y < h; y += step) {
    for (let x = 0; x < w; x += step) {
      const j = (y * w + x) * 3;
      n++;
      const r = rgb[j] as number;
      const g = rgb[j + 1] as number;
      const b = rgb[j + 2] as number;
      const k = nameIdOf(r, g, b) * 4;
      acc[k] = (acc[k] as number) + 1;
      acc[k + 1] = (acc[k + 1] as number) + r;
      acc[k + 2] = (acc[k + 2] as number) + g;
      acc[k + 3] = (acc[k + 3] as number) + b;
    }
  }
  const found: Array<{ id: number; n: number; r: number; g: number; b: number }> = [];
  for (let id = 0; id < names.length; id++) {
    const c = acc[id * 4] as number;
    if (c > 0) found.push({ id, n: c, r: acc[id * 4 + 1] as number, g: acc[id * 4 + 2] as number, b: acc[id * 4 + 3] as number });
  }
  return found
    .map((c) => ({ hex: `#${hex2(c.r / c.n)}${hex2(c.g / c.n)}${hex2(c.b / c.n)}`, name: names[c.id] as string, share: c.n / n }))
    .filter((c) => c.share >= minShare)
    .sort((a, b) => b.share - a.share)
    .slice(0, max)
    .map((c) => ({ ...c, share: Math.round(c.share * 1000) / 1000 }));
}
