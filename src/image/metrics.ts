/**
 * Image measurements for dataset analysis (`dataset_analyze`), critique and duplicate detection.
 * Pure and synchronous: pixels in, numbers out. No sharp here; decoding lives in `decode.ts`
 * (use `decodeForMetrics` there to get a small image fast).
 *
 * Every measurement is taken on a WORKING IMAGE of at most {@link METRICS_SIZE} (256) pixels on the long
 * side, made by area averaging (images already that small are used as they are, never enlarged). So the
 * numbers hardly depend on the source resolution: a 4000 px photo and its 1000 px copy get about the
 * same blur score. One caveat: `decodeForMetrics` thumbnails are made by sharp (Lanczos), which keeps a
 * little more edge energy than area averaging, so their blur scores run about 1.1-1.5x those of a full
 * decode passed in here. Compare blur values measured the same way (dataset analysis uses
 * `decodeForMetrics` for every image). The other metrics and the hashes agree closely between the two.
 */
import { dominantColorsOf, type NamedColor } from './metrics/colors.js';
import { dhashOf, phashOf } from './metrics/hashes.js';
import { fitInside, resampleArea } from './metrics/resample.js';
import { edgeSharpness } from './metrics/sharpness.js';

export { hamming } from './metrics/hashes.js';
export { estimateJpegQuality } from './metrics/jpeg-quality.js';
export { kohyaBucket, bucketResolutions, resolutionTarget } from './metrics/buckets.js';
export type { BaseModel, Bucket } from './metrics/buckets.js';
export { colorName } from './metrics/colors.js';
export type { NamedColor } from './metrics/colors.js';

/** Long side of the working image all metrics are computed on. */
export const METRICS_SIZE = 256;

/** Pixels to measure: a DecodedImage, a MetricsImage, or any interleaved 8-bit buffer with 1-4 channels. */
export interface PixelSource {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
  /** Upright size of the original when `data` is a thumbnail (from `decodeForMetrics`); used for `aspect`. */
  sourceWidth?: number;
  sourceHeight?: number;
}

/** Options for {@link measureImage}. */
export interface MeasureOptions {
  /** At most this many dominant colours (default 5). */
  maxColors?: number;
  /** Only colours covering at least this share of the image (default 0.05). */
  minColorShare?: number;
}

/** What {@link measureImage} returns. Scales are documented per field; all are stable across image sizes. */
export interface ImageMetrics {
  /**
   * Sharpness: variance of the 3x3 Laplacian (4-neighbour) of the grey working image (<= 256 px long side,
   * values 0..255). Higher is sharper. Rough guide at this size: < 100 looks soft or out of focus,
   * > 500 is crisp; flat graphics score low without being blurry (check `entropy` too).
   */
  blur: number;
  /**
   * Edge width in pixels of the working image (see metrics/sharpness.ts): how wide the crisper edges are,
   * in the blurrier direction. About 1-2 for anything in focus, photo or vector art; >= 2.4 looks soft
   * (defocus, camera shake). 0 when the image has too few edges to judge (then see `blur`).
   */
  edgeWidth: number;
  /** Mean luma (Rec.601), 0 = black .. 1 = white. */
  brightness: number;
  /** RMS contrast: standard deviation of luma, 0..0.5 (about 0.2 for a normal photo, < 0.08 is flat). */
  contrast: number;
  /** Shannon entropy of the 256-bin luma histogram, in bits (0..8); < 4 means little information. */
  entropy: number;
  /** Hasler-Suesstrunk colourfulness on 0..255 values: 0 grey, ~15 slightly, ~33 moderately, ~59 quite, > 80 very. */
  colorfulness: number;
  /** True when (nearly) every pixel is neutral: black and white photos, grey scans, stored as RGB or not. */
  greyscale: boolean;
  /** width / height of the (upright) source. */
  aspect: number;
  /** Named dominant colours, largest share first. */
  dominantColors: NamedColor[];
  /** 64-bit DCT perceptual hash, 16 hex digits; compare with {@link hamming} (<= 10 means near-duplicate). */
  phash: string;
  /** 64-bit difference hash, 16 hex digits. */
  dhash: string;
}

/**
 * Bring any source to an 8-bit RGB working image of at most METRICS_SIZE on the long side.
 * Always a plain Uint8Array, so every loop below sees one array type (V8 keeps those loops monomorphic,
 * which is most of the speed of this module).
 */
function workingImage(src: PixelSource): { rgb: Uint8Array; w: number; h: number } {
  const { width, height, channels, data } = src;
  if (channels < 1 || channels > 4 || data.length < width * height * channels || width < 1 || height < 1) {
    throw new RangeError(`measureImage: ${width}x${height}x${channels} does not match ${data.length} bytes`);
  }
  const { width: w, height: h } = fitInside(width, height, METRICS_SIZE);
  const n = w * h;
  if (channels === 3 && w === width && h === height) {
    return { rgb: new Uint8Array(data.buffer, data.byteOffset, n * 3), w, h };
  }
  const sized: ArrayLike<number> = w === width && h === height ? data : resampleArea(data, width, height, channels, w, h);
  const rgb = new Uint8Array(n * 3);
  // Expand grey to RGB, drop alpha (decoded images are already flattened; raw buffers are measured as-is).
  const grey = channels < 3;
  for (let i = 0; i < n; i++) {
    const s = i * channels;
    const r = sized[s] as number;
    rgb[i * 3] = Math.round(r);
    rgb[i * 3 + 1] = Math.round(grey ? r : (sized[s + 1] as number));
    rgb[i * 3 + 2] = Math.round(grey ? r : (sized[s + 2] as number));
  }
  return { rgb, w, h };
}

