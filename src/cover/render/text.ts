/**
 * Title layout with satori (object form, no JSX) and the shipped Inter fonts.
 *
 * Fonts are read once per factory and the same `fonts` array is passed to every satori call, because satori
 * caches its parsed fonts by that array's identity (parsing costs ~200 ms; a cached call ~5-15 ms).
 * Characters the fonts lack (emoji, CJK, ...) are removed before layout and reported as warnings: satori would
 * otherwise draw "NO GLYPH" boxes, which must never reach a published cover.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import satori from 'satori';
import { z } from 'zod';

/** The placeholder colour of title and subtitle glyphs; swapped for the measured text colour later. */
export const TEXT_SENTINEL = '#fe01fe';

const SUBSETS = ['latin', 'latin-ext', 'cyrillic', 'cyrillic-ext', 'greek', 'greek-ext', 'vietnamese'] as const;
const WEIGHTS = [500, 700, 800] as const;

type SatoriFont = { name: string; data: Buffer; weight: 500 | 700 | 800; style: 'normal' };

/** The fonts for one text: only the Inter subsets its characters need, so satori parses few faces. */
export interface FontSelection {
  fonts: SatoriFont[];
  family: string;
}

/** Loaded fonts plus their Unicode coverage. */
export interface FontKit {
  /** Fonts for the given texts (Latin always included). The same array comes back for the same subsets,
   *  which matters: satori caches parsed fonts by the array's identity. */
  fontsFor(...texts: string[]): FontSelection;
  /** Whether the shipped fonts have a glyph for this code point. */
  covers(codePoint: number): boolean;
}

const unicodeSchema = z.record(z.string(), z.string());

/**
 * Read the subset ranges of @fontsource/inter; the woff files (satori cannot read woff2) are read only when a
 * text needs their subset. Parsing all 21 faces costs ~0.4 s on the first render, which a CLI call pays in full;
 * a Latin headline needs 3 of them.
 */
export function loadFontKit(): FontKit {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('@fontsource/inter/unicode.json'));
  const table = unicodeSchema.parse(JSON.parse(readFileSync(join(root, 'unicode.json'), 'utf8')));
  // [lo, hi, subset index], sorted by lo; a code point belongs to the first subset (in SUBSETS order) listing it.
  const ranges: Array<[number, number, number]> = [];
  SUBSETS.forEach((sub, idx) => {
    for (const part of (table[sub] ?? '').split(',')) {
      const m = /^U\+([0-9A-F]+)(?:-([0-9A-F]+))?$/i.exec(part.trim());
      if (m?.[1]) ranges.push([parseInt(m[1], 16), parseInt(m[2] ?? m[1], 16), idx]);
    }
  });
  ranges.sort((a, b) => a[0] - b[0] || a[2] - b[2]);
  const subsetOf = (cp: number): number => {
    let best = -1;
    for (const [lo, hi, idx] of ranges) {
      if (cp < lo) break;
      if (cp <= hi && (best === -1 || idx < best)) best = idx;
    }
    return best;
  };
  const faces = new Map<string, SatoriFont[]>();
  const facesOf = (idx: number): SatoriFont[] => {
    const sub = SUBSETS[idx]!;
    let f = faces.get(sub);
    if (!f) {
      f = WEIGHTS.map((weight) => ({
        // One family name per subset: satori keeps a single face per (name, weight), so subsets sharing the
        // name "Inter" would shadow each other and Cyrillic/Greek would come out as missing glyphs.
        name: `Inter-${sub}`,
        data: readFileSync(join(root, 'files', `inter-${sub}-${weight}-normal.woff`)),
        weight,
        style: 'normal' as const,
      }));
      faces.set(sub, f);
    }
    return f;
  };
  const selections = new Map<string, FontSelection>();
  return {
    fontsFor(...texts) {
      const need = new Set<number>([0]);
      for (const t of texts) {
        for (const ch of t) {
          const cp = ch.codePointAt(0) ?? 0;
          if (cp < 0x80) continue;
          const idx = subsetOf(cp);
          if (idx >= 0) need.add(idx);
        }
      }
      const idxs = [...need].sort((a, b) => a - b);
      const key = idxs.join(',');
      let sel = selections.get(key);
      if (!sel) {
        sel = { fonts: idxs.flatMap(facesOf), family: idxs.map((i) => `Inter-${SUBSETS[i]}`).join(', ') };
        selections.set(key, sel);
      }
      return sel;
    },
    covers: (cp) => subsetOf(cp) >= 0,
  };
}

