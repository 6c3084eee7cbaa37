import { z } from 'zod';
import { ok } from '../core/result.js';
import { BACKEND_NAMES } from '../cover/backends/registry.js';
import { generateCover, loraInputSchema } from '../cover/generate-cover.js';
import type { CoverMade } from '../cover/local-cover.js';
import { coverSizeSchema, parseSize } from '../cover/sizes.js';
import type { CoverRecord } from '../store/repos/covers.js';
import { boxSchema, coinSchema, logoSchema, loraRefSchema, paletteSchema } from './schemas.js';
import { defineTool } from './types.js';

export const coverGenerateInput = z.object({
  title: z.string().max(2000).describe('The article headline shown on the cover (1-300 characters after trimming).'),
  subtitle: z.string().max(2000).optional().describe('Optional smaller line under the title.'),
  size: coverSizeSchema.default('1200x630'),
  seed: z.number().int().min(0).max(2 ** 31 - 1).optional().describe('Same seed and inputs give the same image (the variety engine is bypassed); omit it for a new cover that avoids the colour schemes of recent covers ("generate again").'),
  style: z.string().optional().describe('Force a background style (see the renderer styles); omit to let the variety engine choose.'),
  out: z.string().optional().describe('Also copy the PNG to this path (must be under LORALOOP_ALLOWED_ROOTS).'),
  backend: z.enum(BACKEND_NAMES).default('local').describe('Who makes the picture: local (built-in renderer, default), comfyui (the COMFYUI_URLS servers) or replicate (REPLICATE_API_TOKEN). The logo and title are composited afterwards in every case.'),
  loras: z.array(loraInputSchema).max(10).optional().describe('LoRAs to apply (comfyui, replicate). Omit to use the coin\'s routed LoRA plus auto-discovered ones (lora_discover).'),
  checkpoint: z.string().max(300).optional().describe('ComfyUI checkpoint file (fuzzy names like realisticVision work); omit to use the best of the tier.'),
  tier: z.string().max(100).optional().describe('Checkpoint tier when no checkpoint is given: sd15_draft (default) or sdxl_standard, or one from LORALOOP_CHECKPOINT_TIERS.'),
  raw: z.boolean().default(false).describe('Skip composition: keep the backend image as it is, without logo and title.'),
  prompt: z.string().max(2000).optional().describe('Subject for the image model instead of the title keywords (the title is still composited).'),
});

export const coverOutput = z.object({
  cover_id: z.string().describe('Id of the stored cover record.'),
  path: z.string().describe('Absolute path of the PNG in the blob store.'),
  out_path: z.string().nullable().describe('Where the PNG was copied when `out` was given.'),
  width: z.number().int().describe('Width in pixels.'),
  height: z.number().int().describe('Height in pixels.'),
  seed: z.number().int().describe('Seed used; pass it again to reproduce the cover.'),
  coins: z.array(coinSchema).describe('Coins detected in the title, primary first.'),
  logo: logoSchema.nullable().describe('The composited logo, or null for a cover without a coin.'),
  palette: paletteSchema,
  style: z.string().describe('Background style used.'),
  lora: loraRefSchema.nullable().describe('The LoRA routing chose, or null.'),
  text_box: boxSchema.nullable().describe('Where the title block sits; null for a raw image.'),
  contrast: z.number().nullable().describe('WCAG contrast ratio of the title against what is behind it; null for a raw image.'),
  backend: z.string().describe('Which backend made the image: local, comfyui or replicate.'),
  warnings: z.array(z.string()).describe('Things the user should know (missing glyphs, a truncated title).'),
});

/** cover_generate's output: the cover plus how the image was made. */
export const coverGenerateOutput = coverOutput.extend({
  checkpoint: z.string().nullable().describe('Checkpoint (or Replicate model) the picture was made with; null for the local renderer.'),
  loras: z.array(loraInputSchema).describe('LoRAs applied, as sent to the backend.'),
  prompt: z.string().nullable().describe('The prompt sent to the image model; null for the local renderer.'),
  raw: z.boolean().describe('True when composition was skipped.'),
  server: z.string().nullable().describe('Which server made it (ComfyUI base URL, replicate, local).'),
});

const NEXT_COVER = 'Not the one? Call again without a seed for another, or use cover_batch for several drafts to choose from; rate it with cover_rate.';

export const coverGenerateTool = defineTool({
  name: 'cover_generate',
  title: 'Generate a finished cover',
  description:
    'Make a finished article cover from a title: detects the coin, routes to its LoRA, makes the picture (local renderer by default, or a ComfyUI server or Replicate with the coin LoRA and auto-discovered LoRAs, prompted with the trigger words and the coin), then composites the correct coin logo and the title. Returns the PNG path and the cover record.',
  input: coverGenerateInput,
  output: coverGenerateOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  longRunning: true,
  // `out` is a path on the caller's host: such a call runs there.
  worker: (input) => input.out === undefined,
  async handler(ctx, input) {
    const { width, height } = parseSize(input.size);
    const made = await generateCover(ctx.services, { ...input, width, height }, { signal: ctx.signal, progress: ctx.progress });
    return result(made.record, made.made, made);
  },
});

function result(
  r: CoverRecord,
  made: CoverMade | null,
  x: { checkpoint: string | null; loras: Array<{ name: string; strength: number }>; prompt: string | null; raw: boolean; server: string | null; warnings: string[]; lead: string },
) {
  const logoLine = x.raw
    ? 'Raw image: no logo or title was composited (raw: true).'
    : !r.logo
      ? 'No coin, so no logo.'
      : r.logo.source === 'monogram'
        ? `The icon set has no ${r.logo.symbol} logo, so a ${r.logo.symbol} monogram badge stands in; register one with logo_register.`
        : r.logo.source === 'user'
          ? `Used the registered ${r.logo.symbol} logo.`
          : `Composited the ${r.logo.symbol} logo from the icon set (${r.logo.style ?? 'flat'}).`;
  const reasoning = [
    x.lead,
    made && r.backend === 'local'
      ? `Rendered a ${r.width}x${r.height} ${r.style} background in a ${r.palette.scheme} palette (${r.palette.colors.join(', ')}), chosen away from the last covers' colour schemes.`
      : '',
    logoLine,
    made ? `Title contrast ${made.render.contrast.toFixed(1)}:1.` : '',
    ...x.warnings,
    `Saved ${r.blob_path}${made?.out_path ? ` and ${made.out_path}` : ''} (seed ${r.seed}).`,
    NEXT_COVER,
  ]
    .filter(Boolean)
    .join(' ');
  return ok(
    {
      cover_id: r.id,
      path: r.blob_path,
      out_path: made?.out_path ?? null,
      width: r.width,
      height: r.height,
      seed: r.seed,
      coins: r.coins,
      logo: r.logo as z.infer<typeof logoSchema> | null,
      palette: r.palette,
      style: r.style ?? 'unknown',
      lora: r.lora,
      text_box: made?.render.text_box ?? null,
      contrast: made?.render.contrast ?? null,
      backend: r.backend,
      warnings: x.warnings,
      checkpoint: x.checkpoint,
      loras: x.loras,
      prompt: x.prompt,
      raw: x.raw,
      server: x.server,
    },
    reasoning,
    [{ kind: 'image' as const, path: r.blob_path, sha256: r.blob_sha256, mime_type: 'image/png', title: 'Cover' }],
    NEXT_COVER,
  );
}
