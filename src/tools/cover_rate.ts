import { z } from 'zod';
import { ok } from '../core/result.js';
import { rateCover } from '../critique/ratings.js';
import { defineTool } from './types.js';

const statSchema = z
  .object({
    key: z.string().describe('The LoRA name, coin ticker or checkpoint file.'),
    ratings: z.number().int().describe('Ratings that count (each rater\'s latest per cover).'),
    covers: z.number().int().describe('Covers rated.'),
    mean_stars: z.number().describe('Mean stars.'),
    positive: z.number().int().describe('Covers with a mean of 4 or more (positive set).'),
    negative: z.number().int().describe('Covers with a mean under 3 (negative set).'),
  })
  .nullable();

export const coverRateTool = defineTool({
  name: 'cover_rate',
  title: 'Rate a cover',
  description:
    'Rate a cover 1-5 stars. A mean of 4 or more puts it in its LoRA\'s positive training set, under 3 in its negative set (the nightly run retrains from them); covers made with a checkpoint also teach the checkpoint choice. Returns the rating stats of its LoRA, coin and checkpoint.',
  input: z.object({
    cover_id: z.string().min(1).describe('The cover to rate.'),
    stars: z.number().int().min(1).max(5).describe('1 (unusable) .. 5 (publish as is).'),
    comment: z.string().max(2000).optional().describe('What was good or bad, in words.'),
    rater: z.string().max(200).optional().describe('Who rates (a Slack user id, a name); a rater\'s newest rating of a cover replaces their earlier one.'),
  }),
  output: z.object({
    rating_id: z.string().describe('Id of the stored rating.'),
    cover_id: z.string().describe('The cover rated.'),
    stars: z.number().int().describe('The stars given.'),
    mean_stars: z.number().describe('Mean of the raters\' latest ratings of this cover.'),
    raters: z.number().int().describe('How many raters rated this cover.'),
    lora: z.string().nullable().describe('The LoRA the cover was made with, or null.'),
    set: z.enum(['positive', 'negative', 'none']).describe('The LoRA feedback set the cover is now in.'),
    previous_set: z.enum(['positive', 'negative', 'none']).describe('The set it was in before this rating.'),
    stats: z
      .object({ lora: statSchema.describe('Stats of the cover\'s LoRA.'), coin: statSchema.describe('Stats of the cover\'s coin.'), checkpoint: statSchema.describe('Stats of the cover\'s checkpoint.') })
      .describe('Rating stats after this rating.'),
    learning: z.array(z.string()).describe('What the rating fed into checkpoint / LoRA-combination learning.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(ctx, input) {
    const r = await rateCover(ctx.services, input);
    const lora = r.rating.lora;
    const setLine = !lora
      ? 'The cover was made without a LoRA, so it joins no training set.'
      : r.set === r.previous_set
        ? r.set === 'none'
          ? `It stays out of ${lora}'s training sets (mean ${r.mean_stars}: sets take >= 4 or < 3).`
          : `It stays in ${lora}'s ${r.set} set (mean ${r.mean_stars}).`
        : r.set === 'none'
          ? `It left ${lora}'s ${r.previous_set} set (mean ${r.mean_stars}).`
          : `It is now in ${lora}'s ${r.set} set (mean ${r.mean_stars}); the nightly run uses it when it retrains ${lora}.`;
    const st = r.stats;
    const statLine = [
      st.lora ? `${st.lora.key}: ${st.lora.mean_stars} stars over ${st.lora.ratings} ratings (${st.lora.positive} positive, ${st.lora.negative} negative covers)` : '',
      st.coin ? `${st.coin.key} covers: ${st.coin.mean_stars} stars over ${st.coin.ratings} ratings` : '',
      st.checkpoint ? `checkpoint ${st.checkpoint.key}: ${st.checkpoint.mean_stars} stars over ${st.checkpoint.ratings} ratings` : '',
    ].filter(Boolean);
    return ok(
      {
        rating_id: r.rating.id,
        cover_id: r.rating.cover_id,
        stars: r.rating.stars,
        mean_stars: r.mean_stars,
        raters: r.raters,
        lora,
        set: r.set,
        previous_set: r.previous_set,
        stats: st,
        learning: r.learning,
      },
      [`Rated ${r.rating.cover_id} ${r.rating.stars}/5${r.raters > 1 ? ` (mean ${r.mean_stars} from ${r.raters} raters)` : ''}.`, setLine, ...r.learning, statLine.length ? `Stats: ${statLine.join('; ')}.` : ''].filter(Boolean).join(' '),
    );
  },
});