/** The cleaned text and what was removed from it. */
export interface SanitizedText {
  text: string;
  /** Distinct graphemes removed because no shipped font draws them. */
  dropped: string[];
}

const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** NFC, whitespace collapsed, control characters removed, graphemes without glyphs dropped. */
export function sanitizeText(input: string, kit: FontKit): SanitizedText {
  const flat = input
    .normalize('NFC')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
  const dropped = new Set<string>();
  let out = '';
  for (const { segment } of segmenter.segment(flat)) {
    let ok = true;
    for (const ch of segment) {
      const cp = ch.codePointAt(0) ?? 0;
      if (!kit.covers(cp)) {
        ok = false;
        break;
      }
    }
    if (ok) out += segment;
    else if (segment.trim() !== '') dropped.add(segment);
  }
  return { text: out.replace(/\s+/g, ' ').trim(), dropped: [...dropped] };
}

/** A rectangle in pixels. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What to lay out and in how much room. */
export interface TextRequest {
  title: string;
  subtitle?: string;
  /** A small tag above the title (e.g. the coin name), drawn on `bg` in `fg`. */
  kicker?: { text: string; bg: string; fg: string };
  /** Width of the text column. */
  width: number;
  /** Height the whole block must fit in. */
  maxHeight: number;
  /** Largest title size to try, in px. */
  maxFontSize: number;
  /** Smallest title size before truncation, in px. */
  minFontSize: number;
  align: 'left' | 'center';
}

/** A laid-out text block. */
export interface TextLayout {
  /** satori SVG; title/subtitle glyphs are filled with TEXT_SENTINEL. */
  svg: string;
  width: number;
  height: number;
  titleFontSize: number;
  /** Boxes of the parts, relative to the block. */
  parts: { kicker?: Rect; title?: Rect; subtitle?: Rect };
  /** true when the title had to be cut with an ellipsis. */
  truncated: boolean;
  subtitleTruncated: boolean;
  /** satori calls used (for tuning). */
  attempts: number;
}

type SatoriElement = { type: string; props: Record<string, unknown> };

const TITLE_LH = 1.12;
const SUB_LH = 1.3;
/** Average advance of Inter ExtraBold in em, used only for the first size guess. */
const AVG_ADVANCE_EM = 0.56;

/**
 * Fit the block: guess a size from the text length and the area, then let satori measure and shrink until it
 * fits. Only at the minimum size is the title clamped with an ellipsis (the caller reports it).
 */
export async function layoutText(input: TextRequest, kit: FontKit): Promise<TextLayout> {
  const req = { ...input, title: precut(input.title, input) };
  const chars = Math.max(1, req.title.length);
  // Title area ~70% of the block when there is a subtitle; size from area = lines * lh * fs, width = chars*adv*fs.
  const titleShare = req.subtitle ? 0.72 : 0.9;
  const guess = Math.sqrt((req.width * req.maxHeight * titleShare) / (chars * AVG_ADVANCE_EM * TITLE_LH)) * 0.92;
  let fs = clamp(Math.floor(guess), req.minFontSize, req.maxFontSize);
  let attempts = 0;
  let last: { svg: string; height: number; parts: TextLayout['parts'] } | null = null;
  for (let i = 0; i < 7; i++) {
    attempts++;
    last = await renderBlock(req, kit, fs, undefined);
    if (last.height <= req.maxHeight) {
      return { ...last, width: req.width, titleFontSize: fs, truncated: false, subtitleTruncated: false, attempts };
    }
    if (fs <= req.minFontSize) break;
    const ratio = Math.sqrt(req.maxHeight / last.height);
    fs = Math.max(req.minFontSize, Math.floor(fs * clamp(ratio * 0.98, 0.6, 0.94)));
  }
  // Last resort: at the minimum size, clamp the subtitle to 2 lines, then the title to the lines that fit.
  fs = req.minFontSize;
  const subFs = subtitleSize(fs);
  const fixed = (last?.parts.kicker ? last.parts.kicker.height + fs * 0.45 : 0) +
    (req.subtitle ? Math.ceil(subFs * SUB_LH) * 2 + fs * 0.45 : 0);
  let lines = Math.max(1, Math.floor((req.maxHeight - fixed) / (fs * TITLE_LH)));
  for (let i = 0; i < 6; i++) {
    attempts++;
    const block = await renderBlock(req, kit, fs, lines, 2);
    if (block.height <= req.maxHeight || lines === 1) {
      return {
        ...block,
        width: req.width,
        titleFontSize: fs,
        truncated: true,
        subtitleTruncated: Boolean(req.subtitle),
        attempts,
      };
    }
    lines--;
  }
  // Unreachable in practice (1 line always fits in any sane area); return what we have rather than throw.
  const block = await renderBlock(req, kit, fs, 1, 1);
  return { ...block, width: req.width, titleFontSize: fs, truncated: true, subtitleTruncated: true, attempts };
}

