import { z } from 'zod';

/** The cover sizes a news desk needs: social card, square, portrait. */
export const COVER_SIZES = ['1200x630', '1024x1024', '1080x1350'] as const;
export type CoverSize = (typeof COVER_SIZES)[number];

export const coverSizeSchema = z
  .enum(COVER_SIZES)
  .describe('Output size in pixels: 1200x630 (social card, default), 1024x1024 (square) or 1080x1350 (portrait).');

export function parseSize(size: CoverSize): { width: number; height: number } {
  const [w, h] = size.split('x').map(Number) as [number, number];
  return { width: w, height: h };
}
