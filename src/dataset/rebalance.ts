/**
 * dataset_rebalance: bring a project's category mix towards its targets.
 *
 * What augmentation CAN do, it plans (and with `apply` does):
 * - crops that turn full-body shots into medium shots and medium shots into close-ups: new images with
 *   `derived_from` set and the caption's framing words changed;
 * - horizontal flips of under-represented shots, only when allowed (off by default: logos, text, hair
 *   partings and asymmetric outfits make the mirror image a different subject);
 * - caption variations: derived images get their parent's caption with the framing changed and the phrase
 *   order rotated, so they do not teach the same sentence twice;
 * - kohya num_repeats per category subset, computed so that the effective mix (images x repeats) approaches
 *   the middle of each target range ({@link computeRepeats}; dataset_export takes them as `repeats`).
 * What it CANNOT do (multi-character, occlusion, missing full-body shots) goes into a targeted-collection
 * profile: for each missing category, how many images and which keywords to look for.
 *
 * Categories are read from the stored images (given categories, else tags and caption) without decoding.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Store } from '../store/index.js';
import { normalizeCaption } from './captions/rules.js';
import type { LoraImageRecord, LoraRecord } from '../store/repos/loras.js';
import { readStoredBlob } from '../store/stored-blob.js';
import { finalizeCaption } from './captions/finalize.js';
import { buildVocabulary } from './captions/vocabulary.js';
import { distribution, findGaps, imagesToReach, type CategoryStat } from './analyze/gaps.js';
import { collectKeywords, CONTENT, CROPPABLE_FROM, FRAMING, IMPACT, imageCategories, targetsFor, type TargetRange } from './analyze/taxonomy.js';
import { decodeImage } from '../image/decode.js';
import { resolutionTarget } from '../image/metrics.js';

export type RebalanceStrategy = 'augment' | 'repeats' | 'collect';

/** Largest num_repeats computeRepeats hands out: beyond this a subset is memorised, not balanced. */
export const MAX_REPEATS = 10;

/** kv key under which the last computed repeats of a project are kept (dataset_export/training may read it). */
export const repeatsKey = (loraId: string): string => `dataset_repeats:${loraId}`;

/**
 * kohya num_repeats per category subset so that images x repeats approaches the middle of each target range.
 * Subsets with a target get repeats proportional to target / count, scaled so the most over-supplied one
 * gets 1, rounded, capped at `max`; subsets without a target (or empty) get 1.
 *
 * @param counts images per subset (category name -> count)
 * @param targets target ranges in percent
 */
export function computeRepeats(counts: Record<string, number>, targets: Record<string, TargetRange>, max = MAX_REPEATS): Record<string, number> {
  const weights = new Map<string, number>();
  for (const [c, n] of Object.entries(counts)) {
    const t = targets[c];
    if (t && n > 0) weights.set(c, (t[0] + t[1]) / 2 / n);
  }
  const min = Math.min(...weights.values());
  const out: Record<string, number> = {};
  for (const c of Object.keys(counts)) {
    const w = weights.get(c);
    out[c] = w === undefined ? 1 : Math.max(1, Math.min(max, Math.round(w / min)));
  }
  return out;
}

/** Effective share (percent) of each subset after repeats. */
export function effectiveShares(counts: Record<string, number>, repeats: Record<string, number>): Record<string, number> {
  const total = Object.entries(counts).reduce((s, [c, n]) => s + n * (repeats[c] ?? 1), 0);
  const out: Record<string, number> = {};
  for (const [c, n] of Object.entries(counts)) out[c] = total > 0 ? Math.round(((n * (repeats[c] ?? 1)) / total) * 1000) / 10 : 0;
  return out;
}

/** A derived image to make. */
export interface PlannedDerivation {
  kind: 'crop' | 'flip';
  image_id: string;
  label: string;
  /** Category of the new image. */
  category: string;
  /** Crop box in source pixels (crop only). */
  box?: { left: number; top: number; width: number; height: number };
  caption: string;
  /** Set after apply. */
  new_image_id?: string;
}

