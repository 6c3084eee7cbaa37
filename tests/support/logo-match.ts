import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

const require = createRequire(import.meta.url);
const iconsDir = join(dirname(require.resolve('cryptocurrency-icons/package.json')), 'svg', 'color');

async function grey(buf: Buffer, size: number): Promise<Float64Array> {
  const raw = await sharp(buf).resize(size, size, { fit: 'fill' }).flatten({ background: '#808080' }).greyscale().raw().toBuffer();
  const out = new Float64Array(raw.length);
  let mean = 0;
  for (let i = 0; i < raw.length; i++) mean += raw[i]!;
  mean /= raw.length;
  let norm = 0;
  for (let i = 0; i < raw.length; i++) {
    out[i] = raw[i]! - mean;
    norm += out[i]! * out[i]!;
  }
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < raw.length; i++) out[i]! /= norm;
  return out;
}

/**
 * Independent check used by end-to-end tests: which icon-set logo best matches the pixels in `box`?
 * Normalised cross-correlation of the greyscale crop against each candidate icon rendered alone.
 */
export async function bestLogoMatch(png: Buffer, box: { x: number; y: number; width: number; height: number }, candidates: string[]): Promise<{ symbol: string; scores: Record<string, number> }> {
  const size = 64;
  const crop = await sharp(png)
    .extract({ left: Math.round(box.x), top: Math.round(box.y), width: Math.round(box.width), height: Math.round(box.height) })
    .png()
    .toBuffer();
  const a = await grey(crop, size);
  const scores: Record<string, number> = {};
  for (const sym of candidates) {
    const svg = readFileSync(join(iconsDir, `${sym.toLowerCase()}.svg`));
    const b = await grey(await sharp(svg, { density: 300 }).png().toBuffer(), size);
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
    scores[sym] = s;
  }
  const symbol = Object.entries(scores).sort((x, y) => y[1] - x[1])[0]![0];
  return { symbol, scores };
}
