import { z } from 'zod';
import { LoraloopError } from '../core/errors.js';
import { ok } from '../core/result.js';
import { assetTypeSchema, baseModelSchema, loraView, loraViewSchema, normalizeCoins, tickerSchema } from '../lora/view.js';
import { defineTool } from './types.js';
import { isUniqueViolation } from '../store/unique.js';

export const loraCreateTool = defineTool({
  name: 'lora_create',
  title: 'Create a LoRA project',
  description:
    'Create a LoRA project: a registry name with its base model, asset type, trigger word and the coins it serves. Add 40-60 training images next with lora_upload_images.',
  input: z.object({
    name: z.string().trim().min(1).max(100).describe('Registry name, unique, 1-100 characters (e.g. "solana-logo").'),
    description: z.string().trim().max(500).optional().describe('What the LoRA is for, up to 500 characters.'),
    base_model: baseModelSchema,
    asset_type: assetTypeSchema,
    trigger_word: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .regex(/^[^,\n\r]+$/, 'no commas or line breaks (kohya keeps the first comma-separated token)')
      .describe('Rare word or phrase that calls up the LoRA; put first in every training caption (e.g. "sks solana").'),
    coins: z.array(tickerSchema).max(50).optional().describe('Tickers this LoRA serves; routing picks it for these coins once a version is active.'),
  }),
  output: loraViewSchema.extend({
    unknown_coins: z.array(z.string()).describe('Tickers given that the coin catalogue does not know (kept as given).'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(ctx, input) {
    const { store, coins: coinServices } = ctx.services;
    if (await store.loras.getByName(input.name)) {
      throw new LoraloopError('CONFLICT', `A LoRA named "${input.name}" already exists.`, {
        hint: 'Choose another name, or add images to the existing project (lora_upload_images) and retrain it for a new version.',
      });
    }
    const coins = normalizeCoins(input.coins);
    let lora;
    try {
      lora = await store.loras.create({
        name: input.name,
        description: input.description ?? null,
        base_model: input.base_model,
        asset_type: input.asset_type,
        trigger_word: input.trigger_word,
        coins,
      });
    } catch (e) {
      // Another process created the same name between our check and the insert.
      if (isUniqueViolation(e, 'loras', 'name')) {
        throw new LoraloopError('CONFLICT', `A LoRA named "${input.name}" already exists.`, { hint: 'Choose another name.', cause: e });
      }
      throw e;
    }
    const unknown = coins.filter((c) => coinServices.catalogue.bySymbol(c) === undefined);
    const coinNote = coins.length
      ? ` Once a version is active, covers about ${coins.join(', ')} use it.${unknown.length ? ` ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not in the coin catalogue, so only titles naming ${unknown.length === 1 ? 'that ticker' : 'those tickers'} will match.` : ''}`
      : '';
    return ok(
      { ...(await loraView(store, lora)), unknown_coins: unknown },
      `Created new LoRA project. Add 40-60 training images. "${lora.name}" (${lora.id}) is a ${lora.base_model} ${lora.asset_type} LoRA with trigger word "${lora.trigger_word}".${coinNote} Next: lora_upload_images with lora_id ${lora.id}.`,
      undefined,
      `Add 40-60 training images: lora_upload_images {"lora_id": "${lora.id}"} with paths or small inline images, or lora_upload_urls for single-use upload URLs.`,
    );
  },
});