/** One entry of the targeted-collection profile. */
export interface CollectionNeed {
  category: string;
  /** Images to collect to reach the lower bound of the target. */
  count: number;
  target: TargetRange;
  keywords: string[];
  why: string;
}

/** The targeted-collection profile (written as JSON with apply). */
export interface CollectionProfile {
  lora: string;
  trigger_word: string;
  asset_type: string;
  created_at: string;
  images_after_augmentation: number;
  needs: CollectionNeed[];
}

/** A rebalance plan. */
export interface RebalancePlan {
  lora: LoraRecord;
  strategy: RebalanceStrategy;
  images: number;
  before: Record<string, CategoryStat>;
  derivations: PlannedDerivation[];
  /** Subset (first category) -> images, after the planned derivations. */
  subsets: Record<string, number>;
  repeats: Record<string, number>;
  /** Effective share per subset after derivations and repeats. */
  effective: Record<string, number>;
  collection: CollectionProfile;
  notes: string[];
}

/** What rebalancing needs: the project's images, blobs for derived crops, kv for the repeats it saves, the clock. */
export interface RebalanceDeps {
  store: Pick<Store, 'loras' | 'blobs' | 'kv'>;
  now: () => Date;
}

/** Options for {@link planRebalance}. */
export interface RebalanceOptions {
  strategy: RebalanceStrategy;
  allowFlips?: boolean;
  /** Most new images augmentation may add (default 50). */
  maxNewImages?: number;
  targets?: Record<string, TargetRange>;
}

const FRAMING_SET = new Set<string>(FRAMING);
const UNCATEGORIZED = 'uncategorized';

/** Crop box for a framing change, or null when the result would be too small to train on. */
function cropBox(w: number, h: number, to: string, from: string, minSide: number): PlannedDerivation['box'] | null {
  let box: { left: number; top: number; width: number; height: number };
  if (to === 'medium shot') {
    // Head to waist of a standing figure: the upper 55%, full width.
    box = { left: 0, top: 0, width: w, height: Math.round(h * 0.55) };
  } else if (from === 'medium shot') {
    // Head and shoulders of a medium shot: upper 50%, central 70%.
    const width = Math.round(w * 0.7);
    box = { left: Math.round((w - width) / 2), top: 0, width, height: Math.round(h * 0.5) };
  } else {
    // Head of a full-body shot: upper 28%, central 60%.
    const width = Math.round(w * 0.6);
    box = { left: Math.round((w - width) / 2), top: 0, width, height: Math.round(h * 0.28) };
  }
  if (Math.min(box.width, box.height) < minSide) return null;
  // Keep the crop within 2:1 either way so kohya does not crop it again.
  if (box.width > box.height * 2) {
    const width = box.height * 2;
    box = { ...box, left: box.left + Math.round((box.width - width) / 2), width };
  }
  return box;
}

const FRAMING_WORDS = /\b(full[- ]?body( shot)?|full[- ]length|whole body|medium[- ]shot|mid[- ]shot|waist[- ]up|close[- ]?up( shot)?|headshot)\b/gi;

/** The parent's caption with the framing changed and the phrase order rotated (a caption variation). */
export function variedCaption(parentCaption: string | null, tags: string[], trigger: string, framing: string | null, flip: boolean): string {
  let body = normalizeCaption(parentCaption ?? tags.join(', '));
  const t = normalizeCaption(trigger);
  if (t && body.toLowerCase().startsWith(t.toLowerCase())) body = body.slice(t.length).replace(/^[\s,;:]+/, '');
  if (framing) body = body.replace(FRAMING_WORDS, '').replace(/\s*,\s*(,\s*)+/g, ', ').replace(/^[\s,]+|[\s,]+$/g, '');
  if (flip) body = body.replace(/\b(left|right)\b/gi, (m) => (m.toLowerCase() === 'left' ? (m[0] === 'L' ? 'Right' : 'right') : m[0] === 'R' ? 'Left' : 'left'));
  const phrases = body.split(/\s*,\s*/).filter((p) => p !== '');
  // Rotate the descriptive phrases by one so the derived caption is not the parent's sentence again.
  if (phrases.length > 2) phrases.push(phrases.shift() as string);
  const parts = [framing ?? '', ...phrases, flip ? 'mirrored view' : ''].filter((p) => p !== '');
  return `${t}, ${parts.join(', ')}`;
}

