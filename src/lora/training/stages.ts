/**
 * Staged (curriculum) training for kohya: each stage has its own data mix, learning rate and epochs, and
 * starts from the previous stage's weights (`--network_weights`). A data mix is a relative share of the
 * samples of one epoch per category; it becomes kohya `num_repeats` per subset, which is how sd-scripts
 * balances folders (TRAINERS.md §2 item 3, §3c).
 */
import { planBundle, type PlanServices } from '../../dataset/export.js';
import type { StageSpec } from './job.js';

/** Largest num_repeats a mix may produce (a category of 1 image at a large share). */
export const MAX_STAGE_REPEATS = 100;

/** A stage as the user gives it (name optional). */
export interface StageInput {
  name?: string | undefined;
  mix: Record<string, number>;
  learning_rate: number;
  epochs: number;
}

/** Image counts per kohya subset, and which category each subset stands for. */
export interface SubsetCounts {
  /** subset folder name -> image count */
  counts: Map<string, number>;
  /** category (as the user names it) -> subset folder name */
  subsetOfCategory: Map<string, string>;
}

/** Count the project's images per subset exactly as the bundle writer will group them. */
export async function subsetCounts(services: PlanServices, loraId: string): Promise<SubsetCounts> {
  const plan = await planBundle(services, loraId);
  const counts = new Map<string, number>();
  const subsetOfCategory = new Map<string, string>();
  for (const e of plan.entries) {
    counts.set(e.subset, (counts.get(e.subset) ?? 0) + 1);
    const c = e.image.categories?.[0];
    if (c) subsetOfCategory.set(c, e.subset);
    subsetOfCategory.set(e.subset, e.subset);
  }
  return { counts, subsetOfCategory };
}

/**
 * Check stage mixes against the project's categories. Returns problems naming each bad field
 * (`stages[1].mix.closeup: ...`).
 */
export function checkStages(stages: StageInput[], sc: SubsetCounts): string[] {
  const problems: string[] = [];
  const known = [...sc.subsetOfCategory.keys()];
  stages.forEach((st, i) => {
    for (const [cat, w] of Object.entries(st.mix)) {
      if (!sc.subsetOfCategory.has(cat)) {
        problems.push(`stages[${i}].mix.${cat}: no training image has the category "${cat}" (categories: ${known.join(', ') || 'none'})`);
      }
      if (!(Number.isFinite(w) && w > 0)) problems.push(`stages[${i}].mix.${cat}: the weight must be greater than 0`);
    }
  });
  return problems;
}

/**
 * num_repeats per subset for a mix: subset s should supply a share w_s of each epoch's samples, so
 * repeats_s ∝ w_s / images_s, scaled so the smallest is 1 and rounded (1..MAX_STAGE_REPEATS).
 * Subsets the mix does not name get weight 1.
 */
export function repeatsForMix(mix: Record<string, number>, sc: SubsetCounts): Record<string, number> {
  const weight = new Map<string, number>();
  for (const s of sc.counts.keys()) weight.set(s, 1);
  for (const [cat, w] of Object.entries(mix)) {
    const s = sc.subsetOfCategory.get(cat);
    if (s !== undefined) weight.set(s, w);
  }
  const raw = new Map<string, number>();
  for (const [s, n] of sc.counts) raw.set(s, (weight.get(s) ?? 1) / Math.max(1, n));
  const min = Math.min(...raw.values());
  const out: Record<string, number> = {};
  for (const [s, r] of raw) out[s] = Math.max(1, Math.min(MAX_STAGE_REPEATS, Math.round(r / min)));
  return out;
}

/** Name stages (`stage-1`...) and freeze them for the job record. */
export function normalizeStages(stages: StageInput[]): StageSpec[] {
  return stages.map((s, i) => ({ name: s.name?.trim() || `stage-${i + 1}`, mix: { ...s.mix }, learning_rate: s.learning_rate, epochs: s.epochs }));
}