/** Variance of the 4-neighbour Laplacian over the interior pixels. */
function laplacianVariance(grey: Float32Array, w: number, h: number): number {
  if (w < 3 || h < 3) return 0;
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  for (let y = 1; y < h - 1; y++) {
    const row = y * w;
    for (let x = 1; x < w - 1; x++) {
      const i = row + x;
      const v =
        (grey[i - 1] as number) + (grey[i + 1] as number) + (grey[i - w] as number) + (grey[i + w] as number) - 4 * (grey[i] as number);
      sum += v;
      sumSq += v * v;
      n++;
    }
  }
  const mean = sum / n;
  return sumSq / n - mean * mean;
}

const round = (x: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** Per-pixel statistics gathered in ONE pass over the working image (speed: this runs for every image). */
interface PixelStats {
  grey: Float32Array;
  mean: number;
  std: number;
  entropy: number;
  colorfulness: number;
  greyscale: boolean;
}

/**
 * Luma (Rec.601) with its mean, standard deviation and histogram entropy; colourfulness (Hasler &
 * Suesstrunk 2003) and neutrality.
 */
function pixelStats(rgb: Uint8Array, n: number): PixelStats {
  const grey = new Float32Array(n);
  const hist = new Uint32Array(256);
  let sum = 0;
  let sumSq = 0;
  let rgS = 0;
  let rgSq = 0;
  let ybS = 0;
  let ybSq = 0;
  let chromaSum = 0;
  let vivid = 0;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const r = rgb[j] as number;
    const g = rgb[j + 1] as number;
    const b = rgb[j + 2] as number;
    const y = 0.299 * r + 0.587 * g + 0.114 * b;
    grey[i] = y;
    sum += y;
    sumSq += y * y;
    const bin = (y + 0.5) | 0;
    hist[bin] = (hist[bin] as number) + 1;
    const rg = r - g;
    const yb = 0.5 * (r + g) - b;
    rgS += rg;
    rgSq += rg * rg;
    ybS += yb;
    ybSq += yb * yb;
    const hi = r > g ? (r > b ? r : b) : g > b ? g : b;
    const lo = r < g ? (r < b ? r : b) : g < b ? g : b;
    chromaSum += hi - lo;
    if (hi - lo > 24) vivid++;
  }
  const mean = sum / n;
  const std = Math.sqrt(Math.max(0, sumSq / n - mean * mean));
  let entropy = 0;
  for (let k = 0; k < 256; k++) {
    const c = hist[k] as number;
    if (c > 0) {
      const p = c / n;
      entropy -= p * Math.log2(p);
    }
  }
  const rgMean = rgS / n;
  const ybMean = ybS / n;
  const rgVar = Math.max(0, rgSq / n - rgMean * rgMean);
  const ybVar = Math.max(0, ybSq / n - ybMean * ybMean);
  const colorfulness = Math.sqrt(rgVar + ybVar) + 0.3 * Math.sqrt(rgMean * rgMean + ybMean * ybMean);
  // Neutral on average AND almost no clearly coloured pixel: JPEG chroma noise on a grey photo stays
  // far below these; a red logo on grey does not (1% of the image is enough to count as colour).
  const greyscale = chromaSum / n < 4 && vivid / n < 0.01;
  return { grey, mean, std, entropy, colorfulness, greyscale };
}

/** Measure an image. Fast (about a millisecond on a 256 px image); see {@link ImageMetrics} for the scales. */
export function measureImage(src: PixelSource, opts: MeasureOptions = {}): ImageMetrics {
  const { rgb, w, h } = workingImage(src);
  const n = w * h;
  const { grey, mean, std, entropy, colorfulness, greyscale } = pixelStats(rgb, n);
  const aspect = (src.sourceWidth ?? src.width) / (src.sourceHeight ?? src.height);
  return {
    blur: round(laplacianVariance(grey, w, h), 2),
    edgeWidth: edgeSharpness(grey, w, h).edgeWidth,
    brightness: round(mean / 255, 4),
    contrast: round(std / 255, 4),
    entropy: round(entropy, 3),
    colorfulness: round(colorfulness, 2),
    greyscale,
    aspect: round(aspect, 4),
    dominantColors: dominantColorsOf(rgb, w, h, opts.maxColors ?? 5, opts.minColorShare ?? 0.05),
    phash: phashOf(grey, w, h),
    dhash: dhashOf(grey, w, h),
  };
}
