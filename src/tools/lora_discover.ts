import { z } from 'zod';
import { ok } from '../core/result.js';
import { discoverLoras } from '../cover/discover.js';
import { defineTool } from './types.js';

export const loraDiscoverInput = z.object({
  prompt: z.string().min(1).max(2000).describe('What the image is about: a title or a prompt. Keywords are taken from it (stop words out, stemmed).'),
  base_model: z.enum(['sd15', 'sdxl', 'flux']).optional().describe('Family of the checkpoint that will run; LoRAs of other families are left out. Omit to consider all.'),
  max: z.number().int().min(1).max(10).default(3).describe('How many LoRAs to return (default 3).'),
});

const discoveredSchema = z.object({
  name: z.string().describe('LoRA name in the registry.'),
  version: z.number().int().describe('The version generation would use (active, else newest ready).'),
  base_model: z.string().describe('sd15, sdxl or flux.'),
  asset_type: z.string().describe('What the LoRA makes (coin, logo, style, ...).'),
  trigger_words: z.array(z.string()).describe('Words to put in the prompt to activate it.'),
  strength: z.number().describe('Suggested strength: 0.8 for the most relevant, down to 0.5.'),
  score: z.number().describe('Relevance score (sum over matched keywords of field weight x rarity).'),
  evidence: z.array(z.string()).describe('Which keyword matched which field of the LoRA.'),
});

export const loraDiscoverOutput = z.object({
  keywords: z.array(z.string()).describe('Stemmed keywords taken from the prompt.'),
  loras: z.array(discoveredSchema).describe('Best LoRAs first, at most `max`.'),
  considered: z.number().int().describe('Registry LoRAs with a usable version that were looked at.'),
  skipped_base_model: z.array(z.string()).describe('LoRAs left out because their base model does not fit.'),
});

export const loraDiscoverTool = defineTool({
  name: 'lora_discover',
  title: 'Find LoRAs for a prompt',
  description:
    'Auto-LoRA: match the prompt\'s keywords against every registered LoRA\'s name, trigger words, coins, description, training caption tags (ss_tag_frequency) and asset type; only LoRAs of the given base model; returns the top ones with strengths 0.5-0.8 by relevance and the evidence for each.',
  input: loraDiscoverInput,
  output: loraDiscoverOutput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(ctx, input) {
    const s = ctx.services;
    const r = await discoverLoras(s.store, { prompt: input.prompt, base_model: input.base_model, max: input.max, coinName: (sym) => s.coins.catalogue.bySymbol(sym)?.name });
    const data = {
      keywords: r.keywords,
      considered: r.considered,
      skipped_base_model: r.skipped_base_model,
      loras: r.loras.map((l) => ({
        name: l.name,
        version: l.version,
        base_model: l.base_model,
        asset_type: l.asset_type,
        trigger_words: l.trigger_words,
        strength: l.strength,
        score: l.score,
        evidence: l.evidence,
      })),
    };
    const skipped = r.skipped_base_model.length ? ` Left out ${r.skipped_base_model.length} LoRA(s) of another base model (${r.skipped_base_model.slice(0, 5).join(', ')}).` : '';
    const reasoning =
      r.loras.length === 0
        ? `No registered LoRA matches the keywords ${r.keywords.join(', ') || '(none)'} among ${r.considered} with a usable version.${skipped} Generate without one, or create and train one (lora_create, lora_train).`
        : `Keywords ${r.keywords.join(', ')}. ${r.loras.map((l) => `${l.name} v${l.version} at ${l.strength} (${l.evidence.join('; ')})`).join('. ')}.${skipped} Pass them as loras to cover_generate or cover_batch (they are used automatically when loras is omitted).`;
    return ok(data, reasoning);
  },
});
