/**
 * Per-image quality checks, from the metrics of one image (src/image/metrics.ts). Thresholds are on the
 * metrics' own scales (a 256 px working image decoded by decodeForMetrics). Graphic sets (icons, logos, coins)
 * are flat and bright by nature: the blur, brightness and information checks are relaxed for them.
 */
import type { BaseModel, Bucket, ImageMetrics } from '../../image/metrics.js';
import { kohyaBucket, resolutionTarget } from '../../image/metrics.js';

/** Issue kinds dataset_analyze reports. */
export type IssueKind =
  | 'broken'
  | 'low_resolution'
  | 'blurry'
  | 'too_dark'
  | 'too_bright'
  | 'low_information'
  | 'odd_aspect'
  | 'greyscale'
  | 'jpeg_artifacts'
  | 'duplicate';

/** One problem with one image. */
export interface ImageIssue {
  kind: IssueKind;
  detail: string;
}

/** Thresholds; the defaults suit photos, {@link GRAPHIC_THRESHOLDS} flat graphics. */
export interface CheckThresholds {
  /** Edge width (px at the 256 px working size) from which an image with enough edges is soft. */
  edgeWidth: number;
  /**
   * For images with too few edges to measure: Laplacian variance below which the image is soft (only when
   * entropy >= minEntropyForBlur: a defocused photo has tones but no edge anywhere).
   */
  blur: number;
  minEntropyForBlur: number;
  dark: number;
  bright: number;
  /** Luma entropy (bits) below which an image carries too little information. */
  lowEntropy: number;
  /** JPEG quality below which block artefacts show. */
  jpegQuality: number;
  /** Aspect ratios outside [1/oddAspect, oddAspect] are odd (kohya crops them hard). */
  oddAspect: number;
}

export const PHOTO_THRESHOLDS: CheckThresholds = { edgeWidth: 2.4, blur: 60, minEntropyForBlur: 5, dark: 0.12, bright: 0.9, lowEntropy: 3, jpegQuality: 70, oddAspect: 2 };
export const GRAPHIC_THRESHOLDS: CheckThresholds = { edgeWidth: 2.4, blur: 8, minEntropyForBlur: 6, dark: 0.06, bright: 0.985, lowEntropy: 0.5, jpegQuality: 70, oddAspect: 2 };

/** The bucket and resolution verdict for an image. */
export interface ResolutionCheck {
  bucket: Bucket;
  target: number;
  issue: ImageIssue | null;
}

/**
 * Where kohya puts the image, and whether it is too small for the base model's resolution. Buckets are
 * computed with `bucket_no_upscale`, as dataset_export writes dataset_config.toml: a small image is not
 * enlarged but trained at its own (smaller) size, so the LoRA sees less detail than the base model expects.
 */
export function checkResolution(width: number, height: number, baseModel: BaseModel): ResolutionCheck {
  const target = resolutionTarget(baseModel);
  const bucket = kohyaBucket(width, height, { resolution: target, noUpscale: true });
  const areaShare = (width * height) / (target * target);
  let issue: ImageIssue | null = null;
  if (areaShare < 0.5 || Math.min(width, height) < target / 2) {
    issue = {
      kind: 'low_resolution',
      detail: `${width}x${height} is below the ${target}x${target} target for ${baseModel}: it trains in a ${bucket.width}x${bucket.height} bucket, ${Math.round(areaShare * 100)}% of the target area, so the LoRA learns it small and soft; use a larger original`,
    };
  }
  return { bucket, target, issue };
}

/**
 * Blur, judged per image from its edges: an image with edges is soft when even its crisper edges are wide
 * (defocus, camera shake), however few edges it has, so flat icons, logos and vector illustrations with
 * crisp edges pass in any set. Only an image with (almost) no edge at all falls back to the Laplacian
 * variance: lots of tones and nothing sharp anywhere is a defocused shot.
 */
export function blurVerdict(m: Pick<ImageMetrics, 'edgeWidth' | 'blur' | 'entropy'>, t: Pick<CheckThresholds, 'edgeWidth' | 'blur' | 'minEntropyForBlur'> = PHOTO_THRESHOLDS): string | null {
  if (m.edgeWidth > 0) {
    return m.edgeWidth >= t.edgeWidth
      ? `its crisper edges are ${m.edgeWidth.toFixed(1)} px wide at 256 px (in-focus photos and vector art measure 1-2, soft from ${t.edgeWidth}): out of focus or shaken; replace it with a sharp shot`
      : null;
  }
  return m.blur < t.blur && m.entropy >= t.minEntropyForBlur
    ? `no crisp edge anywhere (Laplacian variance ${m.blur.toFixed(0)}, below ${t.blur}): out of focus, or a smooth gradient with no detail to learn; replace it with a sharp shot`
    : null;
}

/** Quality checks of one image's metrics. */
export function checkMetrics(m: ImageMetrics, t: CheckThresholds, jpegQuality: number | null): ImageIssue[] {
  const out: ImageIssue[] = [];
  const blurry = blurVerdict(m, t);
  if (blurry) out.push({ kind: 'blurry', detail: blurry });
  if (m.brightness < t.dark) out.push({ kind: 'too_dark', detail: `mean brightness ${(m.brightness * 100).toFixed(0)}%: details are lost in the shadows; brighten it or drop it` });
  if (m.brightness > t.bright) out.push({ kind: 'too_bright', detail: `mean brightness ${(m.brightness * 100).toFixed(0)}%: highlights are blown out; use a better exposed shot` });
  if (m.entropy < t.lowEntropy) {
    out.push({ kind: 'low_information', detail: `luma entropy ${m.entropy.toFixed(1)} bits (contrast ${(m.contrast * 100).toFixed(0)}%): nearly flat, the model learns little from it` });
  }
  const a = m.aspect;
  if (a > t.oddAspect || a < 1 / t.oddAspect) {
    out.push({ kind: 'odd_aspect', detail: `aspect ${a >= 1 ? `${a.toFixed(2)}:1` : `1:${(1 / a).toFixed(2)}`}: training buckets crop or squeeze it; crop it nearer to square first` });
  }
  if (jpegQuality !== null && jpegQuality < t.jpegQuality) {
    out.push({ kind: 'jpeg_artifacts', detail: `JPEG quality about ${jpegQuality} (from its quantisation tables): block artefacts get learned as style; use a better original` });
  }
  return out;
}
