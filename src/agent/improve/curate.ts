/**
 * The targeted training set: covers people rated well go in, covers rated badly stay out, and the decision
 * whether a LoRA "changed enough" to be worth a retraining.
 *
 * Ratings come from the ratings store's feedback sets (cover_rate keeps them: a cover whose mean rating is
 * 4 or more is in its LoRA's positive set, under 3 in its negative set). A positive cover is taken into the
 * project through the same intake as uploads (its PNG is our own blob, so the blob folder is allowed for
 * this one read); an image of the project that came from a cover now in the negative set is excluded (kept,
 * but not sent to training), and re-included if the cover turns positive again.
 *
 * Retraining threshold: a LoRA is retrained when the images it would train on differ from the ones its
 * current version was trained on by at least RETRAIN_MIN_CHANGED images and at least RETRAIN_MIN_SHARE of
 * that set (added plus removed). Fewer changes rarely move a LoRA measurably and cost a GPU run.
 */
import type { Services } from '../../tools/services.js';
import { createPathGuard } from '../../core/paths.js';
import { titleCaption } from '../../dataset/collect/collect.js';
import { intakeImages, type IntakeItem } from '../../dataset/intake.js';
import { storedBlobPath } from '../../store/stored-blob.js';
import type { LoraImageRecord, LoraRecord, LoraVersionRecord } from '../../store/repos/loras.js';

/** At least this many images added or removed since the last training... */
export const RETRAIN_MIN_CHANGED = 5;
/** ...and at least this share of the set the current version was trained on. */
export const RETRAIN_MIN_SHARE = 0.1;

/** The kv key holding the image ids a LoRA was last trained on by the nightly run. */
export const trainedSetKey = (loraId: string): string => `improve.trained_set.${loraId}`;

export interface CurationPlan {
  /** Positive covers not in the project yet. */
  add: Array<{ cover_id: string; title: string; blob_sha256: string; blob_path: string; mean_stars: number }>;
  /** Project images from covers now rated under 3. */
  exclude: Array<{ image_id: string; cover_id: string; mean_stars: number }>;
  /** Excluded project images from covers rated 4+ again. */
  include: Array<{ image_id: string; cover_id: string }>;
  positives: number;
  negatives: number;
}

export async function planCuration(s: Services, lora: LoraRecord): Promise<CurationPlan> {
  const all = await s.store.loras.listImages(lora.id, { includeExcluded: true });
  const bySource = new Map<string, LoraImageRecord>();
  for (const img of all) bySource.set(img.source, img);
  const positives = await s.store.ratings.feedback(lora.name, 'positive');
  const negatives = await s.store.ratings.feedback(lora.name, 'negative');
  const plan: CurationPlan = { add: [], exclude: [], include: [], positives: positives.length, negatives: negatives.length };
  for (const p of positives) {
    const img = bySource.get(p.blob_path);
    if (!img) plan.add.push({ cover_id: p.cover_id, title: p.title, blob_sha256: p.blob_sha256, blob_path: p.blob_path, mean_stars: p.mean_stars });
    else if (img.excluded) plan.include.push({ image_id: img.id, cover_id: p.cover_id });
  }
  for (const n of negatives) {
    const img = bySource.get(n.blob_path);
    if (img && !img.excluded) plan.exclude.push({ image_id: img.id, cover_id: n.cover_id, mean_stars: n.mean_stars });
  }
  return plan;
}

export interface CurationResult {
  added: string[];
  excluded: string[];
  included: string[];
  /** Positive covers that could not be taken in (e.g. the same pixels are already there). */
  skipped: Array<{ cover_id: string; reason: string }>;
}

