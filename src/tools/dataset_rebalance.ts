import { z } from 'zod';
import { ok } from '../core/result.js';
import { requireLora } from '../dataset/analyze/index.js';
import { applyRebalance, defaultProfilePath, planRebalance } from '../dataset/rebalance.js';
import { rangeOutSchema, targetsSchema, toTargets } from './dataset_analyze.js';
import { defineTool } from './types.js';

const needSchema = z.object({
  category: z.string().describe('Category to collect.'),
  count: z.number().int().describe('Images to collect to reach the lower bound of the target.'),
  target: rangeOutSchema.describe('Target range in percent.'),
  keywords: z.array(z.string()).describe('What to search or shoot for.'),
  why: z.string().describe('Why augmentation cannot fix it, and what it costs.'),
});

export const datasetRebalanceTool = defineTool({
  name: 'dataset_rebalance',
  title: 'Rebalance a training set',
  description:
    "Plan (and with apply: true, carry out) a rebalance of a LoRA project towards its category targets: crops that turn full-body shots into medium shots and medium shots into close-ups (new images with adjusted captions, derived_from set), horizontal flips only when allow_flips is true, caption variations on derived images, and kohya num_repeats per category subset to reach the target mix (pass them to dataset_export as repeats). What augmentation cannot fix (multi-character, occlusion, missing full-body shots) goes into a targeted-collection profile (JSON: count and keywords per category). strategy: augment (all of it), repeats (num_repeats and profile only), collect (profile only).",
  input: z.object({
    lora_id: z.string().min(1).max(200).describe('LoRA project id (lora_...) or name.'),
    strategy: z.enum(['augment', 'repeats', 'collect']).describe('augment: crops (+ flips if allowed) + repeats + profile; repeats: num_repeats + profile; collect: profile only.'),
    apply: z.boolean().optional().describe('Carry the plan out (create images, store categories and repeats, write the profile). Default false: plan only.'),
    allow_flips: z.boolean().optional().describe('Allow horizontal flips of under-represented shots (default false: subjects are often asymmetric).'),
    max_new_images: z.number().int().min(0).max(1000).optional().describe('Most new images augmentation may add (default 50).'),
    targets: targetsSchema.optional(),
    profile_out: z.string().min(1).max(4096).optional().describe('Where to write the collection profile JSON (under LORALOOP_ALLOWED_ROOTS). Default: <LORALOOP_HOME>/datasets/<name>/collection-profile.json.'),
  }),
  output: z.object({
    lora_id: z.string().describe('Project id.'),
    strategy: z.enum(['augment', 'repeats', 'collect']).describe('Strategy planned.'),
    applied: z.boolean().describe('True when the plan was carried out.'),
    images_before: z.number().int().describe('Training images before.'),
    images_after: z.number().int().describe('Training images after the planned (or made) derivations.'),
    derivations: z
      .array(
        z.object({
          kind: z.enum(['crop', 'flip']).describe('crop: a closer framing; flip: a mirror image.'),
          image_id: z.string().describe('Source image.'),
          label: z.string().describe('Source file name.'),
          category: z.string().describe('Category the new image fills.'),
          caption: z.string().describe('Caption of the new image (a variation of the source\'s).'),
          new_image_id: z.string().optional().describe('The created image (apply).'),
        }),
      )
      .describe('New images planned (or made).'),
    repeats: z.record(z.string(), z.number().int()).describe('kohya num_repeats per subset (category); pass as dataset_export repeats.'),
    subsets: z.record(z.string(), z.number().int()).describe('Images per subset (first category) after the derivations.'),
    effective_shares: z.record(z.string(), z.number()).describe('Percent of training steps per subset with these repeats.'),
    collection_profile: z
      .object({
        lora: z.string().describe('Project name.'),
        trigger_word: z.string().describe('Trigger word.'),
        asset_type: z.string().describe('Asset type.'),
        created_at: z.string().describe('When the profile was made (ISO 8601).'),
        images_after_augmentation: z.number().int().describe('Images the counts are based on.'),
        needs: z.array(needSchema).describe('Categories to collect, largest need first.'),
      })
      .describe('What augmentation cannot fix: images to collect per category.'),
    profile_path: z.string().optional().describe('Where the profile JSON was written (apply).'),
    categorized: z.number().int().optional().describe('Images whose categories were stored from their tags and caption (apply).'),
    skipped: z.array(z.object({ image_id: z.string().describe('Source image.'), reason: z.string().describe('Why it was skipped.') })).optional().describe('Derivations not made (apply).'),
    notes: z.array(z.string()).describe('Things to know about the plan.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  longRunning: true,
  async handler(ctx, input) {
    const s = ctx.services;
    const lora = await requireLora(s, input.lora_id);
    const plan = await planRebalance(s, lora, {
      strategy: input.strategy,
      ...(input.allow_flips !== undefined ? { allowFlips: input.allow_flips } : {}),
      ...(input.max_new_images !== undefined ? { maxNewImages: input.max_new_images } : {}),
      ...(input.targets ? { targets: toTargets(input.targets) as Record<string, [number, number]> } : {}),
    });
    const crops = plan.derivations.filter((d) => d.kind === 'crop').length;
    const flips = plan.derivations.length - crops;
    const repeatsText = Object.entries(plan.repeats)
      .map(([k, v]) => `${k} x${v} (${plan.subsets[k]} image${plan.subsets[k] === 1 ? '' : 's'}, ${plan.effective[k]}% of steps)`)
      .join(', ');
    const needsText = plan.collection.needs.map((n) => `${n.count} ${n.category} (${n.keywords.slice(0, 2).join(', ')})`).join(', ');
    let applied: Awaited<ReturnType<typeof applyRebalance>> | undefined;
    if (input.apply) {
      const profilePath = input.profile_out ? await s.paths.resolve(input.profile_out, { forWrite: true }) : defaultProfilePath(s.config.home, lora);
      applied = await applyRebalance(s, plan, profilePath, ctx.signal);
    }
    const lines: string[] = [];
    const made = applied ? applied.created : plan.derivations.length;
    if (input.strategy === 'augment') {
      lines.push(
        `${applied ? 'Made' : 'Plan:'} ${made} new image${made === 1 ? '' : 's'} for ${lora.name} (${crops} crop${crops === 1 ? '' : 's'}${flips ? `, ${flips} flip${flips === 1 ? '' : 's'}` : ''}) with varied captions.`,
      );
    }
    if (input.strategy !== 'collect') lines.push(`num_repeats: ${repeatsText || 'none'}.`);
    lines.push(needsText ? `Collect: ${needsText}; augmentation cannot make these.` : 'Nothing left to collect for the targets.');
    lines.push(...plan.notes);
    if (applied) {
      lines.push(
        `Profile written to ${applied.profile_path}.${applied.skipped.length ? ` ${applied.skipped.length} derivation(s) skipped.` : ''} Next: dataset_analyze to see the new mix, then dataset_export {"target": "kohya", "repeats": ${JSON.stringify(plan.repeats)}}.`,
      );
    } else {
      lines.push('Nothing was changed. Run again with apply: true to do it.');
    }
    const imagesAfter = plan.images + (applied ? applied.created : plan.derivations.length);
    return ok(
      {
        lora_id: lora.id,
        strategy: plan.strategy,
        applied: Boolean(applied),
        images_before: plan.images,
        images_after: imagesAfter,
        derivations: plan.derivations.map((d) => ({
          kind: d.kind,
          image_id: d.image_id,
          label: d.label,
          category: d.category,
          caption: d.caption,
          ...(d.new_image_id ? { new_image_id: d.new_image_id } : {}),
        })),
        repeats: plan.repeats,
        subsets: plan.subsets,
        effective_shares: plan.effective,
        collection_profile: plan.collection,
        ...(applied ? { profile_path: applied.profile_path, categorized: applied.categorized, skipped: applied.skipped } : {}),
        notes: plan.notes,
      },
      lines.join(' '),
    );
  },
});