/**
 * A title far longer than the area can hold even at the minimum size is cut (at a word) to a little more
 * than that capacity before layout: satori's time grows with the text, and the ellipsis clamp would drop the
 * rest anyway. Titles that might fit are never touched here.
 */
function precut(title: string, req: TextRequest): string {
  const perLine = req.width / (req.minFontSize * 0.45);
  const lines = req.maxHeight / (req.minFontSize * TITLE_LH);
  const cap = Math.ceil(perLine * lines * 1.3);
  if (title.length <= cap) return title;
  const cut = title.slice(0, cap);
  const space = cut.lastIndexOf(' ');
  return space > cap * 0.7 ? cut.slice(0, space) : cut;
}

function subtitleSize(titleFs: number): number {
  return Math.max(15, Math.round(titleFs * 0.42));
}

async function renderBlock(
  req: TextRequest,
  kit: FontKit,
  fs: number,
  titleLines: number | undefined,
  subLines = 3,
): Promise<{ svg: string; height: number; parts: TextLayout['parts'] }> {
  const subFs = subtitleSize(fs);
  const gap = Math.round(fs * 0.45);
  const children: SatoriElement[] = [];
  const kinds: Array<'kicker' | 'title' | 'subtitle'> = [];
  const alignSelf = req.align === 'center' ? 'center' : 'flex-start';
  if (req.kicker) {
    const kfs = Math.max(13, Math.round(fs * 0.3));
    kinds.push('kicker');
    children.push({
      type: 'div',
      props: {
        style: {
          display: 'flex',
          alignSelf,
          backgroundColor: req.kicker.bg,
          color: req.kicker.fg,
          fontSize: kfs,
          fontWeight: 800,
          letterSpacing: kfs * 0.12,
          padding: `${Math.round(kfs * 0.35)}px ${Math.round(kfs * 0.7)}px`,
          borderRadius: Math.round(kfs * 0.4),
          marginBottom: gap,
        },
        children: req.kicker.text,
      },
    });
  }
  if (req.title) {
    kinds.push('title');
    children.push({
      type: 'div',
      props: {
        style: {
          display: 'block',
          fontSize: fs,
          fontWeight: 800,
          lineHeight: TITLE_LH,
          letterSpacing: -fs * 0.015,
          color: TEXT_SENTINEL,
          wordBreak: 'break-word',
          textAlign: req.align,
          ...(titleLines ? { lineClamp: titleLines } : {}),
        },
        children: req.title,
      },
    });
  }
  if (req.subtitle) {
    kinds.push('subtitle');
    children.push({
      type: 'div',
      props: {
        style: {
          display: 'block',
          fontSize: subFs,
          fontWeight: 500,
          lineHeight: SUB_LH,
          color: TEXT_SENTINEL,
          marginTop: req.title ? gap : 0,
          wordBreak: 'break-word',
          textAlign: req.align,
          lineClamp: subLines,
        },
        children: req.subtitle,
      },
    });
  }
  const faces = kit.fontsFor(req.title, req.subtitle ?? '', req.kicker?.text ?? '');
  const root: SatoriElement = {
    type: 'div',
    props: {
      style: { display: 'flex', flexDirection: 'column', width: req.width, fontFamily: faces.family },
      children,
    },
  };
  const found: Rect[] = [];
  const svg = await satori(root as unknown as Parameters<typeof satori>[0], {
    width: req.width,
    fonts: faces.fonts,
    onNodeDetected: (n) => {
      found.push({ x: n.left, y: n.top, width: n.width, height: n.height });
    },
  });
  // onNodeDetected reports the root first, then children in order.
  const parts: TextLayout['parts'] = {};
  kinds.forEach((k, i) => {
    const r = found[i + 1];
    if (r) parts[k] = r;
  });
  const height = Number(/height="([\d.]+)"/.exec(svg)?.[1] ?? found[0]?.height ?? 0);
  return { svg, height, parts };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
