/**
 * dataset_analyze's engine. Streams a set of images (a project's or a folder's) through two workers (p-queue):
 * read bytes -> small decode (decodeForMetrics, 256 px, JPEG shrink-on-load) -> metrics -> per-image checks
 * and categories. Only a compact record per image is kept (hashes, a few numbers, categories), never pixels or
 * file bytes, so 5,000 images fit in a few MB. Broken files are reported and the analysis goes on.
 * Set-level work (duplicate groups, greyscale in a colour set, distribution, gaps, volume) runs at the end.
 */
import { createHash } from 'node:crypto';
import PQueue from 'p-queue';
import type { CoinSpotter } from '../ports.js';
import { LoraloopError, isLoraloopError } from '../../core/errors.js';
import { decodeForMetrics, type MetricsImage } from '../../image/decode.js';
import { isImageFailure, type PeopleDetector } from '../people/detector.js';
import { shotCategories, shotFromPixels, shotTypingApplies, type ShotType } from '../people/index.js';
import { estimateJpegQuality, measureImage, type BaseModel } from '../../image/metrics.js';
import { checkMetrics, checkResolution, GRAPHIC_THRESHOLDS, PHOTO_THRESHOLDS, type ImageIssue, type IssueKind } from './checks.js';
import { duplicateGroups } from './duplicates.js';
import { distribution, findGaps, volumeLevel, type CategoryStat, type Gap, type VolumeLevel } from './gaps.js';
import type { ImageInput } from './sources.js';
import { FRAMING, GRAPHIC_ASSET_TYPES, imageCategories, paletteFamily, type TargetRange } from './taxonomy.js';

/** The compact record kept for every analysed image. */
export interface AnalyzedImage {
  /** image_id (project) or file (folder): how issues and duplicate groups name it. */
  key: string;
  image_id?: string;
  file?: string;
  label: string;
  width: number;
  height: number;
  /** kohya bucket, `WxH`. */
  bucket: string;
  blur: number;
  /** Edge width (see ImageMetrics.edgeWidth). */
  edge_width: number;
  brightness: number;
  entropy: number;
  greyscale: boolean;
  aspect: number;
  /** Dominant colour names, largest first. */
  colors: string[];
  categories: string[];
  phash: string;
  dhash: string;
  /** sha256 of the bytes. */
  sha256: string;
  jpeg_quality: number | null;
  issues: ImageIssue[];
  /** What the people detector measured, when it ran (no framing in the image's text). */
  shot: ShotType | null;
}

/** One issue as dataset_analyze reports it. */
export interface AnalysisIssue {
  image_id?: string;
  file?: string;
  label: string;
  kind: IssueKind;
  detail: string;
}

/** Options for {@link analyzeImages}. */
export interface AnalyzeOptions {
  baseModel: BaseModel;
  assetType: string;
  /** Tickers the project serves (coin sets): each becomes a `coin:SYM` category with a coverage target. */
  coins?: string[];
  /** Target ranges in percent by category. */
  targets: Record<string, TargetRange>;
  /** Reads coin names in captions, tags and file names (coin sets). */
  detector?: CoinSpotter;
  /**
   * Reads the shot from the pixels of images whose text names no framing (sets of people: not icons, logos
   * or coins). Without it such images stay unclassified.
   */
  people?: PeopleDetector;
  /** Images in flight (default ANALYZE_CONCURRENCY). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, message: string) => void;
  /** Called for each analysed image with its small decode (e.g. to make a thumbnail). */
  onImage?: (rec: AnalyzedImage, small: MetricsImage) => void | Promise<void>;
}

/** The analysis of a set. Shares and targets are percents. */
export interface DatasetAnalysis {
  /** Files or project images seen. */
  images: number;
  analyzed: number;
  broken: number;
  /** Analysed images minus the extra copies in duplicate groups. */
  usable: number;
  issues: AnalysisIssue[];
  duplicates: string[][];
  categories: Record<string, CategoryStat>;
  gaps: Gap[];
  volume_level: VolumeLevel;
  /** Images with no framing category while framing targets apply. */
  unclassified: number;
  /** Images whose categories were read from the pixels (their text named no framing). */
  typed_from_pixels: number;
  /** Why pixel shot typing was unavailable, when it failed (the analysis then goes on from text alone). */
  shot_typing_error: string | null;
  /** Images per kohya bucket. */
  buckets: Record<string, number>;
  resolution_target: number;
  base_model: BaseModel;
  /** True when most images are in colour (greyscale ones are then flagged). */
  colour_set: boolean;
  records: AnalyzedImage[];
}

