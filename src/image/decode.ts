/**
 * Safe image decoding with sharp. Every image that enters loraloop (files, downloads, generated outputs)
 * goes through here, so the rules live in one place:
 *
 * - Header first: `metadata()` reads only the header, and anything above `maxPixels` (default 40 MP) is
 *   refused BEFORE a single pixel is decoded (decompression bombs: a 50 KB PNG can claim 65536x65536).
 *   sharp's own `limitInputPixels` is set to the same limit as a second fence.
 * - Only raster formats we expect (JPEG, PNG, WebP, GIF, AVIF/HEIF, TIFF). SVG/PDF and friends are refused:
 *   they are programs more than pictures and have no place in a training set.
 * - `failOn: 'error'`: truncated files and decode errors are refused with UNSUPPORTED_IMAGE; libjpeg/libpng
 *   *warnings* (e.g. "extraneous bytes before marker", common in real camera files) are tolerated. A
 *   truncated file would otherwise decode with a grey or smeared bottom part, which poisons training
 *   silently; refusing with "download it again" is the useful answer.
 * - EXIF orientation is applied (`rotate()`), so pixels are stored upright and the dimensions are the
 *   displayed ones.
 * - Output is always 8-bit sRGB with 3 channels: CMYK and embedded ICC profiles are converted to sRGB,
 *   16-bit is reduced to 8-bit, grey is expanded to RGB, and transparency is flattened onto WHITE
 *   (#ffffff), the usual background for cut-out product and logo shots; a warning says so.
 * - Animated images (GIF/WebP) keep their first frame, with a warning.
 */
import { createHash } from 'node:crypto';
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import { LoraloopError, isLoraloopError } from '../core/errors.js';

/** Default pixel limit: 40 megapixels (e.g. 8000x5000), well above any training image. */
export const DEFAULT_MAX_PIXELS = 40_000_000;

/** Background that transparent pixels are flattened onto. */
export const FLATTEN_BACKGROUND = '#ffffff';

/** Input formats (as sharp names them) that we decode. sharp calls AVIF 'heif'. */
const ALLOWED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'heif', 'avif', 'tiff']);

/** Options for {@link decodeImage} and {@link decodeForMetrics}. */
export interface DecodeOptions {
  /** Refuse images with more pixels than this (default {@link DEFAULT_MAX_PIXELS}). */
  maxPixels?: number;
}

/** A fully decoded, normalised image: upright, 8-bit sRGB, 3 channels, first frame, no alpha. */
export interface DecodedImage {
  /** Raw RGB, 8 bits per channel, row-major, no padding. */
  data: Buffer;
  width: number;
  height: number;
  channels: 3;
  /** Source format as sharp names it (`jpeg`, `png`, `webp`, `gif`, `heif`, `tiff`). */
  format: string;
  /** True when an EXIF orientation other than 1 was applied (width/height are then the displayed ones). */
  orientationApplied: boolean;
  /** Things a person should know about the conversion (animated, CMYK, 16-bit, transparency). */
  warnings: string[];
  /** sha256 (hex) of the dimensions and normalised pixels: equal for exact duplicates in any container. */
  pixelHash: string;
  /** MIME type of what {@link DecodedImage.normalized} returns. */
  normalizedMime: 'image/png' | 'image/jpeg';
  /**
   * The normalised image encoded for storage: PNG when the source was lossless (PNG, GIF, TIFF), else
   * JPEG quality 95 with 4:4:4 chroma (no second round of chroma loss). Computed once, on first call.
   */
  normalized: () => Promise<Buffer>;
}

/** A small decode for measurements only (see {@link decodeForMetrics}). */
export interface MetricsImage {
  /** Raw RGB, 8 bits per channel; at most `size` pixels on the long side. */
  data: Buffer;
  width: number;
  height: number;
  channels: 3;
  format: string;
  /** Displayed (upright) size of the source image, for aspect ratio and resolution checks. */
  sourceWidth: number;
  sourceHeight: number;
  orientationApplied: boolean;
  warnings: string[];
}

/** What the header says, after the safety checks. */
interface Checked {
  format: string;
  width: number;
  height: number;
  orientation: number;
  warnings: string[];
}

function mp(n: number): string {
  return `${+(n / 1_000_000).toFixed(1)} MP`;
}

