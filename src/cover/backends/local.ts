/**
 * The local renderer as an ImageBackend: a seeded abstract background in a palette derived from a brand
 * colour, with no GPU and no text. Composition (logo + title) happens afterwards like for every backend.
 *
 * It honours only prompt-independent options: checkpoints and LoRAs mean nothing here and become warnings.
 */
import { Resvg } from '@resvg/resvg-js';
import sharp from 'sharp';
import { z } from 'zod';
import { LoraloopError } from '../../core/errors.js';
import { BACKGROUND_STYLES, buildBackground, isBackgroundStyle } from '../render/backgrounds.js';
import { choosePalette } from '../../image/palette.js';
import { createRng, hashString } from '../../core/random.js';
import type { GenerateRequest, GenerateResult, ImageBackend } from './types.js';

/** `providerOptions.local`. */
export const LocalProviderOptionsSchema = z.object({
  brand_color: z.string().regex(/^#[0-9a-fA-F]{6}$/).optional().describe('Anchor colour of the palette (#rrggbb); default: derived from the prompt'),
  style: z.string().optional().describe('Background style; default: chosen by the seed'),
});

/** Create the local backend. */
export function createLocalBackend(opts: { now?: () => number } = {}): ImageBackend {
  const now = opts.now ?? Date.now;
  async function generate(req: GenerateRequest): Promise<GenerateResult> {
    if (req.abortSignal?.aborted) throw new LoraloopError('CANCELED', 'Generation canceled.');
    const started = now();
    const warnings: string[] = [];
    const po = LocalProviderOptionsSchema.safeParse(req.providerOptions?.local ?? {});
    if (!po.success) throw new LoraloopError('INVALID_INPUT', `providerOptions.local: ${po.error.issues[0]?.message ?? 'invalid'}.`);
    if (req.checkpoint) warnings.push(`The local renderer has no checkpoints; "${req.checkpoint}" was ignored.`);
    if (req.loras?.length) warnings.push('The local renderer cannot apply LoRAs; use the comfyui or replicate backend for them.');
    const { width, height, seed } = req;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 16 || width > 4096 || height > 4096) {
      throw new LoraloopError('INVALID_INPUT', `Size ${width}x${height} must be integers in 16..4096.`);
    }
    const rng = createRng(seed ^ hashString(req.prompt));
    const hue = hashString(req.prompt) % 360;
    const brand = po.data.brand_color ?? hslHex(hue, 0.65, 0.5);
    const palette = choosePalette(brand, seed).palette;
    const styleName = po.data.style;
    if (styleName !== undefined && !isBackgroundStyle(styleName)) warnings.push(`Unknown style "${styleName}"; a seeded one was used.`);
    const style = styleName !== undefined && isBackgroundStyle(styleName) ? styleName : rng.fork('style').pick(BACKGROUND_STYLES);
    const spec = buildBackground(style, palette, width, height, rng.fork('background'), {
      focus: { x: width * 0.72, y: height * 0.45, r: Math.min(width, height) * 0.25 },
      text: { x: width * 0.3, y: height * 0.6 },
    });
    const rendered = new Resvg(spec.svg, { background: palette.colors[0] ?? '#000000' }).render();
    const png = await sharp(rendered.asPng()).png().toBuffer();
    return {
      images: [{ png, meta: { provider: 'local', server: 'local', seed, style, palette: palette.colors, checkpoint: null, loras: [], elapsedMs: now() - started } }],
      warnings,
    };
  }
  return { provider: 'local', modelId: 'local-renderer', generate };
}

function hslHex(h: number, s: number, l: number): string {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number): string => {
    const k = (n + h / 30) % 12;
    const c = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(c * 255)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}