const isJpeg = (b: Buffer): boolean => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

function keyOf(input: ImageInput): { key: string; image_id?: string; file?: string } {
  if (input.image_id) return { key: input.image_id, image_id: input.image_id };
  const file = input.file ?? input.label;
  return { key: file, file };
}

function brokenDetail(e: unknown): string {
  if (isLoraloopError(e)) return e.toSentence();
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'the file is gone (deleted or moved while the analysis ran)';
  return `could not be read (${e instanceof Error ? e.message : String(e)})`;
}

/** Extra categories of coin and graphic sets: the coin(s) named, and the palette family. */
function coinCategories(input: ImageInput, colors: string[], detector: CoinSpotter | undefined, coinSet: boolean): string[] {
  if (!coinSet) return [];
  const out: string[] = [];
  if (detector) {
    const text = [input.caption ?? '', ...input.tags, input.label.replace(/\.[a-z0-9]{2,5}$/i, '').replace(/[_\-.+]+/g, ' ')].join(' , ');
    for (const c of detector.detect(text)) out.push(`coin:${c.symbol}`);
  }
  out.push(`palette:${paletteFamily(colors)}`);
  return [...new Set(out)];
}

/**
 * Images in flight. Decoding runs on libuv/libvips threads while the metrics run on the JS thread, so a few
 * more images than cores keep both cores busy (measured on 2 cores, 1024px JPEGs: 2 in flight ~98 img/s,
 * 6 in flight ~144 img/s). Memory stays small: an image in flight is its file bytes plus a 256px decode.
 */
export const ANALYZE_CONCURRENCY = 6;

