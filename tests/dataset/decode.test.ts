import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeForMetrics, decodeImage, type DecodedImage } from '../../src/image/decode.js';
import { LoraloopError } from '../../src/core/errors.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures/images');
const read = (name: string): Buffer => readFileSync(path.join(FIXTURES, name));

/** What a user must get for each real-world file: an image of a given size (with warnings), or a clear error. */
type Expected =
  | { ok: [number, number]; warn?: RegExp[]; oriented?: boolean }
  | { code: 'UNSUPPORTED_IMAGE' | 'IMAGE_TOO_LARGE'; message: RegExp };

const landscape = (oriented: boolean): Expected => ({ ok: [600, 450], oriented });
const EXPECTED: Record<string, Expected> = {
  '16-bit-grey-alpha.png': { ok: [109, 96], warn: [/16-bit/, /transparent pixels flattened onto white/] },
  '2569067123_aca715a2ee_o.jpg': { ok: [2725, 2225] },
  '320x240.jpg': { ok: [320, 240] },
  '4.webp': { ok: [1024, 772] },
  '65536-uint32-limit.png': { code: 'IMAGE_TOO_LARGE', message: /65536x65536 pixels .* more than the 40 MP limit/ },
  'Channel_digital_image_CMYK_color.jpg': { ok: [500, 333], warn: [/CMYK colours converted to sRGB/] },
  'Crash_test.gif': { ok: [800, 533] },
  'Landscape_1.jpg': landscape(false),
  'Landscape_2.jpg': landscape(true),
  'Landscape_3.jpg': landscape(true),
  'Landscape_4.jpg': landscape(true),
  'Landscape_5.jpg': landscape(true),
  'Landscape_6.jpg': landscape(true),
  'Landscape_7.jpg': landscape(true),
  'Landscape_8.jpg': landscape(true),
  'Landscape_9.jpg': { ok: [480, 369] },
  'Portrait_1.jpg': { ok: [450, 600], oriented: false },
  'Portrait_6.jpg': { ok: [450, 600], oriented: true },
  'Portrait_8.jpg': { ok: [450, 600], oriented: true },
  'animated-loop-3.gif': { ok: [370, 285], warn: [/animated GIF with 10 frames: only the first frame is used/] },
  'big-height.webp': { ok: [13, 169], warn: [/animated WEBP with 97 frames: only the first frame/] },
  'concert.jpg': { ok: [400, 267] },
  'corrupt-header.jpg': { code: 'UNSUPPORTED_IMAGE', message: /not a readable image: its header is corrupt/ },
  'flowers.jpeg': { ok: [1920, 1080] },
  'giant-image.jpg': { code: 'IMAGE_TOO_LARGE', message: /20000x14000 pixels \(280 MP\), more than the 40 MP limit/ },
  'gradients-rgb8.png': { ok: [1000, 1000] },
  'grey-8bit-alpha.png': { ok: [400, 300], warn: [/transparent pixels flattened onto white/] },
  'low-contrast.jpg': { ok: [300, 245] },
  'random.jpg': { ok: [200, 200] },
  'test-pattern.png': { ok: [1280, 960], warn: [/transparent pixels flattened/] },
  'thRandom.jpg': { ok: [200, 200] },
  'truncated.jpg': { code: 'UNSUPPORTED_IMAGE', message: /truncated/ },
  'truncated.png': { code: 'UNSUPPORTED_IMAGE', message: /truncated/ },
};

/** Mean absolute difference per channel value between two same-size RGB buffers. */
function meanAbsDiff(a: Buffer, b: Buffer): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += Math.abs((a[i] as number) - (b[i] as number));
  return d / a.length;
}

