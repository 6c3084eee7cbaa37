/**
 * Background styles, each an SVG string that resvg renders. SVG keeps every style short to write and cheap
 * to render (gradients and simple paths, no blur filters: a full-canvas blur costs ~250 ms in resvg, so soft
 * shapes are radial gradients that fade to transparent instead).
 * Film grain is not drawn here: the renderer adds it to the pixels (see raster.addGrain). Any grain makes the
 * PNG ~4x larger (~1.2 MB at 1200x630) and adds ~30 ms to the encode (measured), so it is the 'grain' style's
 * signature and only an occasional touch (10%) on mesh, blobs and glow.
 */
import { hexToLch, lchToHex, mixHex } from '../../image/color.js';
import type { Palette } from '../../image/palette.js';
import type { Rng } from '../../core/random.js';

/** Every style the local renderer can draw. */
export const BACKGROUND_STYLES = [
  'linear',
  'radial',
  'mesh',
  'grid',
  'hexagons',
  'stripes',
  'circles',
  'dots',
  'blobs',
  'waves',
  'glow',
  'grain',
] as const;
export type BackgroundStyle = (typeof BACKGROUND_STYLES)[number];

/**
 * Styles drawn at half size and enlarged (bilinear): about 2x cheaper. Gradients lose nothing; pattern lines
 * are drawn at least 2 px wide so they stay clean after enlargement. Only fine dot grids stay full size.
 */
export const SMOOTH_STYLES: ReadonlySet<string> = new Set(
  BACKGROUND_STYLES.filter((s) => s !== 'dots'),
);

/** Where the logo sits and where the text goes, so a style can light the logo and calm the text side. */
export interface SceneHints {
  /** Centre and radius of the logo (or of the visual focus when there is no logo). */
  focus: { x: number; y: number; r: number };
  /** Centre of the text block. */
  text: { x: number; y: number };
}

/** A background as SVG plus the grain amount the renderer should add. */
export interface BackgroundSpec {
  svg: string;
  grain: number;
}

const f = (n: number): string => (Math.round(n * 10) / 10).toString();

interface Ctx {
  w: number;
  h: number;
  c: string[];
  rng: Rng;
  hints: SceneHints;
  defs: string[];
  body: string[];
  id: number;
}

function col(ctx: Ctx, i: number): string {
  return ctx.c[i % ctx.c.length] ?? '#808080';
}

function uid(ctx: Ctx, p: string): string {
  ctx.id++;
  return `${p}${ctx.id}`;
}

/** Base: a linear gradient between the two area colours at a seeded angle. */
function baseLinear(ctx: Ctx, from = col(ctx, 0), to = col(ctx, 1)): void {
  const id = uid(ctx, 'lg');
  const a = ctx.rng.range(0, Math.PI * 2);
  const x = Math.cos(a) / 2;
  const y = Math.sin(a) / 2;
  ctx.defs.push(
    `<linearGradient id="${id}" x1="${f(0.5 - x)}" y1="${f(0.5 - y)}" x2="${f(0.5 + x)}" y2="${f(0.5 + y)}">` +
      `<stop offset="0" stop-color="${from}"/><stop offset="0.55" stop-color="${mixHex(from, to, 0.55)}"/>` +
      `<stop offset="1" stop-color="${to}"/></linearGradient>`,
  );
  ctx.body.push(`<rect width="${ctx.w}" height="${ctx.h}" fill="url(#${id})"/>`);
}

