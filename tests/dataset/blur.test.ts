/**
 * Blur is judged per image from the width of its edges: real photos in focus, vector logos and an
 * illustration are sharp in any set; defocused and motion-blurred copies of the same photos, a real
 * camera-shake photo and a defocused photo are blurry. All through dataset_analyze on a folder, as a user
 * runs it, plus the measurement itself over every real photo we have.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { blurVerdict } from '../../src/dataset/analyze/checks.js';
import { decodeForMetrics } from '../../src/image/decode.js';
import { measureImage } from '../../src/image/metrics.js';
import { makeTestApp } from '../support/app.js';
import { dataOf } from '../support/result.js';

const PEOPLE = new URL('../fixtures/people/', import.meta.url).pathname;
const SHARPNESS = new URL('../fixtures/sharpness/', import.meta.url).pathname;
const SHARED = new URL('../../../shared/fixtures/images/', import.meta.url).pathname;
const ICONS = new URL('../../node_modules/cryptocurrency-icons/svg/color/', import.meta.url).pathname;

/** A horizontal (or diagonal) motion-blur kernel `n` pixels long. */
function motion(n: number, diagonal = false): { width: number; height: number; kernel: number[]; scale: number } {
  const kernel = new Array<number>(n * n).fill(0);
  for (let i = 0; i < n; i++) kernel[diagonal ? i * n + i : Math.floor(n / 2) * n + i] = 1;
  return { width: n, height: n, kernel, scale: n };
}

/** A photo at 1024 px, as a training image would be. */
const at1024 = (file: string): Promise<Buffer> => sharp(readFileSync(file)).rotate().resize(1024, 1024, { fit: 'inside' }).jpeg({ quality: 92 }).toBuffer();

/** A coin logo rendered from its SVG, alone on white or small on a smooth gradient (a typical studio graphic). */
async function logo(symbol: string, onGradient: boolean): Promise<Buffer> {
  const svg = readFileSync(`${ICONS}${symbol}.svg`);
  if (!onGradient) return sharp(svg, { density: 1200 }).resize(1024, 1024).flatten({ background: '#ffffff' }).png().toBuffer();
  const icon = await sharp(svg, { density: 600 }).resize(128, 128).png().toBuffer();
  const bg = `<svg xmlns="http://www.w3.org/2000/svg" width="1024" height="1024"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#1b1f3b"/><stop offset="1" stop-color="#7a5cff"/></linearGradient></defs><rect width="1024" height="1024" fill="url(#g)"/></svg>`;
  return sharp(Buffer.from(bg)).composite([{ input: icon, left: 448, top: 448 }]).png().toBuffer();
}

const PHOTOS = ['wh-obama-office.jpg', 'coco-yoga.jpg', 'tfjs-portrait-woman.jpg', 'coco-frisbee.jpg', 'sk-coffee.jpg', 'wh-biden-portrait.jpg'];
const COINS = ['btc', 'eth', 'sol', 'usdt', 'xrp', 'doge'];

describe('blur judged per image', () => {
  let app: App;
  let dispose: () => Promise<void>;
  beforeEach(() => ({ app, dispose } = makeTestApp()));
  afterEach(async () => dispose());

  it('flags defocused and shaken photos in a mixed folder, never crisp logos, an illustration or sharp photos', async () => {
    const dir = join(tmpdir(), `ds-blur-${process.pid}-${Date.now()}`);
    mkdirSync(dir);
    const blurred: string[] = [];
    for (const f of PHOTOS) {
      const base = f.replace(/\.jpg$/, '');
      const img = await at1024(`${PEOPLE}${f}`);
      writeFileSync(join(dir, `${base}.jpg`), img);
      writeFileSync(join(dir, `${base}-defocus.jpg`), await sharp(img).blur(8).jpeg({ quality: 92 }).toBuffer());
      writeFileSync(join(dir, `${base}-shake.jpg`), await sharp(img).convolve(motion(31)).jpeg({ quality: 92 }).toBuffer());
      blurred.push(`${base}-defocus.jpg`, `${base}-shake.jpg`);
    }
    for (const c of COINS) {
      writeFileSync(join(dir, `logo-${c}.png`), await logo(c, false));
      writeFileSync(join(dir, `logo-${c}-on-gradient.png`), await logo(c, true));
    }
    writeFileSync(join(dir, 'illustration.png'), readFileSync(`${SHARPNESS}illustration-skimage-logo.png`));
    writeFileSync(join(dir, 'clock-camera-shake.png'), readFileSync(`${SHARPNESS}real-motion-blur-clock.png`));
    // flowers.jpeg is a real photo that is out of focus from edge to edge.
    writeFileSync(join(dir, 'flowers-defocused.jpeg'), readFileSync(`${SHARED}flowers.jpeg`));
    blurred.push('clock-camera-shake.png', 'flowers-defocused.jpeg');

    const r = await app.tools.execute('dataset_analyze', { dir }, app.context());
    expect(r.success).toBe(true);
    const issues = dataOf<{ issues: Array<{ file?: string; kind: string; detail: string }> }>(r).issues;
    const flagged = issues.filter((i) => i.kind === 'blurry').map((i) => i.file as string);
    expect(flagged.sort()).toEqual(blurred.sort());
    expect(issues.find((i) => i.file === 'coco-yoga-shake.jpg' && i.kind === 'blurry')?.detail).toMatch(/edges are \d+(\.\d)? px wide/);
  }, 120_000);

  it('keeps a small logo on a gradient sharp, which the Laplacian variance of the whole image calls soft', async () => {
    let oldSaidSoft = 0;
    for (const c of COINS) {
      const m = measureImage(await decodeForMetrics(await logo(c, true)));
      // What the old whole-image measure said: few edges, many tones -> "blurry".
      if (m.blur < 60 && m.entropy >= 5) oldSaidSoft++;
      expect(blurVerdict(m), c).toBeNull();
    }
    expect(oldSaidSoft).toBeGreaterThanOrEqual(4);
  });

  it('never flags a real photo in focus, and catches most milder defocus and shake', async () => {
    const photos = [
      ...readdirSync(PEOPLE).filter((f) => f.endsWith('.jpg') && f !== 'sharp-flowers.jpg').map((f) => `${PEOPLE}${f}`),
      ...['Landscape_1.jpg', 'Landscape_9.jpg', 'Portrait_1.jpg', '2569067123_aca715a2ee_o.jpg', 'Channel_digital_image_CMYK_color.jpg', 'concert.jpg'].map((f) => `${SHARED}${f}`),
    ];
    const falseAlarms: string[] = [];
    for (const p of photos) if (blurVerdict(measureImage(await decodeForMetrics(readFileSync(p))))) falseAlarms.push(p);
    expect(falseAlarms).toEqual([]);
    // Sigma 4 at 1024 px (1 px at the 256 px working size) and a 15 px shake: visible, milder blur.
    let caught = 0;
    let total = 0;
    for (const f of PHOTOS) {
      const img = await at1024(`${PEOPLE}${f}`);
      for (const b of [await sharp(img).blur(4).jpeg().toBuffer(), await sharp(img).convolve(motion(15)).jpeg().toBuffer(), await sharp(img).convolve(motion(21, true)).jpeg().toBuffer()]) {
        total++;
        if (blurVerdict(measureImage(await decodeForMetrics(b)))) caught++;
      }
    }
    expect(caught / total).toBeGreaterThanOrEqual(0.7);
  }, 120_000);
});
