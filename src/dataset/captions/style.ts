/**
 * Caption style guides, one per asset type. The guide goes into the vision prompt; the banned phrases are
 * enforced by the linter (and cleaned up after the model), so a caption that breaks the guide is caught
 * whoever wrote it.
 *
 * Why these rules: a LoRA learns whatever the captions do NOT name as part of the trigger word. Captions that
 * name the variable things (subject, colours, background, framing) leave the constant thing (the style, the
 * character) to the trigger. Vague nouns ("an icon", "image of") teach nothing and bind the style to them.
 */

/** A phrase the captions of a set must not contain. */
export interface BannedPhrase {
  /** Matched case-insensitively on the caption. */
  pattern: RegExp;
  /** How the linter names it. */
  phrase: string;
  /** Why it is banned and what to write instead. */
  why: string;
}

/** How captions for one asset type are written. */
export interface StyleGuide {
  assetType: string;
  /** Bullet lines for the prompt: what to describe, in which order. */
  guide: string[];
  /** A caption that follows the guide (without the trigger word). */
  example: string;
  banned: BannedPhrase[];
}

/** Phrases no caption should contain, whatever the set. */
export const COMMON_BANNED: BannedPhrase[] = [
  { pattern: /\b(an?\s+)?(image|picture|photo|photograph)\s+(of|showing|shows|depicting)\b/i, phrase: 'image of', why: 'says nothing about the picture; describe the subject directly' },
  { pattern: /\bthis\s+(image|picture|photo)\b/i, phrase: 'this image', why: 'refers to the file, not to what is in it' },
  { pattern: /\b(beautiful|stunning|amazing|awesome|masterpiece|best quality|high quality)\b/i, phrase: 'praise words', why: 'quality words teach nothing measurable; describe what makes it look that way' },
];

/**
 * "icon" with nothing that says what the icon shows: "an icon", "the icon", "icon of ...". "clipboard icon"
 * and "professional UI icon" are fine: the word qualifies a subject instead of replacing it.
 */
const BARE_ICON: BannedPhrase = {
  pattern: /(^|,\s*|\b(an?|the|simple|flat|generic)\s+)icons?\b(?!\s+(set|style))|\bicons?\s+of\b/i,
  phrase: 'bare "icon"',
  why: 'name what the icon shows ("clipboard icon with three checkmarks"), never just "icon"',
};

const BARE_LOGO: BannedPhrase = {
  pattern: /(^|,\s*|\b(an?|the|generic)\s+)logo\b|\blogo\s+of\b/i,
  phrase: 'bare "logo"',
  why: 'name the brand and the mark ("orange Bitcoin B symbol in a circle"), never just "logo"',
};

const GUIDES: Record<string, Omit<StyleGuide, 'assetType'>> = {
  icons: {
    guide: [
      'Say the rendering style first (flat design, line art, 3D, glyph), then the object the icon shows and its details (counts, states, small marks).',
      'Name the colour scheme with at most three colours, then the background (solid, gradient, transparent-looking).',
      'End with the finish: edges, stroke weight, shading, and "UI icon" or "app icon" when that is what it is.',
      'Never call it just "icon": always the object plus "icon".',
    ],
    example:
      'A flat design clipboard icon with three checkmarks, orange and white color scheme, minimal vector style, solid light gray background, clean edges, professional UI icon',
    banned: [BARE_ICON],
  },
  logo: {
    guide: [
      'Name the brand and the mark: its shape, letters or symbol, and how they are arranged.',
      'Colours of the mark and of the background; flat or with depth.',
      'Composition: centered, margins, whether text accompanies the mark.',
    ],
    example: 'Orange circular Bitcoin B symbol with two vertical strokes, white letter on orange disc, flat vector mark, centered on a plain white background',
    banned: [BARE_LOGO],
  },
  coin: {
    guide: [
      'Name the coin (brand and ticker) and the object: physical coin, token badge, or symbol.',
      'Material and finish (gold, silver, enamel, matte, glossy), the relief or emblem on its face, the edge.',
      'Lighting, camera angle, framing, and the background.',
    ],
    example: 'Solana coin, gold metallic token with the purple and teal Solana emblem in relief, three-quarter view, soft studio lighting, close-up, dark blue gradient background',
    banned: [],
  },
  product: {
    guide: [
      'Name the product and its visible parts, materials and colours.',
      'Angle and framing (front view, three-quarter, close-up of a detail), lighting, surface it stands on, background.',
    ],
    example: 'Matte black wireless earbuds in an open charging case, three-quarter view, soft diffused studio light, white seamless background, close-up',
    banned: [],
  },
  premium: {
    guide: [
      'Subject first, then materials and finish (glass, chrome, velvet), lighting and mood, then composition and background.',
      'Say what makes it look premium concretely (rim light, reflections, depth of field), not with praise words.',
    ],
    example: 'Glass sphere with a glowing golden core, chrome base, dramatic rim lighting, shallow depth of field, centered composition, deep navy background',
    banned: [],
  },
  character: {
    guide: [
      'Framing first (close-up, medium shot, full-body, far/wide), then pose and action, expression, clothing and props.',
      'Name anything covering the character (hands, objects, other people) and any other characters.',
      'Background and lighting last. Do not describe the constant traits of the character (face shape, signature colours): the trigger word carries them.',
    ],
    example: 'full-body, standing with arms crossed, smiling, red hooded jacket and jeans, holding a coffee cup, city street at dusk in the background, warm light',
    banned: [],
  },
  style: {
    guide: [
      'Describe the content (subject, setting, composition) plainly; do NOT name the style itself: the trigger word carries it.',
      'Framing, subject count, background complexity and lighting.',
    ],
    example: 'medium shot of a woman reading on a park bench, autumn trees, scattered leaves, low afternoon sun, busy background',
    banned: [{ pattern: /\b(in the style of|style of)\b/i, phrase: 'style of', why: 'the trigger word carries the style; naming it splits the concept' }],
  },
  cover: {
    guide: [
      'Main subject and its symbols (coins, charts, logos), then the scene, colour palette, lighting, and composition with room for a title.',
      'Say where empty space is (top third, left side): covers carry text.',
    ],
    example: 'Ethereum symbol glowing above a dark city skyline, purple and blue palette, neon light, wide composition with empty space in the top third',
    banned: [],
  },
};

/** The style guide for an asset type (unknown types get the cover guide's generic rules). */
export function styleGuideFor(assetType: string): StyleGuide {
  const g = GUIDES[assetType] ?? GUIDES.cover!;
  return { assetType, guide: g.guide, example: g.example, banned: [...COMMON_BANNED, ...g.banned] };
}

/** Asset types that have a guide of their own. */
export const STYLE_GUIDE_TYPES = Object.keys(GUIDES);
