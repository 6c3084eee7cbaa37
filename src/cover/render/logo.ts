/**
 * Logos: resolve which logo a coin gets (user > icon set > monogram), and draw it in one of the
 * compositing styles as a premultiplied RGBA layer. Layers are cached by everything that affects their
 * pixels, so repeated covers for one coin skip the SVG work.
 */
import { createHash } from 'node:crypto';
import satori from 'satori';
import sharp from 'sharp';
import { contrastRatio, hexToLch, hexToRgb, lchToHex, relativeLuminance } from '../../image/color.js';
import type { IconSet } from './icons.js';
import { renderSvg, type Raster } from './raster.js';
import { sanitizeText, type FontKit } from './text.js';

/** Compositing styles of the logo. */
export const LOGO_STYLES = ['flat', 'glow', 'metallic', 'glass'] as const;
export type LogoStyle = (typeof LOGO_STYLES)[number];

/** Where the logo came from. */
export type LogoSource = 'icon-set' | 'monogram' | 'user';

/** A logo ready to embed: an <image> href (data URI) plus what it is. */
export interface LogoArt {
  source: LogoSource;
  href: string;
  /** Identity for caches (content hash). */
  key: string;
}

/** A drawn logo: the layer and where the logo square sits inside it. */
export interface LogoLayer {
  raster: Raster;
  /** Offset of the logo's own box inside the layer (the layer is larger for glow/shadow/plate). */
  inset: number;
}

function dataUri(mime: string, data: Buffer | string): string {
  return `data:${mime};base64,${Buffer.from(data).toString('base64')}`;
}

