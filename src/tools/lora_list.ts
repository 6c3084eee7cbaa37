import { z } from 'zod';
import { ok } from '../core/result.js';
import { LORA_STATUSES, assetTypeSchema, baseModelSchema, loraView, loraViewSchema, normalizeCoins, tickerSchema } from '../lora/view.js';
import { defineTool } from './types.js';

export const loraListTool = defineTool({
  name: 'lora_list',
  title: 'List LoRA projects',
  description:
    'List LoRA projects with their versions, active version and strength, trigger word, coins and image counts. Filter by base model, asset type, status or coin.',
  input: z.object({
    base_model: baseModelSchema.optional().describe('Only this base model.'),
    asset_type: assetTypeSchema.optional().describe('Only this asset type.'),
    status: z.enum(LORA_STATUSES).optional().describe('Only projects in this status.'),
    coin: tickerSchema.optional().describe('Only LoRAs serving this ticker.'),
  }),
  output: z.object({
    loras: z.array(loraViewSchema).describe('Matching projects, by name.'),
    count: z.number().int().describe('How many matched.'),
  }),
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler(ctx, input) {
    const store = ctx.services.store;
    const coin = input.coin ? normalizeCoins([input.coin])[0] : undefined;
    const records = await store.loras.list({
      ...(input.base_model ? { base_model: input.base_model } : {}),
      ...(input.asset_type ? { asset_type: input.asset_type } : {}),
      ...(input.status ? { status: input.status } : {}),
      ...(coin ? { coin } : {}),
    });
    const loras = await Promise.all(records.map((l) => loraView(store, l)));
    const filters = Object.entries(input)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${String(v)}`);
    const where = filters.length ? ` matching ${filters.join(', ')}` : '';
    if (loras.length === 0) {
      return ok({ loras, count: 0 }, `No LoRA projects${where}. Create one with lora_create, or register an existing file with lora_import.`);
    }
    const lines = loras.map((l) => {
      const active = l.active_version === null ? 'no active version' : `v${l.active_version} active at ${l.strength}`;
      return `${l.name} (${l.base_model} ${l.asset_type}, ${l.status}, ${active}, ${l.versions.length} version${l.versions.length === 1 ? '' : 's'}, ${l.images.total} images${l.images.pending ? `, ${l.images.pending} uncaptioned` : ''}${l.coins.length ? `, coins ${l.coins.join('/')}` : ''})`;
    });
    const inactive = loras.filter((l) => l.active_version === null && l.versions.some((v) => v.status === 'ready'));
    const next = inactive.length ? ` ${inactive.map((l) => l.name).join(', ')} ${inactive.length === 1 ? 'has' : 'have'} a ready version but none active: use lora_activate.` : '';
    return ok({ loras, count: loras.length }, `${loras.length} LoRA project${loras.length === 1 ? '' : 's'}${where}: ${lines.join('; ')}.${next}`);
  },
});
