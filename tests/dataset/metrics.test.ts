import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeForMetrics, decodeImage } from '../../src/image/decode.js';
import {
  bucketResolutions,
  colorName,
  estimateJpegQuality,
  hamming,
  kohyaBucket,
  measureImage,
  resolutionTarget,
  type ImageMetrics,
} from '../../src/image/metrics.js';
import { LoraloopError } from '../../src/core/errors.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures/images');
const read = (name: string): Buffer => readFileSync(path.join(FIXTURES, name));
const measureBytes = async (b: Buffer): Promise<ImageMetrics> => measureImage(await decodeForMetrics(b));
const measureFile = (name: string): Promise<ImageMetrics> => measureBytes(read(name));

describe('measureImage', () => {
  let photo: Buffer;
  beforeAll(() => {
    photo = read('Landscape_9.jpg');
  });

  it('separates a sharp photo from its blurred copy', async () => {
    const sharpShot = await measureBytes(photo);
    const blurred = await measureBytes(await sharp(photo).blur(3).jpeg({ quality: 90 }).toBuffer());
    expect(sharpShot.blur).toBeGreaterThan(5 * blurred.blur);
    // Resolution alone does not make a photo "blurry": a half-size copy keeps most of its score.
    const half = await measureBytes(await sharp(photo).resize({ width: 240 }).jpeg({ quality: 90 }).toBuffer());
    expect(half.blur).toBeGreaterThan(5 * blurred.blur);
  });

  it('tells dark from bright', async () => {
    const dark = await measureBytes(await sharp(photo).modulate({ brightness: 0.35 }).jpeg().toBuffer());
    const bright = await measureBytes(await sharp(photo).modulate({ brightness: 1.6 }).jpeg().toBuffer());
    expect(dark.brightness).toBeLessThan(0.3);
    expect(bright.brightness).toBeGreaterThan(0.7);
    expect((await measureFile('concert.jpg')).brightness).toBeLessThan(0.25); // a night concert
    const black = measureImage({ data: Buffer.alloc(16 * 16 * 3, 0), width: 16, height: 16, channels: 3 });
    const white = measureImage({ data: Buffer.alloc(16 * 16 * 3, 255), width: 16, height: 16, channels: 3 });
    expect([black.brightness, white.brightness]).toEqual([0, 1]);
    expect([white.contrast, white.entropy, white.blur]).toEqual([0, 0, 0]);
  });

  it('detects greyscale images, stored as grey or as RGB, and not colour photos', async () => {
    for (const f of ['concert.jpg', '320x240.jpg', 'grey-8bit-alpha.png', '16-bit-grey-alpha.png', 'thRandom.jpg']) {
      expect({ f, grey: (await measureFile(f)).greyscale }).toEqual({ f, grey: true });
    }
    for (const f of ['Landscape_1.jpg', '4.webp', 'flowers.jpeg', 'low-contrast.jpg', 'random.jpg']) {
      expect({ f, grey: (await measureFile(f)).greyscale }).toEqual({ f, grey: false });
    }
    // A grey photo turned to RGB JPEG stays greyscale; a small red logo on it makes it colour.
    const greyRgb = await sharp(photo).greyscale().toColourspace('srgb').jpeg({ quality: 80 }).toBuffer();
    const g = await measureBytes(greyRgb);
    expect(g.greyscale).toBe(true);
    expect(g.colorfulness).toBeLessThan(3);
    const logo = await sharp({ create: { width: 80, height: 80, channels: 3, background: '#e01010' } }).png().toBuffer();
    const withLogo = await sharp(greyRgb).composite([{ input: logo, left: 10, top: 10 }]).jpeg().toBuffer();
    expect((await measureBytes(withLogo)).greyscale).toBe(false);
  });

  it('finds near-duplicates by pHash and keeps different photos apart', async () => {
    const original = await measureBytes(photo);
    const copy = await measureBytes(await sharp(photo).resize({ width: 300 }).jpeg({ quality: 60 }).toBuffer());
    expect(original.phash).toMatch(/^[0-9a-f]{16}$/);
    expect(hamming(original.phash, copy.phash)).toBeLessThanOrEqual(6);
    expect(hamming(original.dhash, copy.dhash)).toBeLessThanOrEqual(6);
    // low-contrast.jpg is a flattened edit of the Flickr photo: a near-duplicate too.
    const flickr = await measureFile('2569067123_aca715a2ee_o.jpg');
    expect(hamming(flickr.phash, (await measureFile('low-contrast.jpg')).phash)).toBeLessThanOrEqual(6);
    for (const other of ['2569067123_aca715a2ee_o.jpg', '4.webp', 'Landscape_1.jpg', 'concert.jpg', 'Crash_test.gif']) {
      expect({ other, d: hamming(original.phash, (await measureFile(other)).phash) >= 20 }).toEqual({ other, d: true });
    }
  });

  it('measures the full decode like the thumbnail (hashes, brightness, colour)', async () => {
    const full = measureImage(await decodeImage(photo));
    const thumb = await measureBytes(photo);
    expect(hamming(full.phash, thumb.phash)).toBeLessThanOrEqual(4);
    expect(Math.abs(full.brightness - thumb.brightness)).toBeLessThan(0.02);
    expect(Math.abs(full.colorfulness - thumb.colorfulness)).toBeLessThan(2);
    expect(full.aspect).toBeCloseTo(480 / 369, 3);
    expect(thumb.aspect).toBeCloseTo(480 / 369, 3);
  });

  it('names dominant colours people would use', () => {
    const solid = (hex: string): ImageMetrics => {
      const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
      const data = Buffer.alloc(20 * 10 * 3);
      for (let i = 0; i < data.length; i += 3) data.set(i < data.length / 2 ? [r, g, b] : [255, 255, 255], i);
      return measureImage({ data, width: 20, height: 10, channels: 3 });
    };
    const orange = solid('#ff8800');
    expect(orange.dominantColors.map((c) => c.name).sort()).toEqual(['orange', 'white']);
    expect(orange.dominantColors.find((c) => c.name === 'orange')).toMatchObject({ hex: '#ff8800', share: 0.5 });
    expect(solid('#123a7a').dominantColors.map((c) => c.name)).toContain('dark blue');
    expect(colorName(0, 0, 0)).toBe('black');
    expect(colorName(128, 128, 128)).toBe('grey');
    expect(colorName(30, 160, 40)).toBe('green');
    expect(colorName(110, 60, 20)).toBe('brown');
    expect(colorName(250, 230, 40)).toBe('yellow');
    expect(colorName(140, 40, 180)).toBe('purple');
  });

  it('reports entropy low for flat images and high for photos, and the aspect ratio', async () => {
    const photoM = await measureBytes(photo);
    expect(photoM.entropy).toBeGreaterThan(6);
    expect((await measureFile('big-height.webp')).entropy).toBeLessThan(1);
    expect(photoM.contrast).toBeGreaterThan((await measureFile('low-contrast.jpg')).contrast);
    expect((await measureFile('Portrait_6.jpg')).aspect).toBe(0.75);
  });

  it('accepts grey and RGBA buffers as well as RGB', () => {
    const grey = measureImage({ data: new Uint8Array(64 * 64).fill(200), width: 64, height: 64, channels: 1 });
    expect(grey.brightness).toBeCloseTo(200 / 255, 3);
    expect(grey.greyscale).toBe(true);
    expect(() => measureImage({ data: new Uint8Array(10), width: 64, height: 64, channels: 3 })).toThrow(RangeError);
  });
});