/** A soft round light: a radial gradient fading to transparent (the cheap stand-in for a blurred shape). */
function softSpot(ctx: Ctx, x: number, y: number, r: number, color: string, opacity: number, sy = 1): void {
  const id = uid(ctx, 'rg');
  ctx.defs.push(
    `<radialGradient id="${id}" gradientUnits="userSpaceOnUse" cx="${f(x)}" cy="${f(y)}" r="${f(r)}"` +
      (sy !== 1 ? ` gradientTransform="translate(${f(x)} ${f(y)}) scale(1 ${f(sy)}) translate(${f(-x)} ${f(-y)})"` : '') +
      `><stop offset="0" stop-color="${color}" stop-opacity="${f(opacity)}"/>` +
      `<stop offset="0.45" stop-color="${color}" stop-opacity="${f(opacity * 0.55)}"/>` +
      `<stop offset="1" stop-color="${color}" stop-opacity="0"/></radialGradient>`,
  );
  // Only the gradient's own disc is painted: shading the whole canvas for every light costs ~8 ms each.
  ctx.body.push(`<ellipse cx="${f(x)}" cy="${f(y)}" rx="${f(r)}" ry="${f(r * sy)}" fill="url(#${id})"/>`);
}

/** Darken the edges a little: gives depth and keeps corners calm. */
function vignette(ctx: Ctx, strength: number): void {
  const id = uid(ctx, 'vg');
  const dark = hexToLch(col(ctx, 0)).L < 0.6;
  const tone = dark ? '#000000' : lchToHex({ ...hexToLch(col(ctx, 1)), L: 0.7 });
  ctx.defs.push(
    `<radialGradient id="${id}" cx="0.5" cy="0.5" r="0.75"><stop offset="0.55" stop-color="${tone}" stop-opacity="0"/>` +
      `<stop offset="1" stop-color="${tone}" stop-opacity="${f(strength)}"/></radialGradient>`,
  );
  ctx.body.push(`<rect width="${ctx.w}" height="${ctx.h}" fill="url(#${id})"/>`);
}

/**
 * A stroke paint that is strong near the logo and fades towards the text, so patterns decorate without
 * fighting the title (the contrast check still measures what is left).
 */
function fadingStroke(ctx: Ctx, color: string, opacity: number): string {
  const id = uid(ctx, 'fs');
  const { focus, text } = ctx.hints;
  ctx.defs.push(
    `<linearGradient id="${id}" gradientUnits="userSpaceOnUse" x1="${f(focus.x)}" y1="${f(focus.y)}" x2="${f(text.x)}" y2="${f(text.y)}">` +
      `<stop offset="0" stop-color="${color}" stop-opacity="${f(opacity)}"/>` +
      `<stop offset="1" stop-color="${color}" stop-opacity="${f(opacity * 0.25)}"/></linearGradient>`,
  );
  return `url(#${id})`;
}

function lineColor(ctx: Ctx): string {
  return hexToLch(col(ctx, 0)).L < 0.6 ? '#ffffff' : '#000000';
}