/** Make the plan (no side effects). */
export async function planRebalance(services: RebalanceDeps, lora: LoraRecord, opts: RebalanceOptions): Promise<RebalancePlan> {
  const images = await services.store.loras.listImages(lora.id);
  const targets = opts.targets ?? targetsFor(lora.asset_type, lora.targets);
  const catsOf = new Map<string, string[]>(images.map((i) => [i.id, imageCategories(i.categories, i.tags, i.caption)]));
  const counts = new Map<string, number>();
  for (const cs of catsOf.values()) for (const c of cs) counts.set(c, (counts.get(c) ?? 0) + 1);
  const total = images.length;
  const before = distribution(counts, total, targets);
  const notes: string[] = [];
  const derivations: PlannedDerivation[] = [];
  const maxNew = opts.maxNewImages ?? 50;
  const minSide = Math.round(resolutionTarget(lora.base_model) * 0.375);
  const vocab = buildVocabulary(lora.vocabulary);
  const caption = (c: string): string => finalizeCaption(c, lora.trigger_word, vocab).caption;

  // Running counts as the plan adds images.
  const after = new Map(counts);
  let totalAfter = total;
  const parentsUsed = new Set(images.filter((i) => i.derived_from).map((i) => `${i.derived_from}`));
  const primaryOf = (i: LoraImageRecord): string | undefined => (catsOf.get(i.id) ?? []).find((c) => FRAMING_SET.has(c));

  if (opts.strategy === 'augment') {
    // Crops first (they change framing without inventing content). One crop at a time, always for the
    // croppable category furthest below its target, since every new image also dilutes the others.
    const croppable = (['medium shot', 'close-up'] as const).filter((c) => targets[c]);
    const pools = new Map<string, LoraImageRecord[]>();
    let small = 0;
    for (const to of croppable) {
      const pool: LoraImageRecord[] = [];
      for (const from of CROPPABLE_FROM[to] ?? []) pool.push(...images.filter((i) => !i.derived_from && !parentsUsed.has(i.id) && primaryOf(i) === from));
      pools.set(to, pool);
    }
    const boxes = new Map<string, PlannedDerivation['box'] | null>();
    for (;;) {
      if (derivations.length >= maxNew) break;
      let best: { to: string; deficit: number } | undefined;
      for (const to of croppable) {
        const t = targets[to] as TargetRange;
        const deficit = t[0] - ((after.get(to) ?? 0) / Math.max(1, totalAfter)) * 100;
        if (deficit > 0 && (pools.get(to)?.length ?? 0) > 0 && (!best || deficit > best.deficit)) best = { to, deficit };
      }
      if (!best) break;
      const to = best.to;
      const pool = pools.get(to) as LoraImageRecord[];
      const src = pool.shift() as LoraImageRecord;
      if (parentsUsed.has(src.id)) continue;
      const from = primaryOf(src) as string;
      const key = `${src.id}>${to}`;
      if (!boxes.has(key)) boxes.set(key, cropBox(src.width, src.height, to, from, minSide) ?? null);
      const box = boxes.get(key);
      if (!box) {
        small++;
        continue;
      }
      parentsUsed.add(src.id);
      derivations.push({ kind: 'crop', image_id: src.id, label: src.file_name, category: to, box, caption: caption(variedCaption(src.caption, src.tags, lora.trigger_word, to, false)) });
      after.set(to, (after.get(to) ?? 0) + 1);
      // The crop keeps the parent's content categories (background, other people) but not its framing.
      for (const c of catsOf.get(src.id) ?? []) if (!FRAMING_SET.has(c)) after.set(c, (after.get(c) ?? 0) + 1);
      totalAfter++;
    }
    if (small) notes.push(`${small} source image${small === 1 ? ' is' : 's are'} too small to crop a closer framing from (under ${minSide} px).`);
    if (opts.allowFlips) {
      for (const gap of findGaps(distribution(after, totalAfter, targets), totalAfter)) {
        if (gap.direction !== 'under') continue;
        const want = Math.min(imagesToReach(after.get(gap.category) ?? 0, totalAfter, gap.target[0]), maxNew - derivations.length);
        if (want <= 0) continue;
        const sources = images.filter((i) => !i.derived_from && !parentsUsed.has(i.id) && (catsOf.get(i.id) ?? []).includes(gap.category));
        let made = 0;
        for (const src of sources.slice(0, want)) {
          parentsUsed.add(src.id);
          derivations.push({ kind: 'flip', image_id: src.id, label: src.file_name, category: gap.category, caption: caption(variedCaption(src.caption, src.tags, lora.trigger_word, null, true)) });
          made++;
        }
        // A flip repeats every category of its source.
        for (const src of sources.slice(0, made)) for (const c of catsOf.get(src.id) ?? []) after.set(c, (after.get(c) ?? 0) + 1);
        totalAfter += made;
      }
    } else {
      notes.push('Horizontal flips are off (subjects are often asymmetric: logos, text, hair partings); pass allow_flips: true if mirroring is safe for this set.');
    }
    if (derivations.length >= maxNew) notes.push(`Stopped at ${maxNew} new images (max_new_images).`);
  }

  // Subsets by primary category, after derivations.
  const subsets: Record<string, number> = {};
  for (const i of images) {
    const p = (catsOf.get(i.id) ?? [])[0] ?? UNCATEGORIZED;
    subsets[p] = (subsets[p] ?? 0) + 1;
  }
  for (const d of derivations) {
    const p = d.kind === 'crop' ? d.category : ((catsOf.get(d.image_id) ?? [])[0] ?? UNCATEGORIZED);
    subsets[p] = (subsets[p] ?? 0) + 1;
  }
  const repeats = opts.strategy === 'collect' ? Object.fromEntries(Object.keys(subsets).map((k) => [k, 1])) : computeRepeats(subsets, targets);
  const effective = effectiveShares(subsets, repeats);
  if (subsets[UNCATEGORIZED]) notes.push(`${subsets[UNCATEGORIZED]} images have no category and stay at 1 repeat; caption_write with a vision model or tags would place them.`);

  // What augmentation and repeats cannot fix: categories still under target (content categories are never
  // helped by repeats, since a subset is one framing category).
  const needs: CollectionNeed[] = [];
  const afterDist = distribution(after, totalAfter, targets);
  for (const [category, s] of Object.entries(afterDist)) {
    const t = s.target;
    if (!t || s.share >= t[0]) continue;
    const isContent = (CONTENT as readonly string[]).includes(category);
    const eff = effective[category];
    const repeatsFix = !isContent && eff !== undefined && eff >= t[0] && s.count > 0;
    if (repeatsFix && opts.strategy !== 'collect') continue;
    needs.push({
      category,
      count: imagesToReach(s.count, totalAfter, t[0]),
      target: t,
      keywords: collectKeywords(category),
      why: `${category} is ${Math.round(s.share)}% against ${t[0]}-${t[1]}%${isContent ? '; crops and repeats cannot make it' : s.count === 0 ? '; there is nothing to repeat or crop' : ''}: ${IMPACT[category] ?? 'prompts for it will be weak'}`,
    });
  }
  needs.sort((a, b) => b.count - a.count);
  const collection: CollectionProfile = {
    lora: lora.name,
    trigger_word: lora.trigger_word,
    asset_type: lora.asset_type,
    created_at: services.now().toISOString(),
    images_after_augmentation: totalAfter,
    needs,
  };
  return { lora, strategy: opts.strategy, images: total, before, derivations, subsets, repeats, effective, collection, notes };
}