function sha(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

type Sniffed = 'svg' | 'raster' | 'unknown';

function sniff(buf: Buffer): Sniffed {
  if (buf.length >= 8 && buf.readUInt32BE(0) === 0x89504e47) return 'raster';
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'raster';
  if (buf.length >= 12 && buf.toString('latin1', 0, 4) === 'RIFF' && buf.toString('latin1', 8, 12) === 'WEBP') return 'raster';
  const head = buf.subarray(0, 2048).toString('utf8');
  if (/<svg[\s>]/i.test(head)) return 'svg';
  return 'unknown';
}

/**
 * Turn a registered logo into embeddable art. Raster logos are normalised to a PNG of at most 512 px;
 * SVGs are checked by parsing them once. Returns a reason instead of throwing when the bytes are unusable.
 */
export async function prepareUserLogo(buf: Buffer): Promise<LogoArt | { error: string }> {
  const kind = sniff(buf);
  if (kind === 'svg') {
    const text = buf.toString('utf8');
    try {
      renderSvg(text, { fitTo: { mode: 'width', value: 8 } });
    } catch (e) {
      return { error: `the registered SVG logo could not be parsed (${e instanceof Error ? e.message : String(e)})` };
    }
    return { source: 'user', href: dataUri('image/svg+xml', text), key: `user:${sha(buf)}` };
  }
  if (kind === 'raster') {
    try {
      const png = await sharp(buf, { limitInputPixels: 64_000_000 })
        .resize(512, 512, { fit: 'inside', withoutEnlargement: true })
        .png()
        .toBuffer();
      return { source: 'user', href: dataUri('image/png', png), key: `user:${sha(buf)}` };
    } catch (e) {
      return { error: `the registered logo image could not be decoded (${e instanceof Error ? e.message : String(e)})` };
    }
  }
  return { error: 'the registered logo is neither SVG nor PNG/JPEG/WebP' };
}

/** The icon-set logo of a symbol, or null when the set has none. */
export function iconArt(icons: IconSet, symbol: string): LogoArt | null {
  const svg = icons.svg(symbol);
  if (!svg) return null;
  return { source: 'icon-set', href: dataUri('image/svg+xml', svg), key: `icon:${symbol.toLowerCase()}` };
}

/** Letters of a monogram: the symbol's drawable characters, at most 4. */
export function monogramLetters(symbol: string, name: string, kit: FontKit): string {
  const fromSymbol = sanitizeText(symbol.toUpperCase(), kit).text.replace(/\s+/g, '');
  if (fromSymbol) return [...fromSymbol].slice(0, 4).join('');
  const fromName = sanitizeText(name, kit).text.replace(/\s+/g, '');
  return fromName ? [...fromName][0]!.toUpperCase() : '?';
}

/** A clean round badge with the coin's letters in its colour, text as glyph paths (via satori). */
export async function monogramArt(symbol: string, name: string, color: string, kit: FontKit): Promise<LogoArt> {
  const letters = monogramLetters(symbol, name, kit);
  const S = 512;
  const lch = hexToLch(color);
  const light = lchToHex({ ...lch, L: Math.min(0.95, lch.L + 0.12) });
  const dark = lchToHex({ ...lch, L: Math.max(0.05, lch.L - 0.1) });
  const bgLum = relativeLuminance(hexToRgb(color));
  const fg = contrastRatio(bgLum, 1) >= contrastRatio(bgLum, relativeLuminance(hexToRgb('#111318'))) ? '#ffffff' : '#111318';
  const size = letters.length <= 2 ? 0.42 : letters.length === 3 ? 0.32 : 0.25;
  const el = {
    type: 'div',
    props: {
      style: {
        display: 'flex',
        width: S,
        height: S,
        borderRadius: S / 2,
        alignItems: 'center',
        justifyContent: 'center',
        backgroundImage: `linear-gradient(135deg, ${light}, ${dark})`,
        color: fg,
        fontFamily: kit.fontsFor(letters).family,
        fontWeight: 800,
        fontSize: Math.round(S * size),
        letterSpacing: -S * size * 0.02,
      },
      children: {
        type: 'div',
        props: {
          style: {
            display: 'flex',
            width: S * 0.86,
            height: S * 0.86,
            borderRadius: (S * 0.86) / 2,
            border: `${Math.round(S * 0.018)}px solid ${fg === '#ffffff' ? 'rgba(255,255,255,0.45)' : 'rgba(0,0,0,0.35)'}`,
            alignItems: 'center',
            justifyContent: 'center',
          },
          children: letters,
        },
      },
    },
  };
  const svg = await satori(el as unknown as Parameters<typeof satori>[0], { width: S, height: S, fonts: kit.fontsFor(letters).fonts });
  return { source: 'monogram', href: dataUri('image/svg+xml', svg), key: `mono:${letters}:${color}` };
}

const f = (n: number): string => (Math.round(n * 100) / 100).toString();

/**
 * The SVG of a styled logo layer: the logo occupies [inset, inset, size, size]; effects spill into the inset.
 * - flat: the logo with a soft drop shadow;
 * - glow: a blurred halo in the accent colour behind it;
 * - metallic: a brushed-metal rim and a diagonal sheen over the logo;
 * - glass: a frosted translucent plate behind it.
 */
export function logoLayerSvg(art: LogoArt, style: LogoStyle, size: number, accent: string): { svg: string; inset: number } {
  const inset = Math.round(size * (style === 'glow' ? 0.45 : style === 'glass' ? 0.16 : 0.12));
  const W = size + inset * 2;
  const x = inset;
  const img = `<image href="${art.href}" x="${x}" y="${x}" width="${size}" height="${size}" preserveAspectRatio="xMidYMid meet"`;
  const c = W / 2;
  // Soft shapes are radial gradients, not blur filters: a blur on a 500 px layer costs tens of ms.
  const soft = (id: string, color: string, opacity: number): string =>
    `<radialGradient id="${id}"><stop offset="0" stop-color="${color}" stop-opacity="${opacity}"/>` +
    `<stop offset="0.5" stop-color="${color}" stop-opacity="${f(opacity * 0.5)}"/>` +
    `<stop offset="1" stop-color="${color}" stop-opacity="0"/></radialGradient>`;
  let defs = soft('sh', '#000000', 0.45);
  const shadow = `<ellipse cx="${c}" cy="${f(c + size * 0.06)}" rx="${f(size * 0.58)}" ry="${f(size * 0.56)}" fill="url(#sh)"/>`;
  let body = '';
  switch (style) {
    case 'flat':
      body = `${shadow}${img}/>`;
      break;
    case 'glow':
      defs += soft('gl', accent, 0.9) + soft('gw', '#ffffff', 0.35);
      body =
        `<circle cx="${c}" cy="${c}" r="${f(W / 2)}" fill="url(#gl)"/>` +
        `<circle cx="${c}" cy="${c}" r="${f(size * 0.75)}" fill="url(#gw)"/>` +
        `${img}/>`;
      break;
    case 'metallic': {
      const lch = hexToLch(accent);
      const tint = (L: number): string => lchToHex({ L, C: Math.min(0.04, lch.C), h: lch.h });
      defs +=
        `<linearGradient id="rim" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${tint(0.97)}"/>` +
        `<stop offset="0.3" stop-color="${tint(0.62)}"/><stop offset="0.5" stop-color="${tint(0.93)}"/>` +
        `<stop offset="0.72" stop-color="${tint(0.48)}"/><stop offset="1" stop-color="${tint(0.88)}"/></linearGradient>` +
        `<linearGradient id="sheen" x1="0" y1="0" x2="1" y2="1"><stop offset="0.25" stop-color="#fff" stop-opacity="0"/>` +
        `<stop offset="0.42" stop-color="#fff" stop-opacity="0.28"/><stop offset="0.5" stop-color="#fff" stop-opacity="0.05"/>` +
        `<stop offset="0.58" stop-color="#fff" stop-opacity="0.16"/><stop offset="0.75" stop-color="#fff" stop-opacity="0"/></linearGradient>` +
        `<mask id="m" mask-type="alpha" style="mask-type:alpha" maskUnits="userSpaceOnUse" x="0" y="0" width="${W}" height="${W}">${img}/></mask>`;
      body =
        shadow +
        `<circle cx="${c}" cy="${c}" r="${f(size * 0.545)}" fill="url(#rim)"/>` +
        `<circle cx="${c}" cy="${c}" r="${f(size * 0.505)}" fill="none" stroke="#000" stroke-opacity="0.25" stroke-width="${f(size * 0.01)}"/>` +
        `${img}/>` +
        `<rect x="${x}" y="${x}" width="${size}" height="${size}" fill="url(#sheen)" mask="url(#m)"/>`;
      break;
    }
    case 'glass': {
      const p = size * 0.12;
      const r = size * 0.2;
      defs +=
        `<linearGradient id="gp" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#fff" stop-opacity="0.28"/>` +
        `<stop offset="0.5" stop-color="#fff" stop-opacity="0.1"/><stop offset="1" stop-color="#fff" stop-opacity="0.06"/></linearGradient>` +
        `<linearGradient id="gs" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#fff" stop-opacity="0.7"/>` +
        `<stop offset="0.5" stop-color="#fff" stop-opacity="0.15"/><stop offset="1" stop-color="#fff" stop-opacity="0.45"/></linearGradient>`;
      body =
        `<rect x="${f(x - p)}" y="${f(x - p)}" width="${f(size + 2 * p)}" height="${f(size + 2 * p)}" rx="${f(r)}" fill="${accent}" fill-opacity="0.16"/>` +
        `<rect x="${f(x - p)}" y="${f(x - p)}" width="${f(size + 2 * p)}" height="${f(size + 2 * p)}" rx="${f(r)}" fill="url(#gp)" stroke="url(#gs)" stroke-width="${f(size * 0.012)}"/>` +
        `${shadow}${img}/>`;
      break;
    }
  }
  return {
    svg: `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${W}" height="${W}" viewBox="0 0 ${W} ${W}"><defs>${defs}</defs>${body}</svg>`,
    inset,
  };
}

/** Render a styled logo layer (premultiplied RGBA). */
export function renderLogoLayer(art: LogoArt, style: LogoStyle, size: number, accent: string): LogoLayer {
  const { svg, inset } = logoLayerSvg(art, style, size, accent);
  return { raster: renderSvg(svg), inset };
}
