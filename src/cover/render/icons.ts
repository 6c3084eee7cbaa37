/**
 * The coin icon set (cryptocurrency-icons, CC0): which symbols have a vector logo, their brand colours,
 * and the SVG text. Files are read lazily on first use and cached for the life of the process/factory.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { z } from 'zod';

const manifestSchema = z.array(
  z.object({ symbol: z.string(), name: z.string().optional(), color: z.string().optional() }).loose(),
);

/** Read access to one icon set directory (the package root of cryptocurrency-icons or a copy of it). */
export interface IconSet {
  /** Whether a colour SVG exists for the symbol (case-insensitive). */
  has(symbol: string): boolean;
  /** The colour SVG text, or null. */
  svg(symbol: string): string | null;
  /** The brand colour from manifest.json (#rrggbb), or null. */
  color(symbol: string): string | null;
}

/** The installed cryptocurrency-icons package root. */
export function defaultIconsDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('cryptocurrency-icons/manifest.json'));
}

/** An icon set over `dir` (expects `manifest.json` and `svg/color/<symbol>.svg`). */
export function createIconSet(dir: string): IconSet {
  let symbols: Set<string> | null = null;
  let colors: Map<string, string> | null = null;
  const svgs = new Map<string, string | null>();
  const svgDir = join(dir, 'svg', 'color');
  const list = (): Set<string> => {
    if (!symbols) {
      symbols = new Set(
        existsSync(svgDir)
          ? readdirSync(svgDir)
              .filter((f) => f.endsWith('.svg'))
              .map((f) => f.slice(0, -4).toLowerCase())
          : [],
      );
    }
    return symbols;
  };
  const colorMap = (): Map<string, string> => {
    if (!colors) {
      colors = new Map();
      const file = join(dir, 'manifest.json');
      if (existsSync(file)) {
        const parsed = manifestSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
        if (parsed.success) {
          for (const e of parsed.data) if (e.color) colors.set(e.symbol.toLowerCase(), e.color.toLowerCase());
        }
      }
    }
    return colors;
  };
  const key = (symbol: string): string => symbol.trim().toLowerCase();
  return {
    has: (symbol) => list().has(key(symbol)),
    svg: (symbol) => {
      const k = key(symbol);
      if (!svgs.has(k)) svgs.set(k, list().has(k) ? readFileSync(join(svgDir, `${k}.svg`), 'utf8') : null);
      return svgs.get(k) ?? null;
    },
    color: (symbol) => colorMap().get(key(symbol)) ?? null,
  };
}

let defaultSet: IconSet | null = null;

/** The icon set of the installed package, created on first use (not at import time). */
export function defaultIconSet(): IconSet {
  defaultSet ??= createIconSet(defaultIconsDir());
  return defaultSet;
}