/** What {@link applyRebalance} did. */
export interface RebalanceApplied {
  created: number;
  skipped: Array<{ image_id: string; reason: string }>;
  categorized: number;
  profile_path: string;
}

/**
 * Carry out a plan: make the derived images (blob first, then the row), store categories on images that had
 * none (so the export's subsets are the categories the repeats were computed for), keep the repeats in kv,
 * and write the collection profile.
 */
export async function applyRebalance(services: RebalanceDeps, plan: RebalancePlan, profilePath: string, signal?: AbortSignal): Promise<RebalanceApplied> {
  const loras = services.store.loras;
  const lora = plan.lora;
  const vocab = buildVocabulary(lora.vocabulary);
  const skipped: RebalanceApplied['skipped'] = [];
  let created = 0;
  // Categories first, from the same reading the plan used.
  let categorized = 0;
  for (const img of await loras.listImages(lora.id)) {
    if (img.categories !== null) continue;
    const cats = imageCategories(null, img.tags, img.caption);
    if (cats.length) {
      await loras.updateImage(img.id, { categories: cats });
      categorized++;
    }
  }
  for (const d of plan.derivations) {
    signal?.throwIfAborted();
    const src = await loras.getImage(d.image_id);
    if (!src) {
      skipped.push({ image_id: d.image_id, reason: 'the source image is gone' });
      continue;
    }
    let pipeline = sharp(await readStoredBlob(services.store.blobs, { sha256: src.blob_sha256, path: src.blob_path }));
    pipeline = d.kind === 'crop' && d.box ? pipeline.extract(d.box) : pipeline.flop();
    const bytes = await pipeline.png().toBuffer();
    const decoded = await decodeImage(bytes);
    if (await loras.findImageByPixelHash(lora.id, decoded.pixelHash)) {
      skipped.push({ image_id: d.image_id, reason: 'the same pixels are already in the project' });
      continue;
    }
    // Store as the parent was stored (JPEG parents stay JPEG at the intake's quality).
    const asPng = path.extname(src.blob_path).toLowerCase() === '.png';
    const out = asPng ? await sharp(bytes).png({ compressionLevel: 6 }).toBuffer() : await sharp(bytes).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer();
    const blob = await services.store.blobs.put(out, asPng ? 'png' : 'jpg');
    const stem = path.basename(src.file_name, path.extname(src.file_name));
    const suffix = d.kind === 'crop' ? d.category.replace(/[^a-z]+/g, '-') : 'flipped';
    const parentCats = imageCategories(src.categories, src.tags, src.caption);
    const categories = d.kind === 'crop' ? [d.category, ...parentCats.filter((c) => !FRAMING_SET.has(c))] : parentCats;
    const fin = finalizeCaption(d.caption, lora.trigger_word, vocab);
    const row = await loras.addImage({
      lora_id: lora.id,
      blob_sha256: blob.sha256,
      blob_path: blob.path,
      pixel_hash: decoded.pixelHash,
      width: decoded.width,
      height: decoded.height,
      format: asPng ? 'png' : 'jpeg',
      source: `${d.kind}:${src.id}`,
      file_name: `${stem}-${suffix}${asPng ? '.png' : '.jpg'}`,
      caption: fin.caption,
      caption_status: 'ok',
      caption_source: 'variation',
      tags: src.tags,
      categories,
      derived_from: src.id,
    });
    d.new_image_id = row.id;
    created++;
  }
  await services.store.kv.set(repeatsKey(lora.id), { repeats: plan.repeats, subsets: plan.subsets, strategy: plan.strategy, computed_at: services.now().toISOString() });
  await mkdir(path.dirname(profilePath), { recursive: true });
  const tmp = `${profilePath}.${process.pid}.part`;
  await writeFile(tmp, JSON.stringify(plan.collection, null, 2) + '\n', 'utf8');
  await rename(tmp, profilePath);
  return { created, skipped, categorized, profile_path: profilePath };
}

/** Default place of the collection profile: `<home>/datasets/<project name>/collection-profile.json`. */
export function defaultProfilePath(home: string, lora: LoraRecord): string {
  return path.join(home, 'datasets', lora.name.replace(/[^A-Za-z0-9._-]+/g, '-'), 'collection-profile.json');
}
