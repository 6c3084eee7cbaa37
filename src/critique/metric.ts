/**
 * The metric critic: checks that need no model and always run. Each check says what it measured, whether
 * that passes, and why, in a sentence a person (or the agent) can act on.
 *
 * Checks and their pass rules:
 * - logo: the expected coin's logo is recognised (score >= LOGO_PRESENT) and no other coin's logo is.
 *   At the composited box for our covers; anywhere for a raw image (and, for covers composed on another
 *   backend's image, in the rest of the picture too, where a model may have drawn a stray logo).
 * - palette_novelty: OKLab distance (paletteDistance) of the palette measured from the pixels to those of
 *   the last covers of the same coin >= MIN_NOVELTY (below ~0.04 two covers read as the same scheme).
 * - title_contrast: WCAG ratio between text and background inside the text box >= 4.5 (AA): the ratio the
 *   renderer measured against the worst pixel behind the title when the cover records it, else an
 *   estimate from the pixels (two luminance groups). The estimate is the weaker figure: the coin tag's
 *   pill inside the box pulls it down, so it only stands in when the record has none.
 * - sharpness: Laplacian variance of the 256 px working image >= MIN_SHARPNESS. Measured: our covers score
 *   1100-4300 (text edges and grain), the same cover blurred with a 6 px Gaussian 86.
 * - near_duplicate: perceptual-hash distance to every recent cover > DUPLICATE_HAMMING. Measured: different
 *   covers in the same layout and style are 12-14 apart (the dataset rule of <= 10 would be too eager
 *   here), an exact re-render or a re-encode 0.
 * - text_fits: the renderer kept the whole title (no ellipsis, no dropped glyphs) inside the image.
 */
import type { CoinCatalogue } from '../cover/coins/catalogue.js';
import type { Store } from '../store/index.js';
import { MIN_CONTRAST } from '../image/contrast.js';
import { contrastRatio, LINEAR_LUT } from '../image/color.js';
import { extractPalette, paletteDistance, type Palette } from '../image/palette.js';
import { decodeForMetrics } from '../image/decode.js';
import { hamming, measureImage } from '../image/metrics.js';
import type { CoverRecord } from '../store/repos/covers.js';
import type { CoverFingerprint } from '../store/repos/critiques.js';
import { readStoredBlob } from '../store/stored-blob.js';
import { sameSpot, type Box, type LogoMatcher, type LogoScore, type RgbImage } from './logo-match.js';

/** One check of the metric critic. */
export interface Check {
  name: string;
  passed: boolean;
  /** The measured figure (a score, a ratio, a distance), or null when there was nothing to measure. */
  value: number | null;
  detail: string;
}

/** What the cover should be. */
export interface Expectation {
  /** Ticker of the coin whose logo must be on the cover (defaults to the cover's primary coin). */
  coin?: string | undefined;
  /** The headline (for the vision critic). */
  title?: string | undefined;
  /** A style brief in words (for the vision critic). */
  style?: string | undefined;
}

/** What the critic looks at. */
export interface Subject {
  cover: CoverRecord | null;
  path: string;
  image: RgbImage;
  /** Fingerprint of this image (computed by the caller from a 256 px decode). */
  fingerprint: CoverFingerprint;
  blur: number;
}

export interface MetricResult {
  score: number;
  checks: Check[];
  /** The coin the logo check expected (upper case), or null. */
  expected_coin: string | null;
  /** Logos recognised (box or search), best first, for the trail and the vision comparison. */
  logos: LogoScore[];
}

export const LOGO_PRESENT = 0.85;
export const MIN_NOVELTY = 0.04;
export const MIN_SHARPNESS = 250;
export const DUPLICATE_HAMMING = 6;
/** How many recent covers the novelty and duplicate checks compare against. */
export const RECENT_WINDOW = 12;
/** How many coins (biggest first) besides the expected one the logo check looks for. */
export const CANDIDATE_COINS = 30;

const WEIGHTS: Record<string, number> = { logo: 3, title_contrast: 1.5, near_duplicate: 1.5, text_fits: 1.5, sharpness: 1, palette_novelty: 1 };
/** A wrong or missing logo makes a cover unusable whatever else is right. */
const LOGO_FAIL_CAP = 0.3;

const r3 = (v: number): number => Math.round(v * 1000) / 1000;

/** What the metric critic needs: coin names (candidates for the logo check), recent covers and their fingerprints. */
export interface MetricDeps {
  coins: { catalogue: CoinCatalogue };
  store: Pick<Store, 'covers' | 'critiques' | 'blobs'>;
}