describe('hamming', () => {
  it('counts differing bits and refuses hashes of different kinds', () => {
    expect(hamming('0000000000000000', '0000000000000000')).toBe(0);
    expect(hamming('ffffffffffffffff', '0000000000000000')).toBe(64);
    expect(hamming('8000000000000001', '0000000000000000')).toBe(2);
    expect(() => hamming('abc', 'abcd')).toThrow(LoraloopError);
  });
});

describe('estimateJpegQuality', () => {
  it('recovers the quality sharp encoded with (within 5)', async () => {
    const img = sharp(read('Landscape_9.jpg'));
    for (const q of [50, 90]) {
      for (const chromaSubsampling of ['4:2:0', '4:4:4']) {
        const est = estimateJpegQuality(await img.clone().jpeg({ quality: q, chromaSubsampling }).toBuffer());
        expect(est).not.toBeNull();
        expect(Math.abs((est as number) - q)).toBeLessThanOrEqual(5);
      }
    }
    expect(estimateJpegQuality(await img.clone().jpeg({ quality: 20 }).toBuffer())).toBeLessThan(30);
  });

  it('returns null for anything that is not a JPEG', async () => {
    expect(estimateJpegQuality(read('grey-8bit-alpha.png'))).toBeNull();
    expect(estimateJpegQuality(Buffer.from([0xff, 0xd8]))).toBeNull();
    expect(estimateJpegQuality(read('corrupt-header.jpg'))).toBeNull();
  });
});

describe('kohyaBucket', () => {
  it('matches kohya sd-scripts for known sizes (predefined buckets, upscaling allowed)', () => {
    expect(kohyaBucket(1920, 1080, { resolution: 1024 })).toMatchObject({ width: 1024, height: 576, upscaled: false });
    expect(kohyaBucket(1920, 1080, { resolution: 1024, maxReso: 2048 })).toMatchObject({
      width: 1344,
      height: 768,
      resizedWidth: 1365,
      resizedHeight: 768,
    });
    expect(kohyaBucket(512, 512, { resolution: 1024 })).toMatchObject({ width: 1024, height: 1024, upscaled: true });
    expect(kohyaBucket(768, 512, { resolution: 512, maxReso: 1024 })).toMatchObject({ width: 640, height: 384 });
  });

  it('matches kohya with bucket_no_upscale', () => {
    expect(kohyaBucket(3000, 2000, { resolution: 1024, noUpscale: true })).toMatchObject({
      width: 1216,
      height: 832,
      resizedWidth: 1248,
      resizedHeight: 832,
    });
    expect(kohyaBucket(500, 700, { resolution: 1024, noUpscale: true })).toMatchObject({
      width: 448,
      height: 640,
      upscaled: false,
    });
  });

  it('builds the bucket list like make_bucket_resolutions', () => {
    const sd15 = bucketResolutions(512, 256, 1024, 64);
    // Sorted by width then height, like Python's sort of tuples.
    expect(sd15.slice(0, 4)).toEqual([
      [256, 832],
      [256, 896],
      [256, 960],
      [256, 1024],
    ]);
    expect(sd15).toContainEqual([512, 512]);
    expect(sd15).toContainEqual([640, 384]);
    expect(sd15.every(([w, h]) => w * h <= 512 * 512 && w % 64 === 0 && h % 64 === 0)).toBe(true);
  });

  it('knows the training resolution of each base model', () => {
    expect([resolutionTarget('flux'), resolutionTarget('sdxl'), resolutionTarget('sd15')]).toEqual([1024, 1024, 512]);
  });
});