export async function applyCuration(s: Services, lora: LoraRecord, plan: CurationPlan, signal?: AbortSignal): Promise<CurationResult> {
  const res: CurationResult = { added: [], excluded: [], included: [], skipped: [] };
  if (plan.add.length) {
    // Our own blob folder is readable for this intake whatever LORALOOP_ALLOWED_ROOTS says.
    const own: Services = { ...s, paths: createPathGuard([...s.config.allowedRoots, s.config.home]) };
    const coinName = lora.coins[0] ? (s.coins.catalogue.bySymbol(lora.coins[0])?.name ?? lora.coins[0]) : null;
    const taken: Array<{ cover: CurationPlan['add'][number]; item: IntakeItem }> = [];
    for (const c of plan.add) {
      let file: string;
      try {
        // This host's copy, by hash: the cover may have been made on another host.
        file = await storedBlobPath(s.store.blobs, { sha256: c.blob_sha256, path: c.blob_path });
      } catch (e) {
        res.skipped.push({ cover_id: c.cover_id, reason: (e as Error).message });
        continue;
      }
      // The source stays the cover's recorded path: planCuration matches project images against it.
      const item = { path: file, source: c.blob_path, caption: titleCaption(lora.trigger_word, c.title, coinName), caption_source: 'title', tags: ['rated-positive'] };
      taken.push({ cover: c, item });
    }
    const results = await intakeImages(own, lora, taken.map((t) => t.item), signal ? { signal } : {});
    results.forEach((r, i) => {
      const c = taken[i]?.cover;
      if (!c) return;
      if (r.ok && r.image_id) res.added.push(r.image_id);
      else res.skipped.push({ cover_id: c.cover_id, reason: r.message ?? r.error ?? 'not taken in' });
    });
  }
  for (const e of plan.exclude) {
    await s.store.loras.updateImage(e.image_id, { excluded: true });
    res.excluded.push(e.image_id);
  }
  for (const e of plan.include) {
    await s.store.loras.updateImage(e.image_id, { excluded: false });
    res.included.push(e.image_id);
  }
  return res;
}

/** How much a LoRA's training set moved since its current version was trained. */
export interface ChangeMeasure {
  baseline: number;
  current: number;
  added: number;
  removed: number;
  changed: number;
  threshold: number;
  enough: boolean;
  /** Where the baseline came from. */
  baseline_from: 'last nightly training' | 'images older than the active version';
}

export function retrainThreshold(baselineSize: number): number {
  return Math.max(RETRAIN_MIN_CHANGED, Math.ceil(RETRAIN_MIN_SHARE * baselineSize));
}

/**
 * Measure the change. `pending` adds what curation would do (dry run): ids to count as added or removed.
 */
export async function measureChange(
  s: Services,
  lora: LoraRecord,
  active: LoraVersionRecord,
  pending: { added?: number; removed?: string[] } = {},
): Promise<ChangeMeasure> {
  const images = await s.store.loras.listImages(lora.id);
  const removedNow = new Set(pending.removed ?? []);
  const current = new Set(images.map((i) => i.id).filter((id) => !removedNow.has(id)));
  const stored = await s.store.kv.get<string[]>(trainedSetKey(lora.id));
  let baseline: Set<string>;
  let from: ChangeMeasure['baseline_from'];
  if (stored) {
    baseline = new Set(stored);
    from = 'last nightly training';
  } else {
    const all = await s.store.loras.listImages(lora.id, { includeExcluded: true });
    baseline = new Set(all.filter((i) => i.created_at <= active.created_at && !i.excluded).map((i) => i.id));
    // An image excluded after the version was trained was part of its set.
    for (const id of removedNow) if (all.find((i) => i.id === id && i.created_at <= active.created_at)) baseline.add(id);
    from = 'images older than the active version';
  }
  let added = pending.added ?? 0;
  for (const id of current) if (!baseline.has(id)) added++;
  let removed = 0;
  for (const id of baseline) if (!current.has(id)) removed++;
  const threshold = retrainThreshold(baseline.size);
  const changed = added + removed;
  return { baseline: baseline.size, current: current.size + (pending.added ?? 0), added, removed, changed, threshold, enough: changed >= threshold, baseline_from: from };
}