/** The candidate coins: the expected one, the cover's own logo symbol, then the biggest coins with an icon. */
export function candidateCoins(s: { coins: { catalogue: CoinCatalogue } }, matcher: LogoMatcher, first: Array<string | null | undefined>): string[] {
  const out: string[] = [];
  for (const sym of first) if (sym && matcher.has(sym) && !out.includes(sym.toUpperCase())) out.push(sym.toUpperCase());
  for (const c of s.coins.catalogue.coins) {
    if (out.length >= CANDIDATE_COINS + first.length) break;
    const sym = c.symbol.toUpperCase();
    if (!out.includes(sym) && matcher.has(sym)) out.push(sym);
  }
  return out;
}

/** Run every applicable check and score them. */
export async function metricCritique(s: MetricDeps, matcher: LogoMatcher, subject: Subject, expect: Expectation): Promise<MetricResult> {
  const { cover } = subject;
  const expected = (expect.coin ?? cover?.primary_symbol ?? null)?.toUpperCase() ?? null;
  const checks: Check[] = [];
  const logo = await logoCheck(s, matcher, subject, expected);
  checks.push(logo.check);
  const recent = await recentFingerprints(s, cover, expected);
  checks.push(noveltyCheck(subject.fingerprint.palette, recent));
  if (cover?.text_box) checks.push(contrastCheck(subject.image, cover));
  checks.push(sharpnessCheck(subject.blur));
  checks.push(duplicateCheck(subject.fingerprint.phash, recent));
  if (cover) checks.push(textFitsCheck(cover));
  let sum = 0;
  let wsum = 0;
  for (const c of checks) {
    const w = WEIGHTS[c.name] ?? 1;
    wsum += w;
    if (c.passed) sum += w;
  }
  let score = wsum ? sum / wsum : 0;
  if (!logo.check.passed) score = Math.min(score, LOGO_FAIL_CAP);
  return { score: r3(score), checks, expected_coin: expected, logos: logo.logos };
}

