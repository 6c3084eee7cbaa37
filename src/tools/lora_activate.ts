import { z } from 'zod';
import { ok } from '../core/result.js';
import { activateVersion, MAX_STRENGTH, MIN_STRENGTH } from '../lora/registry.js';
import { loraIdSchema } from '../lora/view.js';
import { defineTool } from './types.js';

export const loraActivateTool = defineTool({
  name: 'lora_activate',
  title: 'Activate a LoRA version',
  description:
    'Choose which version of a LoRA generation uses, and its default strength. Without a version: the latest ready one. Without a strength: the preferred weight from the file metadata, else 0.85. Earlier versions stay, so this is also how to roll back.',
  input: z.object({
    lora_id: loraIdSchema,
    version: z.number().int().positive().optional().describe('Version to activate (default: the latest ready version). Naming a candidate promotes it.'),
    strength: z.number().min(MIN_STRENGTH).max(MAX_STRENGTH).optional().describe('Default strength, -2..2 (default: from metadata, else 0.85).'),
  }),
  output: z.object({
    lora_id: z.string().describe('Project id.'),
    name: z.string().describe('Registry name.'),
    active_version: z.number().int().describe('The version now active.'),
    previous_version: z.number().int().nullable().describe('The version active before, or null.'),
    strength: z.number().describe('Default strength now in use.'),
    strength_source: z.enum(['given', 'metadata', 'default']).describe('Where the strength came from.'),
    strength_key: z.string().optional().describe('Metadata key the strength was read from.'),
    coins: z.array(z.string()).describe('Tickers whose covers now use this version.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(ctx, input) {
    const r = await activateVersion(ctx.services, input.lora_id, input.version, input.strength);
    const why =
      r.strength_source === 'given' ? '' : r.strength_source === 'metadata' ? ` (from the file's ${r.strength_key})` : ' (the default; the file states no preferred weight)';
    const change =
      r.previous_version === null
        ? ''
        : r.previous_version === r.version.version
          ? ' It was already active; the strength is updated.'
          : ` v${r.previous_version} stays available for rollback.`;
    const use = r.lora.coins.length ? ` Covers about ${r.lora.coins.join(', ')} now use it; check with cover_route.` : ' Generate with it via cover_generate.';
    return ok(
      {
        lora_id: r.lora.id,
        name: r.lora.name,
        active_version: r.version.version,
        previous_version: r.previous_version,
        strength: r.strength,
        strength_source: r.strength_source,
        ...(r.strength_key ? { strength_key: r.strength_key } : {}),
        coins: r.lora.coins,
      },
      `${r.lora.name} v${r.version.version} is active at strength ${r.strength}${why}.${change}${use}`,
    );
  },
});
