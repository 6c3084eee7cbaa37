import { z } from 'zod';
import { ok } from '../core/result.js';
import { routeCoverChecked } from '../cover/route.js';
import { coinSchema, loraRefSchema } from './schemas.js';
import { defineTool } from './types.js';

export const coverRouteTool = defineTool({
  name: 'cover_route',
  title: 'Route an article to its coin and LoRA',
  description:
    'Detect which coins an article title is about (names, tickers, cashtags, aliases; not look-alike words, exchanges or quote currencies) and pick the LoRA to generate its cover with. Fast and read-only; with an OpenAI-compatible model configured, names the rules are unsure of (common words) get a second opinion.',
  input: z.object({
    title: z.string().max(2000).describe('The article headline.'),
    subtitle: z.string().max(2000).optional().describe('Optional subtitle or standfirst; coins named only here are secondary.'),
  }),
  output: z.object({
    coins: z
      .array(coinSchema.extend({ evidence: z.string().describe('The text that matched and why it counts.') }))
      .describe('Coins found, primary first. Empty when the article is about no specific coin.'),
    lora: loraRefSchema.nullable().describe('The LoRA to use, or null when none applies.'),
  }),
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler(ctx, input) {
    // With a model configured, names the rules are unsure of get a second opinion; otherwise this is rules only.
    const c = ctx.services.coins;
    const r = await routeCoverChecked(c.detector, ctx.services.loraResolver, input.title, input.subtitle, c.secondOpinion);
    return ok(
      {
        coins: r.coins.map((c) => ({ symbol: c.symbol, name: c.name, primary: c.primary, evidence: c.evidence })),
        lora: r.lora ? { name: r.lora.name, version: r.lora.version, strength: r.lora.strength } : null,
      },
      r.reasoning,
    );
  },
});
