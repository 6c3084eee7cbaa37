import { z } from 'zod';
import { ok } from '../core/result.js';
import { makeCover } from '../cover/local-cover.js';
import { coverSizeSchema, parseSize } from '../cover/sizes.js';
import { boxSchema, coinSchema, logoSchema, loraRefSchema, paletteSchema } from './schemas.js';
import { defineTool } from './types.js';

export const coverGenerateInput = z.object({
  title: z.string().max(2000).describe('The article headline shown on the cover (1-300 characters after trimming).'),
  subtitle: z.string().max(2000).optional().describe('Optional smaller line under the title.'),
  size: coverSizeSchema.default('1200x630'),
  seed: z.number().int().min(0).max(2 ** 31 - 1).optional().describe('Same seed and inputs give the same image (the variety engine is bypassed); omit it for a new cover that avoids the colour schemes of recent covers ("generate again").'),
  style: z.string().optional().describe('Force a background style (see the renderer styles); omit to let the variety engine choose.'),
  out: z.string().optional().describe('Also copy the PNG to this path (must be under LORALOOP_ALLOWED_ROOTS).'),
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
  text_box: boxSchema.describe('Where the title block sits.'),
  contrast: z.number().describe('WCAG contrast ratio of the title against what is behind it.'),
  backend: z.string().describe('Which backend made the image: local, comfyui or replicate.'),
  warnings: z.array(z.string()).describe('Things the user should know (missing glyphs, a truncated title).'),
});

export const coverGenerateTool = defineTool({
  name: 'cover_generate',
  title: 'Generate a finished cover',
  description:
    'Make a finished article cover from a title: detects the coin, routes to its LoRA, renders a background in the coin palette (avoiding recent colour schemes), composites the correct coin logo and the title. Returns the PNG path and the cover record.',
  input: coverGenerateInput,
  output: coverOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(ctx, input) {
    const { width, height } = parseSize(input.size);
    ctx.progress({ progress: 0, total: 1, message: 'rendering' });
    const made = await makeCover(ctx.services, { title: input.title, subtitle: input.subtitle, width, height, seed: input.seed, out: input.out, style: input.style });
    ctx.progress({ progress: 1, total: 1, message: 'done' });
    const r = made.record;
    const logoLine = !r.logo
      ? 'No coin, so no logo.'
      : r.logo.source === 'monogram'
        ? `The icon set has no ${r.logo.symbol} logo, so a ${r.logo.symbol} monogram badge stands in; register one with logo_register.`
        : r.logo.source === 'user'
          ? `Used the registered ${r.logo.symbol} logo.`
          : `Composited the ${r.logo.symbol} logo from the icon set (${r.logo.style ?? 'flat'}).`;
    const reasoning = [
      made.route.reasoning,
      `Rendered a ${r.width}x${r.height} ${r.style} background in a ${r.palette.scheme} palette (${r.palette.colors.join(', ')}), chosen away from the last covers' colour schemes.`,
      logoLine,
      `Title contrast ${made.render.contrast.toFixed(1)}:1.`,
      ...made.render.warnings,
      `Saved ${r.blob_path}${made.out_path ? ` and ${made.out_path}` : ''} (seed ${r.seed}).`,
    ].join(' ');
    return ok(
      {
        cover_id: r.id,
        path: r.blob_path,
        out_path: made.out_path,
        width: r.width,
        height: r.height,
        seed: r.seed,
        coins: r.coins,
        logo: r.logo as z.infer<typeof logoSchema> | null,
        palette: r.palette,
        style: r.style ?? 'unknown',
        lora: r.lora,
        text_box: made.render.text_box,
        contrast: made.render.contrast,
        backend: r.backend,
        warnings: made.render.warnings,
      },
      reasoning,
      [{ kind: 'image', path: r.blob_path, mime_type: 'image/png' }],
    );
  },
});
