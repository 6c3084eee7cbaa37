/**
 * A PNG contact sheet of a batch's drafts: a grid of thumbnails, each labelled with its number, checkpoint and
 * LoRAs, so a person can pick drafts (drafts_select takes the numbers or ids).
 *
 * Labels are laid out with satori (text as paths, the shipped Inter font, no system fonts needed) in one
 * overlay for the whole sheet, rasterised with resvg and composited with the thumbnails by sharp.
 */
import { Resvg } from '@resvg/resvg-js';
import satori from 'satori';
import sharp from 'sharp';
import { loadFontKit, type FontSelection } from './render/text.js';

/** One cell of the sheet. */
export interface SheetItem {
  /** The draft image (any format sharp reads); null draws an empty cell (a draft that failed). */
  image: Buffer | null;
  /** The thumbnail already made with `makeThumb` at this sheet's cell size (skips decoding `image`). */
  thumb?: Buffer | null;
  /** Lines under the thumbnail: e.g. "#3 realisticVision_v51", "solana_v2 0.8 + flat 0.6". */
  lines: string[];
}

export interface SheetOptions {
  /** Thumbnail width in px (default 300). */
  cellWidth?: number;
  /** Thumbnail aspect (height / width); default 630 / 1200. */
  aspect?: number;
  /** Columns (default: about square, at most 6). */
  columns?: number;
  /** A heading over the grid. */
  heading?: string;
}

const GAP = 12;
const LINE = 17;
const FONT_SIZE = 13;

let fonts: FontSelection['fonts'] | undefined;
/** Latin Inter only, loaded once: satori caches parsed fonts by the array's identity. */
function latinFonts(): FontSelection['fonts'] {
  fonts ??= loadFontKit().fontsFor('').fonts;
  return fonts;
}

/** Keep what the latin subset can draw; anything else would become a "missing glyph" box. */
const clean = (s: string): string => s.replace(/[^\x20-\x7e\u00a0-\u00ff]/g, '?');

type Node = { type: string; props: Record<string, unknown> };
const div = (style: Record<string, unknown>, children?: Node[] | string): Node => ({ type: 'div', props: { style, ...(children !== undefined ? { children } : {}) } });

/** Default thumbnail width of a sheet cell. */
export const SHEET_CELL_WIDTH = 300;

/** Cell size for an aspect (height / width). */
export function cellSize(aspect: number, cellWidth = SHEET_CELL_WIDTH): { cw: number; ch: number } {
  const cw = Math.round(cellWidth);
  return { cw, ch: Math.round(cw * aspect) };
}

/**
 * A cell's thumbnail as raw RGB (no PNG encode/decode). Batches make it as each draft lands, while the GPUs
 * work on the others, so the sheet at the end only composites.
 */
export async function makeThumb(image: Buffer, cw: number, ch: number): Promise<Buffer | null> {
  try {
    return await sharp(image).resize(cw, ch, { fit: 'cover' }).removeAlpha().raw().toBuffer();
  } catch {
    return null;
  }
}

export async function renderContactSheet(items: readonly SheetItem[], opts: SheetOptions = {}): Promise<Buffer> {
  const n = Math.max(1, items.length);
  const { cw, ch } = cellSize(opts.aspect ?? 630 / 1200, opts.cellWidth);
  const cols = Math.max(1, Math.min(opts.columns ?? Math.min(6, Math.ceil(Math.sqrt(n * 1.4))), n));
  const rows = Math.ceil(n / cols);
  const maxLines = Math.max(1, ...items.map((i) => i.lines.length));
  const labelH = maxLines * LINE + 6;
  const headH = opts.heading ? 36 : 0;
  const W = cols * cw + (cols + 1) * GAP;
  const H = headH + rows * (ch + labelH) + (rows + 1) * GAP;

  const cellPos = (i: number): { x: number; y: number } => ({
    x: GAP + (i % cols) * (cw + GAP),
    y: headH + GAP + Math.floor(i / cols) * (ch + labelH + GAP),
  });

  const labels: Node[] = items.map((it, i) => {
    const { x, y } = cellPos(i);
    return div(
      { position: 'absolute', left: x, top: y + ch + 3, width: cw, display: 'flex', flexDirection: 'column' },
      it.lines.slice(0, maxLines).map((l, j) =>
        div({ display: 'flex', fontSize: FONT_SIZE, lineHeight: `${LINE}px`, height: LINE, color: j === 0 ? '#ffffff' : '#b8c0cc', fontWeight: j === 0 ? 700 : 500, overflow: 'hidden', whiteSpace: 'nowrap' }, clean(l)),
      ),
    );
  });
  if (opts.heading) {
    labels.push(div({ position: 'absolute', left: GAP, top: 8, width: W - 2 * GAP, display: 'flex', fontSize: 18, fontWeight: 700, color: '#ffffff', whiteSpace: 'nowrap', overflow: 'hidden' }, clean(opts.heading)));
  }
  const root = div({ width: W, height: H, display: 'flex', position: 'relative', fontFamily: 'Inter-latin' }, labels);
  // satori's typings want a ReactNode; the object form is what it reads at runtime.
  const svg = await satori(root as unknown as Parameters<typeof satori>[0], { width: W, height: H, fonts: latinFonts() });
  const overlay = new Resvg(svg, { fitTo: { mode: 'original' } }).render().asPng();

  const thumbs = await Promise.all(
    items.map(async (it, i) => {
      const input = it.thumb ?? (it.image ? await makeThumb(it.image, cw, ch) : null);
      if (!input) return null;
      const { x, y } = cellPos(i);
      return { input, raw: { width: cw, height: ch, channels: 3 as const }, left: x, top: y };
    }),
  );
  const empty = await sharp({ create: { width: cw, height: ch, channels: 3, background: '#2a2f38' } }).png().toBuffer();
  const layers = items.map((_, i) => thumbs[i] ?? { input: empty, ...(({ x, y }) => ({ left: x, top: y }))(cellPos(i)) });
  return sharp({ create: { width: W, height: H, channels: 3, background: '#14171c' } })
    .composite([...layers, { input: overlay, left: 0, top: 0 }])
    .png({ compressionLevel: 3 })
    .toBuffer();
}