/** Turn a sharp/libvips failure into a sentence a person can act on. */
function decodeError(e: unknown, stage: 'header' | 'pixels'): LoraloopError {
  if (isLoraloopError(e)) return e;
  const raw = e instanceof Error ? e.message : String(e);
  const first = raw.split('\n')[0] ?? raw;
  if (/pixel limit/i.test(raw)) {
    return new LoraloopError('IMAGE_TOO_LARGE', 'The image has more pixels than the limit allows.', {
      hint: 'Downscale it before adding it.',
      cause: e,
    });
  }
  if (/premature end|truncated|read error|unexpected end|not enough data|short read/i.test(raw) && stage === 'pixels') {
    return truncatedError(e);
  }
  if (/unsupported image format/i.test(raw)) {
    return new LoraloopError('UNSUPPORTED_IMAGE', 'The file is not in an image format loraloop reads.', {
      hint: 'Give a JPEG, PNG, WebP, GIF, AVIF/HEIF or TIFF file.',
      cause: e,
    });
  }
  if (stage === 'header' || /corrupt header|bad seek|not a known file format/i.test(raw)) {
    const why = first.replace(/^Input (buffer|file) has corrupt header:?\s*/i, '');
    return new LoraloopError('UNSUPPORTED_IMAGE', `The file is not a readable image: its header is corrupt (${why}).`, {
      hint: 'Copy or download the file again, or re-save it as PNG or JPEG.',
      cause: e,
    });
  }
  return new LoraloopError('UNSUPPORTED_IMAGE', `The image could not be decoded (${first}).`, {
    hint: 'Re-save it as PNG or JPEG and try again.',
    cause: e,
  });
}

/** Read the header only and apply the format and pixel-limit rules. */
/**
 * Whether the file visibly ends early: no end marker where its format puts one. libvips keeps one error
 * buffer per process, so when several images decode at once a failure can carry another image's message;
 * this check reads the bytes themselves and does not depend on that text.
 */
export function looksTruncated(bytes: Buffer): boolean {
  const n = bytes.length;
  if (n >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    const eoi = bytes.lastIndexOf(Buffer.from([0xff, 0xd9]));
    return eoi < 0 || eoi < n - 4096;
  }
  if (n >= 8 && bytes.subarray(1, 4).toString('latin1') === 'PNG') return bytes.lastIndexOf('IEND', undefined, 'latin1') < n - 64;
  if (n >= 12 && bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP') return bytes.readUInt32LE(4) + 8 > n;
  if (n >= 6 && bytes.subarray(0, 3).toString('latin1') === 'GIF') return bytes.lastIndexOf(0x3b) < n - 64;
  return false;
}

const truncatedError = (cause: unknown) =>
  new LoraloopError('UNSUPPORTED_IMAGE', 'The image file is cut short (truncated): its pixel data ends early.', {
    hint: 'Copy or download the file again; this one is incomplete.',
    cause,
  });

/** A pixel-stage failure, named by the bytes when the library's message was generic. */
function pixelFailure(e: unknown, bytes: Buffer): unknown {
  if (isLoraloopError(e) && e.code === 'UNSUPPORTED_IMAGE' && !/truncated/.test(e.message) && looksTruncated(bytes)) return truncatedError(e);
  return e;
}

async function checkHeader(bytes: Buffer, maxPixels: number): Promise<Checked> {
  if (!Buffer.isBuffer(bytes) || bytes.length === 0) {
    throw new LoraloopError('UNSUPPORTED_IMAGE', 'The file is empty.', { hint: 'Give a JPEG, PNG or WebP file.' });
  }
  let meta: Metadata;
  try {
    // limitInputPixels: false so that an over-limit header still reports its size (our message is better).
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw decodeError(e, 'header');
  }
  const format = meta.format ?? 'unknown';
  if (!ALLOWED_FORMATS.has(format)) {
    throw new LoraloopError('UNSUPPORTED_IMAGE', `${format.toUpperCase()} files are not accepted as images.`, {
      hint: 'Convert it to PNG or JPEG first.',
    });
  }
  const width = meta.width ?? 0;
  // For animated images sharp reports the first page's height unless asked for all pages.
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (width <= 0 || height <= 0) {
    throw new LoraloopError('UNSUPPORTED_IMAGE', 'The image header has no usable size.', {
      hint: 'Re-save it as PNG or JPEG and try again.',
    });
  }
  if (width * height > maxPixels) {
    throw new LoraloopError(
      'IMAGE_TOO_LARGE',
      `The image is ${width}x${height} pixels (${mp(width * height)}), more than the ${mp(maxPixels)} limit.`,
      { hint: `Downscale it below ${mp(maxPixels)} (training uses about 1 MP) and add it again.`, details: { width, height, maxPixels } },
    );
  }
  const warnings: string[] = [];
  const pages = meta.pages ?? 1;
  if (pages > 1) warnings.push(`animated ${format.toUpperCase()} with ${pages} frames: only the first frame is used`);
  if (meta.space === 'cmyk') warnings.push('CMYK colours converted to sRGB');
  if (meta.depth === 'ushort' || meta.space === 'rgb16' || meta.space === 'grey16') {
    warnings.push('16-bit image reduced to 8 bits per channel');
  }
  const orientation = meta.orientation ?? 1;
  const swapped = orientation >= 5 && orientation <= 8;
  return { format, width: swapped ? height : width, height: swapped ? width : height, orientation, warnings };
}

/** The shared pipeline: upright, first frame, 8-bit sRGB (alpha, if any, is kept for {@link toRgb}). */
function pipeline(bytes: Buffer, maxPixels: number): Sharp {
  return sharp(bytes, { failOn: 'error', limitInputPixels: maxPixels }).rotate().toColourspace('srgb');
}

/**
 * Flatten RGBA onto white in place of sharp's `flatten()`, so that we learn whether any pixel was
 * actually transparent (many PNGs carry an alpha channel that is fully opaque: no warning for those).
 */
function flattenRgba(rgba: Buffer): { rgb: Buffer; transparent: boolean } {
  const n = rgba.length >> 2;
  const rgb = Buffer.allocUnsafe(n * 3);
  let transparent = false;
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    const a = rgba[i + 3] as number;
    if (a === 255) {
      rgb[j] = rgba[i] as number;
      rgb[j + 1] = rgba[i + 1] as number;
      rgb[j + 2] = rgba[i + 2] as number;
    } else {
      transparent = true;
      const bg = 255 * (255 - a);
      rgb[j] = Math.round(((rgba[i] as number) * a + bg) / 255);
      rgb[j + 1] = Math.round(((rgba[i + 1] as number) * a + bg) / 255);
      rgb[j + 2] = Math.round(((rgba[i + 2] as number) * a + bg) / 255);
    }
  }
  return { rgb, transparent };
}