async function logoCheck(s: MetricDeps, matcher: LogoMatcher, subject: Subject, expected: string | null): Promise<{ check: Check; logos: LogoScore[] }> {
  const { cover, image } = subject;
  const box = cover?.logo?.box ?? null;
  const candidates = candidateCoins(s, matcher, [expected, cover?.logo?.symbol]);
  const name = 'logo';
  const fmt = (l: LogoScore): string => `${l.symbol} ${l.score.toFixed(2)}`;

  // Our cover: the logo box is known. External backgrounds may hold stray logos elsewhere, so search too.
  if (cover && box) {
    const atBox = await matcher.matchAtBox(image, box, candidates);
    const stray = cover.backend !== 'local' || cover.style === 'external' ? await strayLogos(matcher, image, candidates, box) : [];
    const logos = [...atBox, ...stray];
    const best = atBox[0];
    const mine = expected ? atBox.find((l) => l.symbol === expected) : undefined;
    const strayNote = stray.length ? ` Another coin's logo is also in the picture: ${stray.map((l) => `${fmt(l)} at ${l.box.x},${l.box.y}`).join('; ')}.` : '';
    if (!expected) {
      const passed = !(best && best.score >= LOGO_PRESENT) && stray.length === 0;
      return {
        check: { name, passed, value: best ? r3(best.score) : null, detail: passed ? 'No coin was expected and no coin logo was recognised.' : `No coin was expected, but the ${best?.symbol} logo is on the cover.${strayNote}` },
        logos,
      };
    }
    if (!matcher.has(expected)) {
      // A monogram or a registered logo cannot be matched against the icon set; check nothing else is there.
      const other = best && best.symbol !== expected && best.score >= LOGO_PRESENT ? best : undefined;
      const passed = !other && stray.length === 0 && cover.logo?.symbol.toUpperCase() === expected;
      return {
        check: {
          name,
          passed,
          value: null,
          detail: other
            ? `The logo box holds the ${other.symbol} logo (${other.score.toFixed(2)}), not ${expected}.${strayNote}`
            : passed
              ? `The icon set has no ${expected} logo, so the ${cover.logo?.source ?? 'drawn'} logo was not template-matched; no other coin's logo is in the box.`
              : `The cover's logo is ${cover.logo?.symbol ?? 'missing'}, not ${expected}.${strayNote}`,
        },
        logos,
      };
    }
    const ok = best?.symbol === expected && best.score >= LOGO_PRESENT && stray.length === 0;
    let detail: string;
    if (ok) detail = `The ${expected} logo is in the logo box (match ${best.score.toFixed(2)}; next best ${atBox[1] ? fmt(atBox[1]) : 'none'}).`;
    else if (best && best.symbol !== expected && best.score >= LOGO_PRESENT) {
      detail = `The logo box holds the ${best.symbol} logo (${best.score.toFixed(2)}), not ${expected} (${(mine?.score ?? 0).toFixed(2)}).${strayNote}`;
    } else if (stray.length) detail = `The ${expected} logo is in the logo box (${(mine?.score ?? 0).toFixed(2)}).${strayNote}`;
    else detail = `The ${expected} logo is not recognisable in the logo box (match ${(mine?.score ?? 0).toFixed(2)}, needs ${LOGO_PRESENT}).`;
    return { check: { name, passed: ok, value: r3(mine?.score ?? 0), detail }, logos };
  }

  if (cover && expected && !box) {
    return { check: { name, passed: false, value: 0, detail: `The cover has no logo, but the ${expected} logo was expected.` }, logos: [] };
  }

  // A raw image: search everywhere.
  const found = await matcher.searchLogos(image, candidates);
  const present = found.filter((l) => l.score >= LOGO_PRESENT);
  const mine = expected ? found.find((l) => l.symbol === expected) : undefined;
  const mineOk = mine !== undefined && mine.score >= LOGO_PRESENT;
  // Another coin counts where it is not the expected logo's own spot (there the two compete and the better wins).
  const others = present.filter((l) => l.symbol !== expected && !(mineOk && sameSpot(l.box, mine.box) && mine.score >= l.score));
  const where = (l: LogoScore): string => `${fmt(l)} at ${l.box.x},${l.box.y} (${l.box.width}px)`;
  if (!expected) {
    return {
      check: {
        name,
        passed: others.length === 0,
        value: found[0] ? r3(found[0].score) : null,
        detail: others.length ? `No coin was expected, but a coin logo is in the image: ${others.map(where).join('; ')}.` : 'No coin was expected and no coin logo was found.',
      },
      logos: found,
    };
  }
  if (!matcher.has(expected)) {
    return {
      check: {
        name,
        passed: others.length === 0,
        value: null,
        detail: others.length
          ? `Another coin's logo is in the image: ${others.map(where).join('; ')} (the icon set has no ${expected} logo to look for).`
          : `The icon set has no ${expected} logo to look for; no other coin's logo was found.`,
      },
      logos: found,
    };
  }
  const passed = mineOk && others.length === 0;
  const detail = passed
    ? `The ${expected} logo is in the image at ${mine.box.x},${mine.box.y} (match ${mine.score.toFixed(2)}); no other coin's logo was found among ${candidates.length} coins.`
    : [
        mineOk ? `The ${expected} logo is in the image (${mine.score.toFixed(2)}), but` : `The ${expected} logo was not found (best match ${(mine?.score ?? 0).toFixed(2)}, needs ${LOGO_PRESENT}).`,
        others.length ? `${mineOk ? 'another' : 'Another'} coin's logo is: ${others.map(where).join('; ')}.` : '',
      ]
        .join(' ')
        .trim();
  return { check: { name, passed, value: r3(mine?.score ?? 0), detail }, logos: found };
}

/** Other coins' logos outside our own logo box (for covers composed on a backend's image). */
async function strayLogos(matcher: LogoMatcher, image: RgbImage, candidates: string[], box: Box): Promise<LogoScore[]> {
  const found = await matcher.searchLogos(image, candidates);
  return found.filter((l) => l.score >= LOGO_PRESENT && !sameSpot(l.box, box));
}

interface RecentFp {
  cover: CoverRecord;
  fp: CoverFingerprint;
}

/** Fingerprints of the covers made before this one (same coin for palettes; any coin for duplicates). */
async function recentFingerprints(s: MetricDeps, cover: CoverRecord | null, coin: string | null): Promise<{ sameCoin: RecentFp[]; all: RecentFp[] }> {
  const before = (c: CoverRecord): boolean => !cover || (c.id !== cover.id && c.created_at <= cover.created_at);
  const all = (await s.store.covers.recent(RECENT_WINDOW * 4, undefined)).filter(before).slice(0, RECENT_WINDOW * 2);
  const sameCoin = (await s.store.covers.recent(RECENT_WINDOW * 4, coin)).filter(before).slice(0, RECENT_WINDOW);
  const seen = new Map<string, RecentFp>();
  const load = async (c: CoverRecord): Promise<RecentFp | null> => {
    const hit = seen.get(c.id);
    if (hit) return hit;
    const fp = await coverFingerprint(s, c);
    if (!fp) return null;
    const r = { cover: c, fp };
    seen.set(c.id, r);
    return r;
  };
  const out = { sameCoin: [] as RecentFp[], all: [] as RecentFp[] };
  for (const c of sameCoin) {
    const r = await load(c);
    if (r) out.sameCoin.push(r);
  }
  for (const c of all) {
    const r = await load(c);
    if (r) out.all.push(r);
  }
  return out;
}

