import { z } from 'zod';

/** Output pieces shared by several tools. Every field is described: these schemas are the API. */
export const boxSchema = z
  .object({
    x: z.number().describe('Left edge in pixels.'),
    y: z.number().describe('Top edge in pixels.'),
    width: z.number().describe('Width in pixels.'),
    height: z.number().describe('Height in pixels.'),
  })
  .describe('A rectangle in the image.');

export const coinSchema = z.object({
  symbol: z.string().describe('Upper-case ticker, e.g. SOL.'),
  name: z.string().describe('Coin name, e.g. Solana.'),
  primary: z.boolean().describe('True for the coin(s) the article is mainly about.'),
});

export const loraRefSchema = z
  .object({
    name: z.string().describe('LoRA name in the registry.'),
    version: z.number().int().describe('Version number (v1, v2, ...).'),
    strength: z.number().describe('Strength applied at generation, -2..2.'),
  })
  .describe('A LoRA version and the strength it is used at.');

export const paletteSchema = z
  .object({
    colors: z.array(z.string()).describe('Hex colours of the background, darkest to lightest or as designed.'),
    scheme: z.string().describe('Colour scheme family, e.g. analogous, complementary.'),
  })
  .describe('The colour palette of a cover.');

export const logoSchema = z
  .object({
    symbol: z.string().describe('Whose logo is composited.'),
    source: z.enum(['icon-set', 'monogram', 'user']).describe('icon-set (cryptocurrency-icons), monogram (no icon exists) or user (registered with logo_register).'),
    style: z.string().optional().describe('Logo treatment: flat, glow, metallic or glass.'),
    box: boxSchema.describe('Where the logo sits on the cover.'),
  })
  .describe('The logo on the cover.');
