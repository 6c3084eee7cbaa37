/**
 * kohya sd-scripts aspect-ratio bucketing, ported from `library/train_util.py` (`BucketManager`) and
 * `make_bucket_resolutions`, so loraloop can say which bucket every training image will land in and
 * whether it will be upscaled, before a GPU is rented.
 *
 * - Without `noUpscale`: predefined buckets (area <= resolution^2, sides from minReso to maxReso in steps
 *   of 64); an image goes to the bucket whose aspect ratio is closest (first in sorted order on ties) and
 *   is resized to cover it (then center-cropped), which may upscale small images.
 * - With `noUpscale` (`bucket_no_upscale`): images larger than resolution^2 are shrunk to that area keeping
 *   their aspect, then cropped down to multiples of 64; smaller ones keep their size (cropped to 64s).
 */

/** Base models loraloop trains for. */
export type BaseModel = 'flux' | 'sdxl' | 'sd15';

/** Training resolution (square side) kohya and the Replicate trainers use for a base model. */
export function resolutionTarget(baseModel: BaseModel): number {
  switch (baseModel) {
    case 'flux':
    case 'sdxl':
      return 1024;
    case 'sd15':
      return 512;
  }
}

/** Options for {@link kohyaBucket}; defaults follow kohya's. */
export interface BucketOptions {
  /** `--resolution` (square): max area = resolution^2. */
  resolution: number;
  /** `--bucket_reso_steps` (default 64). */
  step?: number;
  /** `--min_bucket_reso` (default 256). */
  minReso?: number;
  /** `--max_bucket_reso` (default max(1024, resolution)). */
  maxReso?: number;
  /** `--bucket_no_upscale`. */
  noUpscale?: boolean;
}

/** Where an image lands. */
export interface Bucket {
  /** Bucket size (what the model is trained on). */
  width: number;
  height: number;
  /** Size the image is resized to before the center crop to the bucket. */
  resizedWidth: number;
  resizedHeight: number;
  /** True when the image is enlarged to fill the bucket (blurry training data). */
  upscaled: boolean;
  /** bucket aspect - image aspect, kohya's `ar_error`. */
  arError: number;
}

/** kohya `make_bucket_resolutions`: sorted (width, height) list. */
export function bucketResolutions(resolution: number, minSize = 256, maxSize = 1024, divisible = 64): Array<[number, number]> {
  const maxArea = resolution * resolution;
  const seen = new Set<string>();
  const out: Array<[number, number]> = [];
  const add = (w: number, h: number): void => {
    const k = `${w}x${h}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push([w, h]);
    }
  };
  const side = Math.floor(Math.sqrt(maxArea) / divisible) * divisible;
  add(side, side);
  for (let width = minSize; width <= maxSize; width += divisible) {
    const height = Math.min(maxSize, Math.floor(Math.floor(maxArea / width) / divisible) * divisible);
    if (height >= minSize) {
      add(width, height);
      add(height, width);
    }
  }
  return out.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

/** Python's `int(x + 0.5)` for positive x. */
const round = (x: number): number => Math.floor(x + 0.5);

/** The kohya bucket for an image of `width` x `height` (its displayed, upright size). */
export function kohyaBucket(width: number, height: number, opts: BucketOptions): Bucket {
  const step = opts.step ?? 64;
  const minReso = opts.minReso ?? 256;
  const maxReso = opts.maxReso ?? Math.max(1024, opts.resolution);
  const aspect = width / height;
  let reso: [number, number];
  let resized: [number, number];
  if (!opts.noUpscale) {
    const resos = bucketResolutions(opts.resolution, minReso, maxReso, step);
    let found = resos.find(([w, h]) => w === width && h === height);
    if (!found) {
      let bestErr = Infinity;
      for (const r of resos) {
        const err = Math.abs(r[0] / r[1] - aspect);
        if (err < bestErr) {
          bestErr = err;
          found = r;
        }
      }
    }
    reso = found ?? [opts.resolution, opts.resolution];
    const scale = aspect > reso[0] / reso[1] ? reso[1] / height : reso[0] / width;
    resized = [round(width * scale), round(height * scale)];
  } else {
    const maxArea = opts.resolution * opts.resolution;
    const toSteps = (x: number): number => {
      const v = round(x);
      return v - (v % step);
    };
    if (width * height > maxArea) {
      const rw = Math.sqrt(maxArea * aspect);
      const rh = maxArea / rw;
      const bw = toSteps(rw);
      const bhInW = toSteps(bw / aspect);
      const arW = bw / bhInW;
      const bh = toSteps(rh);
      const bwInH = toSteps(bh * aspect);
      const arH = bwInH / bh;
      resized = Math.abs(arW - aspect) < Math.abs(arH - aspect) ? [bw, round(bw / aspect)] : [round(bh * aspect), bh];
    } else {
      resized = [width, height];
    }
    reso = [resized[0] - (resized[0] % step), resized[1] - (resized[1] % step)];
  }
  return {
    width: reso[0],
    height: reso[1],
    resizedWidth: resized[0],
    resizedHeight: resized[1],
    upscaled: resized[0] > width || resized[1] > height,
    arError: reso[0] / reso[1] - aspect,
  };
}
