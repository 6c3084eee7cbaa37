/**
 * Ratings: people's stars on covers, and what they feed.
 *
 * - Feedback sets: a cover's mean rating (each rater's latest rating counts once) decides whether it is in
 *   its LoRA's positive set (mean >= 4: 4 and 5 stars are "good, train on it"; keeping only 5s would starve
 *   the set), its negative set (mean < 3: 1 and 2 stars), or neither (3, or a mean in between). Re-rating
 *   moves the cover. The nightly run reads the sets through `store.ratings.feedback(lora, polarity)`.
 * - Checkpoint learning: covers made with a checkpoint add a trial to that checkpoint's arm in the
 *   selection statistics the batch allocator samples from (`selection_stats`, kind 'checkpoint'), a success
 *   when the rating is >= 4; LoRA combinations likewise (kind 'lora_combo', scoped by coin). A rater's
 *   re-rating takes their earlier trial back first, so one cover never counts twice per rater.
 */
import type { Store } from '../store/index.js';
import { LoraloopError } from '../core/errors.js';
import { loraComboKey } from '../store/repos/generation.js';
import type { Polarity, RatingRecord, RatingStat } from '../store/repos/ratings.js';

/** Mean stars at or above which a cover joins its LoRA's positive set. */
export const POSITIVE_MIN = 4;
/** Mean stars below which a cover joins its LoRA's negative set. */
export const NEGATIVE_BELOW = 3;

export interface RateInput {
  cover_id: string;
  stars: number;
  comment?: string | undefined;
  rater?: string | undefined;
}

export interface RateResult {
  rating: RatingRecord;
  /** Mean of the raters' latest ratings of this cover, and how many raters. */
  mean_stars: number;
  raters: number;
  /** The LoRA set the cover is now in ('none' without a LoRA or for middling ratings). */
  set: Polarity | 'none';
  previous_set: Polarity | 'none';
  stats: { lora: RatingStat | null; coin: RatingStat | null; checkpoint: RatingStat | null };
  /** What the rating did for checkpoint / LoRA-combination learning, in words. */
  learning: string[];
}

const polarityOf = (mean: number): Polarity | 'none' => (mean >= POSITIVE_MIN ? 'positive' : mean < NEGATIVE_BELOW ? 'negative' : 'none');

/** Record a rating and apply it to the feedback sets and the learning statistics, in one transaction. */
export async function rateCover(s: { store: Pick<Store, 'transaction' | 'covers' | 'ratings' | 'generation'> }, input: RateInput): Promise<RateResult> {
  if (!Number.isInteger(input.stars) || input.stars < 1 || input.stars > 5) {
    throw new LoraloopError('INVALID_INPUT', `Stars must be a whole number from 1 to 5, got ${input.stars}.`, { hint: 'Rate 1 (bad) to 5 (publish as is).' });
  }
  const cover = await s.store.covers.get(input.cover_id);
  if (!cover) throw new LoraloopError('NOT_FOUND', `There is no cover ${input.cover_id}.`, { hint: 'Rate a cover_id returned by cover_generate or cover_make.' });
  const rater = input.rater?.trim() ?? '';
  const lora = cover.lora?.name ?? cover.loras[0]?.name ?? null;
  const loraVersion = cover.lora?.version ?? cover.loras[0]?.version ?? null;
  const learning: string[] = [];
  const result = await s.store.transaction(async (tx): Promise<Omit<RateResult, 'stats'>> => {
    const before = await tx.ratings.effective(cover.id);
    const mine = before.find((r) => r.rater === rater);
    const prevMean = before.length ? before.reduce((a, r) => a + r.stars, 0) / before.length : null;
    const rating = await tx.ratings.add({
      cover_id: cover.id,
      stars: input.stars,
      comment: input.comment?.trim() || null,
      rater,
      lora,
      lora_version: loraVersion,
      coin: cover.primary_symbol,
      checkpoint: cover.checkpoint,
    });
    const after = await tx.ratings.effective(cover.id);
    const mean = after.reduce((a, r) => a + r.stars, 0) / after.length;
    const set = polarityOf(mean);
    if (lora) await tx.ratings.setFeedback(lora, cover.id, set === 'none' ? null : set, mean, loraVersion);
    // Learning statistics: one trial per rater and cover; a re-rating replaces the rater's earlier trial.
    const success = (stars: number): number => (stars >= POSITIVE_MIN ? 1 : 0);
    if (cover.checkpoint) {
      if (mine) await tx.generation.addStats('checkpoint', '', cover.checkpoint, -success(mine.stars), -1);
      await tx.generation.addStats('checkpoint', '', cover.checkpoint, success(input.stars), 1);
      learning.push(`Counted as a ${success(input.stars) ? 'success' : 'miss'} for checkpoint ${cover.checkpoint}${mine ? ' (replacing this rater\'s earlier rating)' : ''}.`);
    }
    if (cover.loras.length > 0) {
      const scope = cover.primary_symbol ?? 'general';
      const arm = loraComboKey(cover.loras);
      if (mine) await tx.generation.addStats('lora_combo', scope, arm, -success(mine.stars), -1);
      await tx.generation.addStats('lora_combo', scope, arm, success(input.stars), 1);
      learning.push(`Counted for the LoRA combination ${arm} on ${scope} covers.`);
    }
    return {
      rating,
      mean_stars: Math.round(mean * 100) / 100,
      raters: after.length,
      set: lora ? set : 'none',
      previous_set: lora && prevMean !== null ? polarityOf(prevMean) : 'none',
      learning,
    };
  });
  const one = async (g: 'lora' | 'coin' | 'checkpoint', key: string | null): Promise<RatingStat | null> => (key ? ((await s.store.ratings.stats(g, key))[0] ?? null) : null);
  return { ...result, stats: { lora: await one('lora', lora), coin: await one('coin', cover.primary_symbol), checkpoint: await one('checkpoint', cover.checkpoint) } };
}