/** A cover's fingerprint from the cache, or measured from its PNG (null when the blob is gone). */
export async function coverFingerprint(s: MetricDeps, c: CoverRecord): Promise<CoverFingerprint | null> {
  const cached = await s.store.critiques.fingerprint(c.id);
  if (cached) return cached;
  let bytes: Buffer;
  try {
    bytes = await readStoredBlob(s.store.blobs, { sha256: c.blob_sha256, path: c.blob_path });
  } catch {
    return null;
  }
  const small = await decodeForMetrics(bytes);
  const fp = fingerprintOf(small);
  await s.store.critiques.setFingerprint(c.id, fp);
  return fp;
}

/** Perceptual hash and measured palette of a small RGB decode (<= 256 px). */
export function fingerprintOf(small: { data: Uint8Array; width: number; height: number }): CoverFingerprint {
  const m = measureImage({ data: small.data, width: small.width, height: small.height, channels: 3 });
  const n = small.width * small.height;
  const rgba = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    rgba[i * 4] = small.data[i * 3]!;
    rgba[i * 4 + 1] = small.data[i * 3 + 1]!;
    rgba[i * 4 + 2] = small.data[i * 3 + 2]!;
    rgba[i * 4 + 3] = 255;
  }
  return { phash: m.phash, palette: extractPalette(rgba, small.width, small.height) };
}

function noveltyCheck(palette: Palette, recent: { sameCoin: RecentFp[] }): Check {
  if (recent.sameCoin.length === 0) {
    return { name: 'palette_novelty', passed: true, value: null, detail: 'No earlier cover of this coin to compare the palette with.' };
  }
  let min = Infinity;
  let closest: CoverRecord | null = null;
  for (const r of recent.sameCoin) {
    const d = paletteDistance(palette, r.fp.palette);
    if (d < min) {
      min = d;
      closest = r.cover;
    }
  }
  const passed = min >= MIN_NOVELTY;
  return {
    name: 'palette_novelty',
    passed,
    value: r3(min),
    detail: passed
      ? `The palette differs from the last ${recent.sameCoin.length} covers of this coin (closest OKLab distance ${min.toFixed(3)}).`
      : `The palette repeats a recent cover (${closest?.id ?? '?'}, OKLab distance ${min.toFixed(3)}, needs ${MIN_NOVELTY}); try another seed or style.`,
  };
}

function duplicateCheck(phash: string, recent: { all: RecentFp[] }): Check {
  if (recent.all.length === 0) return { name: 'near_duplicate', passed: true, value: null, detail: 'No earlier cover to compare with.' };
  let min = 64;
  let closest: CoverRecord | null = null;
  for (const r of recent.all) {
    const d = hamming(phash, r.fp.phash);
    if (d < min) {
      min = d;
      closest = r.cover;
    }
  }
  const passed = min > DUPLICATE_HAMMING;
  return {
    name: 'near_duplicate',
    passed,
    value: min,
    detail: passed
      ? `Not a near-duplicate of the last ${recent.all.length} covers (closest perceptual-hash distance ${min}/64).`
      : `Near-duplicate of cover ${closest?.id ?? '?'} (perceptual-hash distance ${min}/64, duplicates are <= ${DUPLICATE_HAMMING}); use another seed or style.`,
  };
}

/**
 * Contrast measured on the pixels: the text box's luminances split in two groups (Otsu), text and
 * background, and the WCAG ratio between the 10th percentile of the brighter and the 90th of the darker
 * (robust to anti-aliased edges; a mean would flatter a busy background).
 */
