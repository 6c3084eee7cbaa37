/**
 * Drawing the laid-out text block with measured contrast: the pixels behind title and subtitle decide the
 * text colour and, when needed, a scrim panel; the contrast reported is measured after the scrim is drawn.
 */
import { hexToRgb } from '../../image/color.js';
import { DARK_TEXT, LIGHT_TEXT, MIN_CONTRAST, planContrast, worstContrastInRange } from '../../image/contrast.js';
import type { Box } from './layout.js';
import {
  alphaBounds,
  clipRegion,
  drawLayer,
  drawMask,
  fillRoundedRect,
  regionLuminanceRange,
  regionPixels,
  renderSvg,
  type Raster,
  type Region,
} from './raster.js';
import { TEXT_SENTINEL, type TextLayout } from './text.js';

/** The text block as pixels: title/subtitle in white (recoloured later if dark text wins), tag as designed. */
export function renderTextLayer(block: TextLayout): Raster {
  return renderSvg(block.svg.split(TEXT_SENTINEL).join(LIGHT_TEXT));
}

/**
 * Draw the text block (its layer from renderTextLayer) at (x, y): measure the pixels behind title and subtitle, choose the text colour, add a
 * scrim when the background alone gives less than 4.5:1, draw, and report the contrast measured afterwards.
 */
export function drawText(
  canvas: Raster,
  block: TextLayout,
  layer: Raster,
  x: number,
  y: number,
  tint: string,
  margin: number,
): { box: Box; contrast: number } {
  const all = alphaBounds(layer) ?? { x: 0, y: 0, width: 1, height: 1 };
  // The rows that hold title and subtitle (not the tag, which sits on its own pill).
  const rows = [block.parts.title, block.parts.subtitle].filter((r): r is NonNullable<typeof r> => Boolean(r));
  let measured: Region | null = null;
  if (rows.length > 0) {
    const top = Math.min(...rows.map((r) => r.y));
    const bottom = Math.max(...rows.map((r) => r.y + r.height));
    const b = alphaBounds(layer, 8, { x: 0, y: top, width: layer.width, height: bottom - top });
    if (b) measured = clipRegion({ x: x + b.x - 2, y: y + b.y - 2, width: b.width + 4, height: b.height + 4 }, canvas.width, canvas.height);
  }
  const box: Box = { x: x + all.x, y: y + all.y, width: all.width, height: all.height };
  if (!measured || measured.width === 0 || measured.height === 0) {
    drawLayer(canvas, layer, x, y);
    return { box, contrast: 21 };
  }
  // Padding of the scrim panel: proportional to the type, but never wider than most of the safe margin.
  const pad = Math.round(Math.min(block.titleFontSize * 0.42, margin * 0.7));
  const scrimBox = { x: box.x - pad, y: box.y - pad, width: box.width + 2 * pad, height: box.height + 2 * pad };
  const radius = Math.round(block.titleFontSize * 0.3);
  // Measure every pixel behind title and subtitle (one pass: only the darkest and brightest matter).
  let range = regionLuminanceRange(canvas, measured);
  const light = worstContrastInRange(LIGHT_TEXT, range);
  const dark = worstContrastInRange(DARK_TEXT, range);
  const textColor = light >= dark ? LIGHT_TEXT : DARK_TEXT;
  let contrast = Math.max(light, dark);
  // Below 4.5:1: plan a scrim on every other pixel, draw it, re-measure all pixels; repeat if a skipped
  // pixel still falls short (scrims compose, so a second pass only adds what is missing).
  for (let pass = 0; pass < 3 && contrast < MIN_CONTRAST + 0.05; pass++) {
    const plan = planContrast(regionPixels(canvas, measured, pass === 0 ? 2 : 1), tint, MIN_CONTRAST + 0.1, textColor);
    if (!plan.scrim) break;
    fillRoundedRect(canvas, scrimBox, radius, plan.scrim.color, plan.scrim.alpha);
    range = regionLuminanceRange(canvas, measured);
    contrast = worstContrastInRange(textColor, range);
  }
  if (textColor === LIGHT_TEXT) drawLayer(canvas, layer, x, y);
  else {
    // Dark text: the tag keeps its own colours, the title/subtitle rows are painted through their coverage
    // (cheaper than laying the SVG out again in the new colour).
    const split = Math.min(...rows.map((r) => r.y));
    drawLayer(canvas, layer, x, y, [0, split]);
    drawMask(canvas, layer, x, y, hexToRgb(textColor), [split, layer.height]);
  }
  return { box, contrast: Math.floor(contrast * 100) / 100 };
}