const styles: Record<BackgroundStyle, (ctx: Ctx) => number> = {
  linear(ctx) {
    baseLinear(ctx);
    // A broad light band across the canvas, like light through a window.
    const id = uid(ctx, 'band');
    ctx.defs.push(
      `<linearGradient id="${id}" x1="0" y1="0" x2="1" y2="1"><stop offset="0.3" stop-color="${col(ctx, 3)}" stop-opacity="0"/>` +
        `<stop offset="0.5" stop-color="${col(ctx, 3)}" stop-opacity="${f(ctx.rng.range(0.08, 0.16))}"/>` +
        `<stop offset="0.7" stop-color="${col(ctx, 3)}" stop-opacity="0"/></linearGradient>`,
    );
    ctx.body.push(`<rect width="${ctx.w}" height="${ctx.h}" fill="url(#${id})"/>`);
    softSpot(ctx, ctx.hints.focus.x, ctx.hints.focus.y, ctx.hints.focus.r * 2.2, col(ctx, 2), 0.35);
    vignette(ctx, 0.35);
    return 0;
  },
  radial(ctx) {
    const { focus } = ctx.hints;
    const id = uid(ctx, 'rad');
    ctx.defs.push(
      `<radialGradient id="${id}" gradientUnits="userSpaceOnUse" cx="${f(focus.x)}" cy="${f(focus.y)}" r="${f(Math.hypot(ctx.w, ctx.h) * 0.75)}">` +
        `<stop offset="0" stop-color="${col(ctx, 1)}"/><stop offset="0.45" stop-color="${mixHex(col(ctx, 1), col(ctx, 0), 0.6)}"/>` +
        `<stop offset="1" stop-color="${col(ctx, 0)}"/></radialGradient>`,
    );
    ctx.body.push(`<rect width="${ctx.w}" height="${ctx.h}" fill="url(#${id})"/>`);
    softSpot(ctx, focus.x, focus.y, focus.r * 1.8, col(ctx, 2), 0.5);
    return 0;
  },
  mesh(ctx) {
    ctx.body.push(`<rect width="${ctx.w}" height="${ctx.h}" fill="${col(ctx, 0)}"/>`);
    const corners: Array<[number, number]> = [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
      [0.5, ctx.rng.chance(0.5) ? 0 : 1],
    ];
    const order = [1, 2, 3, 4, 1];
    corners.forEach(([cx, cy], i) => {
      const x = (cx + ctx.rng.range(-0.15, 0.15)) * ctx.w;
      const y = (cy + ctx.rng.range(-0.15, 0.15)) * ctx.h;
      softSpot(ctx, x, y, Math.max(ctx.w, ctx.h) * ctx.rng.range(0.5, 0.8), col(ctx, order[i]!), ctx.rng.range(0.55, 0.9));
    });
    return ctx.rng.chance(0.1) ? 6 : 0;
  },
  grid(ctx) {
    baseLinear(ctx);
    const step = Math.round(Math.min(ctx.w, ctx.h) / ctx.rng.pick([9, 12, 15]));
    let d = '';
    for (let x = (ctx.w % step) / 2; x <= ctx.w; x += step) d += `M${f(x)} 0V${ctx.h}`;
    for (let y = (ctx.h % step) / 2; y <= ctx.h; y += step) d += `M0 ${f(y)}H${ctx.w}`;
    ctx.body.push(`<path d="${d}" fill="none" stroke="${fadingStroke(ctx, lineColor(ctx), 0.14)}" stroke-width="2"/>`);
    softSpot(ctx, ctx.hints.focus.x, ctx.hints.focus.y, ctx.hints.focus.r * 2.4, col(ctx, 2), 0.45);
    vignette(ctx, 0.4);
    return 0;
  },
  hexagons(ctx) {
    baseLinear(ctx);
    const r = Math.min(ctx.w, ctx.h) / ctx.rng.pick([9, 11, 14]);
    const hw = Math.sqrt(3) * r;
    let outline = '';
    let filled = '';
    for (let row = -1, y = 0; y < ctx.h + r * 2; row++, y = row * r * 1.5) {
      for (let x = row % 2 ? hw / 2 : 0; x < ctx.w + hw; x += hw) {
        let p = '';
        for (let k = 0; k < 6; k++) {
          const a = (Math.PI / 3) * k + Math.PI / 6;
          p += `${k ? 'L' : 'M'}${f(x + r * 0.92 * Math.cos(a))} ${f(y + r * 0.92 * Math.sin(a))}`;
        }
        outline += `${p}Z`;
        if (ctx.rng.chance(0.07)) filled += `${p}Z`;
      }
    }
    ctx.body.push(`<path d="${filled}" fill="${col(ctx, 2)}" fill-opacity="0.18"/>`);
    ctx.body.push(`<path d="${outline}" fill="none" stroke="${fadingStroke(ctx, lineColor(ctx), 0.17)}" stroke-width="2"/>`);
    softSpot(ctx, ctx.hints.focus.x, ctx.hints.focus.y, ctx.hints.focus.r * 2.2, col(ctx, 2), 0.4);
    vignette(ctx, 0.4);
    return 0;
  },
  stripes(ctx) {
    baseLinear(ctx);
    const gap = Math.round(Math.min(ctx.w, ctx.h) / ctx.rng.pick([14, 20, 28]));
    const width = gap * ctx.rng.range(0.12, 0.35);
    const dir = ctx.rng.chance(0.5) ? 1 : -1;
    let d = '';
    for (let x = -ctx.h; x < ctx.w + ctx.h; x += gap) d += `M${f(x)} ${dir > 0 ? ctx.h : 0}L${f(x + ctx.h)} ${dir > 0 ? 0 : ctx.h}`;
    ctx.body.push(`<path d="${d}" fill="none" stroke="${fadingStroke(ctx, col(ctx, 3), 0.22)}" stroke-width="${f(width)}"/>`);
    softSpot(ctx, ctx.hints.focus.x, ctx.hints.focus.y, ctx.hints.focus.r * 2, col(ctx, 2), 0.45);
    vignette(ctx, 0.35);
    return 0;
  },
  circles(ctx) {
    baseLinear(ctx);
    const { focus } = ctx.hints;
    const gap = focus.r * ctx.rng.range(0.35, 0.55);
    let rings = '';
    for (let r = focus.r * 1.25; r < Math.hypot(ctx.w, ctx.h); r += gap) {
      rings += `<circle cx="${f(focus.x)}" cy="${f(focus.y)}" r="${f(r)}"/>`;
    }
    ctx.body.push(`<g fill="none" stroke="${fadingStroke(ctx, col(ctx, 3), 0.3)}" stroke-width="${f(ctx.rng.range(2, 3))}">${rings}</g>`);
    softSpot(ctx, focus.x, focus.y, focus.r * 2.2, col(ctx, 2), 0.5);
    vignette(ctx, 0.3);
    return 0;
  },
  dots(ctx) {
    baseLinear(ctx);
    const step = Math.round(Math.min(ctx.w, ctx.h) / ctx.rng.pick([18, 24, 30]));
    const { focus } = ctx.hints;
    const maxD = Math.hypot(ctx.w, ctx.h) * 0.7;
    let d = '';
    // Halftone: dots shrink with the distance from the logo.
    for (let y = step / 2; y < ctx.h; y += step) {
      for (let x = step / 2; x < ctx.w; x += step) {
        const r = step * 0.28 * Math.max(0, 1 - Math.hypot(x - focus.x, y - focus.y) / maxD);
        if (r < 0.6) continue;
        d += `M${f(x - r)} ${f(y)}a${f(r)} ${f(r)} 0 1 0 ${f(2 * r)} 0a${f(r)} ${f(r)} 0 1 0 ${f(-2 * r)} 0`;
      }
    }
    ctx.body.push(`<path d="${d}" fill="${col(ctx, 3)}" fill-opacity="0.3"/>`);
    softSpot(ctx, focus.x, focus.y, focus.r * 2, col(ctx, 2), 0.4);
    return 0;
  },
  blobs(ctx) {
    ctx.body.push(`<rect width="${ctx.w}" height="${ctx.h}" fill="${col(ctx, 0)}"/>`);
    const n = ctx.rng.int(3, 5);
    for (let i = 0; i < n; i++) {
      const x = ctx.rng.range(0.05, 0.95) * ctx.w;
      const y = ctx.rng.range(0.05, 0.95) * ctx.h;
      const r = Math.min(ctx.w, ctx.h) * ctx.rng.range(0.35, 0.7);
      softSpot(ctx, x, y, r, col(ctx, 1 + (i % (ctx.c.length - 1))), ctx.rng.range(0.6, 0.95), ctx.rng.range(0.6, 1.4));
    }
    return ctx.rng.chance(0.1) ? 6 : 0;
  },
  waves(ctx) {
    baseLinear(ctx);
    const layers = ctx.rng.int(3, 5);
    for (let i = 0; i < layers; i++) {
      const base = ctx.h * (0.5 + (i / layers) * 0.45) + ctx.rng.range(-0.05, 0.05) * ctx.h;
      const amp = ctx.h * ctx.rng.range(0.04, 0.1);
      const len = ctx.w * ctx.rng.range(0.5, 1.1);
      const ph = ctx.rng.range(0, Math.PI * 2);
      let d = `M0 ${ctx.h}L0 ${f(base + amp * Math.sin(ph))}`;
      for (let x = 0; x <= ctx.w; x += ctx.w / 24) d += `L${f(x)} ${f(base + amp * Math.sin(ph + (x / len) * Math.PI * 2))}`;
      d += `L${ctx.w} ${ctx.h}Z`;
      const color = i % 2 ? col(ctx, 2) : col(ctx, 1 + ((i + 2) % Math.max(1, ctx.c.length - 1)));
      ctx.body.push(`<path d="${d}" fill="${color}" fill-opacity="${f(0.16 + i * 0.05)}"/>`);
    }
    softSpot(ctx, ctx.hints.focus.x, ctx.hints.focus.y, ctx.hints.focus.r * 2, col(ctx, 3), 0.3);
    return 0;
  },
  glow(ctx) {
    const { focus } = ctx.hints;
    const deep = lchToHex({ ...hexToLch(col(ctx, 0)), L: Math.min(hexToLch(col(ctx, 0)).L, 0.16) });
    ctx.body.push(`<rect width="${ctx.w}" height="${ctx.h}" fill="${deep}"/>`);
    // Light rays from the logo.
    const rays = ctx.rng.int(10, 18);
    const len = Math.hypot(ctx.w, ctx.h);
    let d = '';
    const a0 = ctx.rng.range(0, Math.PI);
    for (let i = 0; i < rays; i++) {
      const a = a0 + (i / rays) * Math.PI * 2;
      const s = (Math.PI / rays) * 0.35;
      d += `M${f(focus.x)} ${f(focus.y)}L${f(focus.x + len * Math.cos(a - s))} ${f(focus.y + len * Math.sin(a - s))}L${f(focus.x + len * Math.cos(a + s))} ${f(focus.y + len * Math.sin(a + s))}Z`;
    }
    const rid = uid(ctx, 'ray');
    ctx.defs.push(
      `<radialGradient id="${rid}" gradientUnits="userSpaceOnUse" cx="${f(focus.x)}" cy="${f(focus.y)}" r="${f(len * 0.6)}">` +
        `<stop offset="0" stop-color="${col(ctx, 2)}" stop-opacity="0.35"/><stop offset="1" stop-color="${col(ctx, 2)}" stop-opacity="0"/></radialGradient>`,
    );
    ctx.body.push(`<path d="${d}" fill="url(#${rid})"/>`);
    softSpot(ctx, focus.x, focus.y, focus.r * 3.2, col(ctx, 2), 0.75);
    softSpot(ctx, focus.x, focus.y, focus.r * 1.6, col(ctx, 3), 0.35);
    return ctx.rng.chance(0.1) ? 6 : 0;
  },
  grain(ctx) {
    baseLinear(ctx, col(ctx, 0), col(ctx, 1));
    softSpot(ctx, ctx.rng.range(0.2, 0.8) * ctx.w, ctx.rng.range(0.2, 0.8) * ctx.h, Math.max(ctx.w, ctx.h) * 0.6, col(ctx, 2), 0.6);
    softSpot(ctx, ctx.rng.range(0, 1) * ctx.w, ctx.rng.range(0, 1) * ctx.h, Math.max(ctx.w, ctx.h) * 0.5, col(ctx, 3), 0.35);
    return 9;
  },
};

/** Build the SVG of one background style at width x height (viewBox units = output pixels). */
export function buildBackground(
  style: BackgroundStyle,
  palette: Palette,
  width: number,
  height: number,
  rng: Rng,
  hints: SceneHints,
): BackgroundSpec {
  const ctx: Ctx = { w: width, h: height, c: palette.colors, rng, hints, defs: [], body: [], id: 0 };
  const grain = styles[style](ctx);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<defs>${ctx.defs.join('')}</defs>${ctx.body.join('')}</svg>`;
  return { svg, grain };
}

export function isBackgroundStyle(s: string): s is BackgroundStyle {
  return (BACKGROUND_STYLES as readonly string[]).includes(s);
}
