import { readFile } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import { z } from 'zod';
import { LoraloopError } from '../core/errors.js';
import { ok } from '../core/result.js';
import { defineTool } from './types.js';

export const logoRegisterTool = defineTool({
  name: 'logo_register',
  title: 'Register a coin logo',
  description:
    'Register a logo file (SVG or PNG) for a coin. Covers for that coin use it instead of the icon set or a monogram from then on.',
  input: z.object({
    symbol: z.string().min(1).max(20).regex(/^[A-Za-z0-9.$-]+$/).describe('Coin ticker, e.g. SOL.'),
    path: z.string().min(1).describe('Path of the SVG or PNG file (under LORALOOP_ALLOWED_ROOTS).'),
  }),
  output: z.object({
    symbol: z.string().describe('Ticker the logo is registered for (upper case).'),
    path: z.string().describe('Where the logo is stored.'),
    mime_type: z.string().describe('image/svg+xml or image/png.'),
    width: z.number().int().describe('Logo width in pixels (SVG: its intrinsic width).'),
    height: z.number().int().describe('Logo height in pixels.'),
    known_coin: z.boolean().describe('Whether the ticker is in the coin catalogue.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(ctx, input) {
    const s = ctx.services;
    const file = await s.paths.resolve(input.path, { mustExist: true });
    const bytes = await readFile(file);
    if (bytes.length > 5 * 1024 * 1024) {
      throw new LoraloopError('IMAGE_TOO_LARGE', `${input.path} is ${(bytes.length / 1e6).toFixed(1)} MB; logos may be at most 5 MB.`, { hint: 'Use an SVG or a PNG of at most 1024 px.' });
    }
    const head = bytes.subarray(0, 512).toString('utf8').trimStart();
    const isSvg = head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'));
    const isPng = bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    if (!isSvg && !isPng) {
      throw new LoraloopError('UNSUPPORTED_IMAGE', `${input.path} is neither an SVG nor a PNG.`, { hint: 'Export the logo as SVG (best) or PNG with transparency.' });
    }
    let meta: Metadata;
    try {
      meta = await sharp(bytes, { limitInputPixels: 16_000_000 }).metadata();
    } catch (e) {
      throw new LoraloopError('UNSUPPORTED_IMAGE', `${input.path} could not be read as an image: ${(e as Error).message}.`, { hint: 'Check the file opens in an image viewer.' });
    }
    const symbol = input.symbol.replace(/^\$/, '').toUpperCase();
    const blob = await s.store.blobs.put(bytes, isSvg ? 'svg' : 'png');
    const rec = await s.store.logos.upsert({ symbol, blob_sha256: blob.sha256, blob_path: blob.path, mime_type: isSvg ? 'image/svg+xml' : 'image/png' });
    const known = s.coins.catalogue.bySymbol(symbol) !== undefined;
    return ok(
      { symbol, path: rec.blob_path, mime_type: rec.mime_type, width: meta.width ?? 0, height: meta.height ?? 0, known_coin: known },
      `Registered the ${symbol} logo; covers for ${symbol} now use it.${known ? '' : ` ${symbol} is not in the coin catalogue, so only titles that name it by this ticker will use it.`}`,
    );
  },
});
