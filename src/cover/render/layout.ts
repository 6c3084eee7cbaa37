/**
 * Where the logo and the text go for a given canvas. Three families by aspect ratio (landscape, square,
 * portrait), each with seeded variants, all keeping a safe margin so nothing touches the edges.
 */
import type { Rng } from '../../core/random.js';

/** Rectangle in output pixels. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The zones of one cover. */
export interface CoverLayout {
  name: string;
  margin: number;
  /** Square box the logo is fitted into, or null when there is no logo. */
  logo: Box | null;
  /** The text column: the text block is fitted into it and aligned as below. */
  text: Box;
  align: 'left' | 'center';
  valign: 'top' | 'center' | 'bottom';
  /** Title size bounds for this canvas (px). */
  maxFontSize: number;
  minFontSize: number;
}

/** Compute the layout; `withLogo` false gives the text the whole safe area. */
export function computeLayout(width: number, height: number, withLogo: boolean, rng: Rng): CoverLayout {
  const short = Math.min(width, height);
  const margin = Math.round(short * 0.075);
  const ratio = width / height;
  const minFontSize = Math.max(16, Math.round(short * 0.036));
  if (ratio >= 1.25) {
    const maxFontSize = Math.round(height * 0.12);
    if (!withLogo) {
      return {
        name: 'landscape-text',
        margin,
        logo: null,
        text: { x: margin * 1.3, y: margin, width: width - margin * 2.6, height: height - margin * 2 },
        align: rng.chance(0.5) ? 'left' : 'center',
        valign: 'center',
        maxFontSize,
        minFontSize,
      };
    }
    const s = quantize(Math.min(height * rng.range(0.42, 0.5), width * 0.3));
    const gap = Math.round(width * 0.05);
    const logoRight = rng.chance(0.75);
    const ly = Math.round((height - s) / 2 + rng.range(-0.04, 0.04) * height);
    const lx = logoRight ? width - margin - Math.round(width * 0.035) - s : margin + Math.round(width * 0.035);
    const textW = width - 2 * margin - s - gap - Math.round(width * 0.035);
    return {
      name: logoRight ? 'landscape-logo-right' : 'landscape-logo-left',
      margin,
      logo: { x: lx, y: ly, width: s, height: s },
      text: { x: logoRight ? margin : width - margin - textW, y: margin, width: textW, height: height - 2 * margin },
      align: 'left',
      valign: rng.chance(0.6) ? 'center' : 'bottom',
      maxFontSize,
      minFontSize,
    };
  }
  const portrait = ratio < 0.85;
  const maxFontSize = Math.round(width * (portrait ? 0.095 : 0.085));
  if (!withLogo) {
    return {
      name: portrait ? 'portrait-text' : 'square-text',
      margin,
      logo: null,
      text: { x: margin, y: margin, width: width - 2 * margin, height: height - 2 * margin },
      align: rng.chance(0.5) ? 'left' : 'center',
      valign: rng.chance(0.5) ? 'center' : 'bottom',
      maxFontSize,
      minFontSize,
    };
  }
  const s = quantize(width * (portrait ? rng.range(0.34, 0.42) : rng.range(0.26, 0.32)));
  const centered = portrait ? rng.chance(0.7) : rng.chance(0.45);
  const top = margin + Math.round(height * (portrait ? 0.06 : 0.02));
  const lx = centered ? Math.round((width - s) / 2) : margin;
  const textY = top + s + Math.round(short * 0.06);
  return {
    name: `${portrait ? 'portrait' : 'square'}-logo-${centered ? 'center' : 'left'}`,
    margin,
    logo: { x: lx, y: top, width: s, height: s },
    text: { x: margin, y: textY, width: width - 2 * margin, height: height - margin - textY },
    align: centered ? 'center' : 'left',
    valign: portrait ? 'center' : 'bottom',
    maxFontSize,
    minFontSize,
  };
}

/** Logo sizes snap to 16 px steps so the logo-layer cache sees a handful of sizes, not one per seed. */
function quantize(v: number): number {
  return Math.max(32, Math.round(v / 16) * 16);
}