describe('decodeImage on every real-world fixture', () => {
  const files = readdirSync(FIXTURES).filter((f) => !f.endsWith('.md'));

  it('has an expectation for every fixture file (a new file must be looked at)', () => {
    expect(files.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const file of Object.keys(EXPECTED)) {
    const want = EXPECTED[file] as Expected;
    it(`${file}: ${'ok' in want ? `${want.ok[0]}x${want.ok[1]}` : want.code}`, async () => {
      const bytes = read(file);
      if ('code' in want) {
        const err = await decodeImage(bytes).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(LoraloopError);
        expect((err as LoraloopError).code).toBe(want.code);
        expect((err as LoraloopError).message).toMatch(want.message);
        expect((err as LoraloopError).hint).toBeTruthy();
        return;
      }
      const img = await decodeImage(bytes);
      expect([img.width, img.height]).toEqual(want.ok);
      expect(img.channels).toBe(3);
      expect(img.data.length).toBe(img.width * img.height * 3);
      expect(img.pixelHash).toMatch(/^[0-9a-f]{64}$/);
      if (want.oriented !== undefined) expect(img.orientationApplied).toBe(want.oriented);
      for (const w of want.warn ?? []) expect(img.warnings.some((x) => w.test(x))).toBe(true);
      if (!want.warn) expect(img.warnings).toEqual([]);
    });
  }
});

describe('decodeImage details', () => {
  it('turns every EXIF orientation upright: Landscape_2..8 look like Landscape_1', async () => {
    const ref = await decodeImage(read('Landscape_1.jpg'));
    for (const n of [3, 6, 8]) {
      const img = await decodeImage(read(`Landscape_${n}.jpg`));
      expect(meanAbsDiff(img.data, ref.data)).toBeLessThan(6);
    }
    // A wrong turn (270 instead of 90 for orientation 6) gives the same size but another picture: the check can fail.
    const wrong = await sharp(read('Landscape_6.jpg')).rotate(270).raw().toBuffer();
    expect(meanAbsDiff(wrong, ref.data)).toBeGreaterThan(20);
  });

  it('converts CMYK to sensible sRGB (not inverted, not black)', async () => {
    const img = await decodeImage(read('Channel_digital_image_CMYK_color.jpg'));
    const mean = img.data.reduce((a, v) => a + v, 0) / img.data.length;
    expect(mean).toBeGreaterThan(60);
    expect(mean).toBeLessThan(200);
  });

  it('flattens transparency onto white', async () => {
    const rgba = await sharp({ create: { width: 4, height: 4, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
      .png()
      .toBuffer();
    const img = await decodeImage(rgba);
    expect([...img.data.subarray(0, 3)]).toEqual([255, 255, 255]);
  });

  it('respects a custom pixel limit before decoding', async () => {
    const e = (await decodeImage(read('flowers.jpeg'), { maxPixels: 1_000_000 }).catch((x: unknown) => x)) as LoraloopError;
    expect(e.code).toBe('IMAGE_TOO_LARGE');
    expect(e.message).toContain('1920x1080');
  });

  it('refuses SVG, text and empty input with UNSUPPORTED_IMAGE', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>');
    for (const b of [svg, Buffer.from('not an image at all'), Buffer.alloc(0)]) {
      const e = (await decodeImage(b).catch((x: unknown) => x)) as LoraloopError;
      expect(e).toBeInstanceOf(LoraloopError);
      expect(e.code).toBe('UNSUPPORTED_IMAGE');
    }
  });

  it('gives the same pixel hash for the same pixels in another container, and a different one otherwise', async () => {
    const a: DecodedImage = await decodeImage(read('grey-8bit-alpha.png'));
    const again = await decodeImage(await a.normalized());
    expect(a.normalizedMime).toBe('image/png');
    expect(again.pixelHash).toBe(a.pixelHash);
    const webp = await sharp(a.data, { raw: { width: a.width, height: a.height, channels: 3 } }).webp({ lossless: true }).toBuffer();
    expect((await decodeImage(webp)).pixelHash).toBe(a.pixelHash);
    const other = await decodeImage(read('gradients-rgb8.png'));
    expect(other.pixelHash).not.toBe(a.pixelHash);
  });

  it('stores lossy sources as high-quality JPEG of the upright pixels', async () => {
    const img = await decodeImage(read('Landscape_6.jpg'));
    expect(img.normalizedMime).toBe('image/jpeg');
    const meta = await sharp(await img.normalized()).metadata();
    expect([meta.format, meta.width, meta.height, meta.orientation ?? 1]).toEqual(['jpeg', 600, 450, 1]);
  });
});

describe('decodeForMetrics', () => {
  it('decodes small and upright, remembering the source size', async () => {
    const m = await decodeForMetrics(read('Landscape_6.jpg'));
    expect([m.width, m.height, m.sourceWidth, m.sourceHeight]).toEqual([256, 192, 600, 450]);
    expect(m.orientationApplied).toBe(true);
    const tiny = await decodeForMetrics(read('random.jpg'));
    expect([tiny.width, tiny.height]).toEqual([200, 200]); // never enlarged
  });

  it('applies the same refusals as decodeImage', async () => {
    for (const [file, code] of [
      ['giant-image.jpg', 'IMAGE_TOO_LARGE'],
      ['truncated.jpg', 'UNSUPPORTED_IMAGE'],
      ['corrupt-header.jpg', 'UNSUPPORTED_IMAGE'],
    ] as const) {
      const e = (await decodeForMetrics(read(file)).catch((x: unknown) => x)) as LoraloopError;
      expect(e.code).toBe(code);
    }
  });
});