/** Analyse a stream of images (see module comment). */
export async function analyzeImages(source: AsyncIterable<ImageInput>, opts: AnalyzeOptions): Promise<DatasetAnalysis> {
  const concurrency = Math.max(1, opts.concurrency ?? ANALYZE_CONCURRENCY);
  const graphic = GRAPHIC_ASSET_TYPES.has(opts.assetType);
  const thresholds = graphic ? GRAPHIC_THRESHOLDS : PHOTO_THRESHOLDS;
  const coinSet = opts.assetType === 'coin' || (opts.coins?.length ?? 0) > 0;
  const people = shotTypingApplies(opts.assetType) ? opts.people : undefined;
  let shotError: string | null = null;
  const records: AnalyzedImage[] = [];
  const brokenIssues: AnalysisIssue[] = [];
  let seen = 0;
  let done = 0;
  let resolutionTarget = 0;

  const one = async (input: ImageInput, order: number): Promise<void> => {
    const id = keyOf(input);
    try {
      const bytes = await input.read();
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const quality = input.original ? (isJpeg(bytes) ? estimateJpegQuality(bytes) : null) : input.originalQuality ? await input.originalQuality() : null;
      const small = await decodeForMetrics(bytes);
      const m = measureImage(small);
      const res = checkResolution(small.sourceWidth, small.sourceHeight, opts.baseModel);
      resolutionTarget = res.target;
      const issues = checkMetrics(m, thresholds, quality);
      if (res.issue) issues.unshift(res.issue);
      const colors = m.dominantColors.map((c) => c.name);
      const textCategories = imageCategories(input.categories, input.tags, input.caption);
      // Captions that name the framing win; the detector only looks at images whose text says nothing about it.
      let shot: ShotType | null = null;
      if (people && !shotError && !textCategories.some((c) => (FRAMING as readonly string[]).includes(c))) {
        try {
          shot = await shotFromPixels(people, small);
        } catch (e) {
          // One image the models choke on stays unclassified; a detector that cannot run at all (its worker
          // failed to start) would fail every image the same way: say it once and stop asking it.
          if (!isImageFailure(e)) shotError ??= e instanceof Error ? e.message : String(e);
        }
      }
      const pixelCategories = shot ? shotCategories(shot).filter((c) => !textCategories.includes(c)) : [];
      const rec: AnalyzedImage = {
        ...id,
        label: input.label,
        width: small.sourceWidth,
        height: small.sourceHeight,
        bucket: `${res.bucket.width}x${res.bucket.height}`,
        blur: m.blur,
        edge_width: m.edgeWidth,
        brightness: m.brightness,
        entropy: m.entropy,
        greyscale: m.greyscale,
        aspect: m.aspect,
        colors,
        categories: [...pixelCategories.filter((c) => (FRAMING as readonly string[]).includes(c)), ...textCategories, ...pixelCategories.filter((c) => !(FRAMING as readonly string[]).includes(c)), ...coinCategories(input, colors, opts.detector, coinSet)],
        phash: m.phash,
        dhash: m.dhash,
        sha256,
        jpeg_quality: quality,
        issues,
        shot,
      };
      records[order] = rec;
      await opts.onImage?.(rec, small);
    } catch (e) {
      brokenIssues[order] = { ...id, label: input.label, kind: 'broken', detail: brokenDetail(e) };
    } finally {
      done++;
      opts.onProgress?.(done, input.label);
    }
  };

  const queue = new PQueue({ concurrency });
  const failures: unknown[] = [];
  for await (const input of source) {
    if (opts.signal?.aborted) break;
    const order = seen++;
    // Backpressure: never more than a few images queued ahead of the workers.
    await queue.onSizeLessThan(concurrency);
    queue.add(() => one(input, order)).catch((e: unknown) => failures.push(e));
  }
  await queue.onIdle();
  if (failures.length) throw failures[0];
  if (opts.signal?.aborted) {
    throw new LoraloopError('CANCELED', `Canceled after ${done} of ${seen} images.`, { hint: 'Nothing was changed; run the analysis again when you are ready.' });
  }

  const analyzed = records.filter((r): r is AnalyzedImage => r !== undefined);
  const broken = brokenIssues.filter((b): b is AnalysisIssue => b !== undefined);
  // Greyscale images in a colour set.
  const colourCount = analyzed.filter((r) => !r.greyscale).length;
  const colourSet = analyzed.length > 0 && colourCount / analyzed.length >= 0.7;
  if (colourSet) {
    for (const r of analyzed) {
      if (r.greyscale) r.issues.push({ kind: 'greyscale', detail: `black and white in a colour set (${colourCount} of ${analyzed.length} images are in colour): the LoRA learns to drop colour; remove it or caption it "black and white"` });
    }
  }
  const duplicates = duplicateGroups(analyzed.map((r) => ({ key: r.key, phash: r.phash, dhash: r.dhash, exact: r.sha256 })));
  const byKey = new Map(analyzed.map((r) => [r.key, r]));
  for (const g of duplicates) {
    const first = byKey.get(g[0] as string);
    for (const k of g.slice(1)) {
      const r = byKey.get(k);
      if (!r || !first) continue;
      const exact = r.sha256 === first.sha256;
      r.issues.push({ kind: 'duplicate', detail: `${exact ? 'exact' : 'near'} duplicate of ${first.label}${first.label === r.label ? ` (${first.key})` : ''}: keep one, or the model overfits on it` });
    }
  }
  const usable = analyzed.length - duplicates.reduce((s, g) => s + g.length - 1, 0);

  // Distribution.
  const targets: Record<string, TargetRange> = { ...opts.targets };
  const coins = [...new Set((opts.coins ?? []).map((c) => c.toUpperCase()))];
  for (const c of coins) targets[`coin:${c}`] ??= [Math.floor(50 / coins.length), 100];
  const counts = new Map<string, number>();
  for (const r of analyzed) for (const c of new Set(r.categories)) counts.set(c, (counts.get(c) ?? 0) + 1);
  const categories = distribution(counts, analyzed.length, targets);
  const gaps = findGaps(categories, analyzed.length);
  const framingTargets = Object.keys(targets).some((t) => (FRAMING as readonly string[]).includes(t));
  const unclassified = framingTargets ? analyzed.filter((r) => !r.categories.some((c) => (FRAMING as readonly string[]).includes(c))).length : 0;
  const buckets: Record<string, number> = {};
  for (const r of analyzed) buckets[r.bucket] = (buckets[r.bucket] ?? 0) + 1;

  const issues: AnalysisIssue[] = [...broken];
  for (const r of analyzed) {
    for (const i of r.issues) issues.push({ ...(r.image_id ? { image_id: r.image_id } : { file: r.file as string }), label: r.label, kind: i.kind, detail: i.detail });
  }
  return {
    images: seen,
    analyzed: analyzed.length,
    broken: broken.length,
    usable,
    issues,
    duplicates,
    categories,
    gaps,
    volume_level: volumeLevel(usable),
    unclassified,
    typed_from_pixels: analyzed.filter((r) => r.shot !== null).length,
    shot_typing_error: shotError,
    buckets,
    resolution_target: resolutionTarget || (opts.baseModel === 'sd15' ? 512 : 1024),
    base_model: opts.baseModel,
    colour_set: colourSet,
    records: analyzed,
  };
}
