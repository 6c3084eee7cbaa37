/**
 * The category taxonomy for balance analysis: which framing and content each training image shows, read from
 * its tags and caption by keyword (or given by the vision model / the user), and the target share of each.
 *
 * Framing categories (close-up, medium shot, full-body, far/wide) are exclusive: an image gets at most one,
 * the first listed, and it becomes the kohya subset. Content categories (multi-character, occlusion,
 * complex background) stack on top.
 */

/** Framing categories, in the order they are tested (the more specific wording first). */
export const FRAMING = ['close-up', 'medium shot', 'full-body', 'far/wide'] as const;
/** Content categories. */
export const CONTENT = ['multi-character', 'occlusion', 'complex background'] as const;
export const CATEGORIES = [...FRAMING, ...CONTENT] as const;
export type CategoryName = (typeof CATEGORIES)[number];

/** A target range in percent of the analysed images, [min, max]. */
export type TargetRange = [number, number];

/** Default target mix for sets of subjects (characters, styles, products, covers). */
export const DEFAULT_TARGETS: Readonly<Record<CategoryName, TargetRange>> = {
  'close-up': [30, 40],
  'medium shot': [25, 30],
  'full-body': [25, 30],
  'far/wide': [5, 10],
  'multi-character': [15, 20],
  occlusion: [8, 12],
  'complex background': [20, 30],
};

/**
 * Asset types where framing and crowd targets make no sense (a clipboard icon has no full-body shot):
 * only targets the project sets itself apply, plus the coin coverage of coin sets.
 */
export const GRAPHIC_ASSET_TYPES = new Set(['icons', 'logo', 'coin']);

/** Targets that apply to a project: its own (when set), else the defaults for its asset type. */
export function targetsFor(assetType: string, own?: Record<string, TargetRange> | null): Record<string, TargetRange> {
  if (own && Object.keys(own).length > 0) return { ...own };
  return GRAPHIC_ASSET_TYPES.has(assetType) ? {} : { ...DEFAULT_TARGETS };
}

const KEYWORDS: Record<CategoryName, RegExp> = {
  'close-up': /\b(close[- ]?ups?|closeup|extreme close|headshot|head shot|face shot|portrait shot|macro|detail shot|bust shot)\b/i,
  'medium shot': /\b(medium[- ]shot|mid[- ]shot|medium close|waist[- ]up|half[- ]body|upper[- ]body|cowboy shot)\b/i,
  'full-body': /\b(full[- ]?body|full[- ]length|whole body|head to toe|standing figure|full figure)\b/i,
  'far/wide': /\b(wide[- ]shot|wide[- ]angle|far[- ]shot|long[- ]shot|extreme long|establishing shot|from (a )?(distance|afar)|distant|aerial view|far away|tiny figure)\b/i,
  'multi-character': /\b(multiple|several|many|two|three|four|five|group of|pair of)\s+(people|persons|characters|figures|girls|boys|men|women|friends|kids|children)\b|\b(crowd|group shot|couple|duo|trio|\d+(girls|boys|others))\b|\b(with|and) (another|other) (person|character|people|characters)\b/i,
  occlusion: /\b(occlu\w*|partially (hidden|covered|visible|obscured)|obscured|covering (his|her|their|the) (face|eyes|mouth)|hand (over|covering)|behind (a|an|the) \w+|cropped out|out of frame|half hidden|peeking)\b/i,
  'complex background': /\b(busy|complex|detailed|cluttered|crowded) background\b|\b(city|street|forest|market|cafe|room|interior|indoors|landscape|scenery|crowd|office|bedroom|kitchen|stadium|skyline|nature|garden|beach|mountains?)\b/i,
};

/** Words that say the background is plain: they cancel a "complex background" match from scene words. */
const PLAIN_BACKGROUND = /\b(plain|solid|simple|white|black|gray|grey|blank|empty|transparent|studio|seamless|gradient|flat) (\w+ )?background\b/i;

/** Normalise free category names ("closeup", "Full body") to the taxonomy's names when they are ours. */
export function normalizeCategory(name: string): string {
  const n = name.trim().toLowerCase();
  for (const c of CATEGORIES) {
    if (n === c) return c;
    if (KEYWORDS[c].test(n)) return c;
  }
  if (n === 'medium' || n === 'mid') return 'medium shot';
  if (n === 'far' || n === 'wide' || n === 'far-wide') return 'far/wide';
  return n;
}