async function toRgb(img: Sharp, warnings: string[], bytes: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await img.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw pixelFailure(decodeError(e, 'pixels'), bytes);
  }
  const { width, height, channels } = out.info;
  if (channels === 3) return { data: out.data, width, height };
  if (channels === 4) {
    const { rgb, transparent } = flattenRgba(out.data);
    if (transparent) warnings.push(`transparent pixels flattened onto white (${FLATTEN_BACKGROUND})`);
    return { data: rgb, width, height };
  }
  throw new LoraloopError('UNSUPPORTED_IMAGE', `The image decoded to ${channels} channels instead of RGB.`, {
    hint: 'Re-save it as an RGB PNG or JPEG.',
  });
}

/**
 * Decode an image fully for intake: upright 8-bit sRGB pixels plus a pixel hash and a storable encoding.
 * Throws UNSUPPORTED_IMAGE (corrupt, truncated, wrong format) or IMAGE_TOO_LARGE (above `maxPixels`).
 */
export async function decodeImage(bytes: Buffer, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const head = await checkHeader(bytes, maxPixels);
  const { data, width, height } = await toRgb(pipeline(bytes, maxPixels), head.warnings, bytes);
  const pixelHash = createHash('sha256').update(`${width}x${height}\n`).update(data).digest('hex');
  const lossless = head.format === 'png' || head.format === 'gif' || head.format === 'tiff';
  let encoded: Promise<Buffer> | undefined;
  const normalized = (): Promise<Buffer> => {
    const raw = sharp(data, { raw: { width, height, channels: 3 } });
    encoded ??= lossless
      ? raw.png({ compressionLevel: 6 }).toBuffer()
      : raw.jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer();
    return encoded;
  };
  return {
    data,
    width,
    height,
    channels: 3,
    format: head.format,
    orientationApplied: head.orientation > 1,
    warnings: head.warnings,
    pixelHash,
    normalizedMime: lossless ? 'image/png' : 'image/jpeg',
    normalized,
  };
}

/** Options for {@link decodeForMetrics}. */
export interface MetricsDecodeOptions extends DecodeOptions {
  /** Longest side of the decoded image (default 256; never enlarged). */
  size?: number;
}

/**
 * Decode straight to a small image for measurements (blur, brightness, hashes). sharp shrinks JPEGs while
 * decoding (DCT scaling), so this is several times faster than {@link decodeImage} on large photos.
 * Same safety rules as {@link decodeImage}.
 */
export async function decodeForMetrics(bytes: Buffer, opts: MetricsDecodeOptions = {}): Promise<MetricsImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const size = opts.size ?? 256;
  const head = await checkHeader(bytes, maxPixels);
  const img = pipeline(bytes, maxPixels).resize(size, size, { fit: 'inside', withoutEnlargement: true });
  const { data, width, height } = await toRgb(img, head.warnings, bytes);
  return {
    data,
    width,
    height,
    channels: 3,
    format: head.format,
    sourceWidth: head.width,
    sourceHeight: head.height,
    orientationApplied: head.orientation > 1,
    warnings: head.warnings,
  };
}