function contrastCheck(img: RgbImage, cover: CoverRecord): Check {
  const b = cover.text_box!;
  const x0 = Math.max(0, Math.round(b.x));
  const y0 = Math.max(0, Math.round(b.y));
  const x1 = Math.min(img.width, Math.round(b.x + b.width));
  const y1 = Math.min(img.height, Math.round(b.y + b.height));
  const recorded = typeof cover.meta.contrast === 'number' ? cover.meta.contrast : null;
  if (x1 - x0 < 2 || y1 - y0 < 2) {
    return { name: 'title_contrast', passed: recorded === null || recorded >= MIN_CONTRAST, value: recorded, detail: 'The cover has no text to measure.' };
  }
  const lum: number[] = [];
  const step = Math.max(1, Math.floor(Math.sqrt(((x1 - x0) * (y1 - y0)) / 40_000)));
  for (let y = y0; y < y1; y += step) {
    for (let x = x0; x < x1; x += step) {
      const i = (y * img.width + x) * 3;
      lum.push(0.2126 * LINEAR_LUT[img.data[i]!]! + 0.7152 * LINEAR_LUT[img.data[i + 1]!]! + 0.0722 * LINEAR_LUT[img.data[i + 2]!]!);
    }
  }
  const estimate = splitContrast(lum);
  const value = recorded ?? estimate;
  const passed = value >= MIN_CONTRAST;
  const how = recorded !== null ? 'measured by the renderer against the worst pixel behind the title' : 'estimated from the pixels of the text box';
  return {
    name: 'title_contrast',
    passed,
    value: Math.round(value * 10) / 10,
    detail: `${passed ? 'Readable' : 'Hard to read'}: title contrast ${value.toFixed(1)}:1 (${how}; WCAG AA needs ${MIN_CONTRAST}:1).${passed ? '' : ' Try another style or palette.'}`,
  };
}

/** WCAG ratio between the two luminance groups of a region (Otsu split on 64 bins). */
export function splitContrast(lum: number[]): number {
  if (lum.length < 4) return 21;
  const bins = new Array<number>(64).fill(0);
  for (const l of lum) bins[Math.min(63, Math.floor(Math.sqrt(l) * 64))]!++;
  // Otsu on sqrt(luminance), which spreads dark values the way eyes do.
  const total = lum.length;
  let sumAll = 0;
  for (let i = 0; i < 64; i++) sumAll += i * bins[i]!;
  let wB = 0;
  let sumB = 0;
  let best = 0;
  let cut = 32;
  for (let i = 0; i < 64; i++) {
    wB += bins[i]!;
    if (wB === 0) continue;
    const wF = total - wB;
    if (wF === 0) break;
    sumB += i * bins[i]!;
    const mB = sumB / wB;
    const mF = (sumAll - sumB) / wF;
    const between = wB * wF * (mB - mF) ** 2;
    if (between > best) {
      best = between;
      cut = i;
    }
  }
  const dark = lum.filter((l) => Math.min(63, Math.floor(Math.sqrt(l) * 64)) <= cut).sort((a, b) => a - b);
  const light = lum.filter((l) => Math.min(63, Math.floor(Math.sqrt(l) * 64)) > cut).sort((a, b) => a - b);
  // The smaller group is the text; too few pixels means there is no second group at all.
  if (Math.min(dark.length, light.length) < total * 0.02) return 1;
  const darkHi = dark[Math.floor(dark.length * 0.9)]!;
  const lightLo = light[Math.floor(light.length * 0.1)]!;
  return contrastRatio(lightLo, darkHi);
}

function sharpnessCheck(blur: number): Check {
  const passed = blur >= MIN_SHARPNESS;
  return {
    name: 'sharpness',
    passed,
    value: Math.round(blur),
    detail: passed
      ? `Sharp enough (Laplacian variance ${Math.round(blur)}, needs ${MIN_SHARPNESS}).`
      : `Looks soft or blurred (Laplacian variance ${Math.round(blur)}, needs ${MIN_SHARPNESS}); try another style or seed.`,
  };
}

function textFitsCheck(cover: CoverRecord): Check {
  const warnings = Array.isArray(cover.meta.warnings) ? cover.meta.warnings.filter((w): w is string => typeof w === 'string') : [];
  const cut = warnings.filter((w) => /ellipsis|no glyphs|title was empty|no headline/i.test(w));
  const b = cover.text_box;
  const outside = b !== null && (b.x < 0 || b.y < 0 || b.x + b.width > cover.width + 0.5 || b.y + b.height > cover.height + 0.5);
  const passed = cut.length === 0 && !outside;
  return {
    name: 'text_fits',
    passed,
    value: cut.length + (outside ? 1 : 0),
    detail: passed
      ? 'The whole title is on the cover.'
      : [outside ? 'The text box runs outside the image.' : '', ...cut, 'A shorter headline (or moving words to the subtitle) fixes this.'].filter(Boolean).join(' '),
  };
}