/**
 * Categories of one image from its text (tags and caption). At most one framing category; content
 * categories stack. Returns them framing first.
 */
export function categorize(text: string): string[] {
  const out: string[] = [];
  for (const c of FRAMING) {
    if (KEYWORDS[c].test(text)) {
      out.push(c);
      break;
    }
  }
  if (KEYWORDS['multi-character'].test(text)) out.push('multi-character');
  if (KEYWORDS.occlusion.test(text)) out.push('occlusion');
  if (KEYWORDS['complex background'].test(text) && !(PLAIN_BACKGROUND.test(text) && !/\b(busy|complex|detailed|cluttered|crowded) background\b/i.test(text))) {
    out.push('complex background');
  }
  return out;
}

/**
 * Final categories of an image: given ones (user or vision model), normalised, framing first; without any,
 * read from the tags and caption.
 */
export function imageCategories(given: string[] | null | undefined, tags: string[], caption: string | null | undefined): string[] {
  const norm = (given ?? []).map(normalizeCategory).filter((c) => c !== '');
  const base = norm.length ? norm : categorize([...tags, caption ?? ''].join(', '));
  const uniq = [...new Set(base)];
  const framing = uniq.filter((c) => (FRAMING as readonly string[]).includes(c)).slice(0, 1);
  return [...framing, ...uniq.filter((c) => !(FRAMING as readonly string[]).includes(c))];
}

/** Palette family of an image from its dominant colour names, for coin and graphic sets. */
export function paletteFamily(colorNames: string[]): string {
  const chromatic = colorNames.filter((n) => !/^(black|white|grey|gray|dark grey|light grey)$/.test(n));
  if (chromatic.length === 0) return 'neutral';
  const first = chromatic[0] as string;
  if (/red|orange|yellow|brown|pink/.test(first)) return 'warm';
  if (/blue|teal|purple/.test(first)) return 'cool';
  if (/green/.test(first)) return 'green';
  return 'mixed';
}

/** What a missing category costs the LoRA, one line each (the report's impact column). */
export const IMPACT: Record<string, string> = {
  'close-up': 'faces and fine detail lose fidelity; close-up prompts drift from the subject',
  'medium shot': 'waist-up shots, the most common generation, drift from the subject',
  'full-body': 'the LoRA cannot draw the whole figure: legs, feet and proportions come out wrong',
  'far/wide': 'small, distant figures lose their identity in wide scenes',
  'multi-character': 'a second person takes on the subject\'s features (concept bleeding) in group scenes',
  occlusion: 'anything covering the subject (hands, props, other people) breaks its identity',
  'complex background': 'the subject only works on plain backgrounds and melts into busy scenes',
};

/** Keywords to look for when collecting more images of a category (the targeted-collection profile). */
export const COLLECT_KEYWORDS: Record<string, string[]> = {
  'close-up': ['close-up', 'headshot', 'portrait', 'face detail'],
  'medium shot': ['medium shot', 'waist-up', 'upper body'],
  'full-body': ['full-body', 'full-length', 'standing', 'head to toe'],
  'far/wide': ['wide shot', 'long shot', 'establishing shot', 'distant figure'],
  'multi-character': ['group photo', 'two people', 'with friends', 'crowd', 'interaction'],
  occlusion: ['hand over face', 'holding object in front', 'behind glass', 'partially hidden', 'wearing mask'],
  'complex background': ['city street', 'busy market', 'indoor scene', 'nature background', 'crowded place'],
};

/** Keywords for collecting images of any category, coins and palettes included. */
export function collectKeywords(category: string): string[] {
  const own = COLLECT_KEYWORDS[category];
  if (own) return own;
  if (category.startsWith('coin:')) {
    const sym = category.slice(5);
    return [`${sym} coin`, `${sym} logo`, `${sym} token render`];
  }
  if (category.startsWith('palette:')) return [`${category.slice(8)} colors`, `${category.slice(8)} color palette`];
  return [category];
}

/** Categories augmentation can make from others (crop a full-body into a medium shot or a close-up). */
export const CROPPABLE_FROM: Record<string, string[]> = {
  'medium shot': ['full-body'],
  'close-up': ['medium shot', 'full-body'],
};
