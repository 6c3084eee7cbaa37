/**
 * The local captioner: no language model, so it states only what it can measure or was told. Dominant colours
 * by name, brightness, orientation, framing words from the tags, the user's tags themselves, a coin named in
 * the file name, and, for sets of people whose tags name no framing, the shot the local people detector
 * measured ("close-up, one person, face centred, plain background"). It never guesses a subject beyond that.
 */
import type { CoinSpotter } from '../ports.js';
import { decodeForMetrics } from '../../image/decode.js';
import { measureImage, type ImageMetrics } from '../../image/metrics.js';
import { blurVerdict } from '../analyze/checks.js';
import { FRAMING, imageCategories } from '../analyze/taxonomy.js';
import type { PeopleDetector } from '../people/detector.js';
import { shotCategories, shotFromPixels, shotTypingApplies, shotWords, type ShotType } from '../people/index.js';

/** What the local captioner reads. */
export interface LocalCaptionInput {
  /** The stored image bytes. */
  bytes: Buffer;
  fileName: string;
  tags: string[];
  /** Categories already known (user or earlier vision model). */
  categories?: string[] | null;
  assetType: string;
}

/** A local caption (without the trigger word) and the facts it rests on. */
export interface LocalCaption {
  text: string;
  categories: string[];
  metrics: ImageMetrics;
  coin: { symbol: string; name: string } | null;
  /** What the people detector measured, when it ran. */
  shot: ShotType | null;
}

/** Brightness as words a prompt would use. */
function brightnessWords(m: ImageMetrics): string | null {
  if (m.brightness < 0.18) return 'very dark, low-key lighting';
  if (m.brightness < 0.35) return 'dark tones';
  if (m.brightness > 0.85) return 'very bright, high-key';
  if (m.brightness > 0.68) return 'bright tones';
  return null;
}

function orientationWords(aspect: number): string {
  if (aspect > 1.9) return 'panoramic horizontal format';
  if (aspect > 1.15) return 'horizontal format';
  if (aspect < 0.53) return 'tall vertical format';
  if (aspect < 0.87) return 'vertical format';
  return 'square format';
}

/** The coin a file name mentions ("solana-gold-3.png" -> Solana), if any. */
export function coinFromFileName(detector: CoinSpotter, fileName: string): { symbol: string; name: string } | null {
  const stem = fileName.replace(/\.[a-z0-9]{2,5}$/i, '').replace(/[_\-.+]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2');
  const found = detector.detect(stem).find((c) => c.primary) ?? detector.detect(stem)[0];
  return found ? { symbol: found.symbol, name: found.name } : null;
}

function colourPhrase(m: ImageMetrics): string | null {
  const names = [...new Set(m.dominantColors.filter((c) => c.share >= 0.08).map((c) => c.name))].slice(0, 3);
  if (names.length === 0) return null;
  if (m.greyscale) return 'black and white, greyscale';
  const list = names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]!}`;
  return `${list} color scheme`;
}

/** Caption one image from measurements and the user's tags. */
export async function localCaption(input: LocalCaptionInput, detector: CoinSpotter, people?: PeopleDetector): Promise<LocalCaption> {
  const img = await decodeForMetrics(input.bytes);
  const metrics = measureImage(img);
  const coin = coinFromFileName(detector, input.fileName);
  const known = imageCategories(input.categories, input.tags, null);
  const isFraming = (c: string): boolean => (FRAMING as readonly string[]).includes(c);
  // The shot from the pixels, only when nothing the user gave names the framing.
  // A detector that fails costs the caption its shot words, never the caption.
  const shot = people && shotTypingApplies(input.assetType) && !known.some(isFraming) ? await shotFromPixels(people, img).catch(() => null) : null;
  const fromShot = shot ? shotCategories(shot).filter((c) => !known.includes(c)) : [];
  const categories = [...fromShot.filter(isFraming), ...known, ...fromShot.filter((c) => !isFraming(c))];
  const parts: string[] = [];
  if (coin) parts.push(input.assetType === 'coin' || input.assetType === 'logo' ? `${coin.name} (${coin.symbol}) ${input.assetType}` : `${coin.name} (${coin.symbol})`);
  // Framing the tags imply, then the tags as the user wrote them (they are facts the user vouched for).
  const framing = categories[0];
  const tags = input.tags.map((t) => t.trim()).filter((t) => t !== '');
  if (framing && !tags.some((t) => imageCategories(null, [t], null)[0] === framing)) parts.push(framing);
  parts.push(...tags);
  if (shot) parts.push(...shotWords(shot).filter((w) => w !== shot.framing || !parts.includes(w)));
  const colours = colourPhrase(metrics);
  if (colours) parts.push(colours);
  const light = brightnessWords(metrics);
  if (light) parts.push(light);
  if (!metrics.greyscale && metrics.colorfulness > 80) parts.push('vivid colors');
  else if (!metrics.greyscale && metrics.colorfulness < 15) parts.push('muted colors');
  if (metrics.contrast < 0.08) parts.push('low contrast');
  else if (metrics.contrast > 0.3) parts.push('high contrast');
  if (metrics.entropy < 3.5 && metrics.contrast < 0.25) parts.push('flat, simple shapes');
  else if (blurVerdict(metrics)) parts.push('soft focus');
  parts.push(orientationWords(metrics.aspect));
  return { text: [...new Set(parts)].join(', '), categories, metrics, coin, shot };
}
