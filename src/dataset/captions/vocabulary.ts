/**
 * One concept, one word. A LoRA trained on "backdrop" in half the captions and "background" in the other half
 * learns two weak concepts instead of one strong one. A vocabulary maps each variant to the preferred word;
 * captions are rewritten with it and the linter flags any variant left.
 *
 * The project's vocabulary (`loras.vocabulary`, `{variant: preferred}`) wins over the built-in groups below.
 */

/** Built-in synonym groups: preferred word first. Only words whose variants mean exactly the same in captions. */
export const DEFAULT_SYNONYMS: ReadonlyArray<readonly string[]> = [
  ['close-up', 'closeup', 'close up', 'close-up shot'],
  ['full-body', 'full body', 'fullbody', 'full-length', 'full length', 'whole body'],
  ['medium shot', 'mid shot', 'mid-shot', 'medium-shot', 'waist-up shot', 'waist up shot'],
  ['background', 'backdrop', 'back ground'],
  ['color', 'colour'],
  ['colors', 'colours'],
  ['gray', 'grey'],
  ['centered', 'centred'],
  ['three-quarter view', 'three quarter view', '3/4 view'],
];

/** A vocabulary as used at run time: variant (lower case) -> preferred word. */
export type Vocabulary = Map<string, string>;

/**
 * Build the effective vocabulary: built-in groups, then the project's own entries. A project entry that
 * prefers a built-in variant (e.g. `{"gray": "grey"}`) turns that group around instead of fighting it.
 */
export function buildVocabulary(project?: Record<string, string> | null): Vocabulary {
  const vocab: Vocabulary = new Map();
  const own = Object.entries(project ?? {})
    .map(([k, v]) => [k.trim().toLowerCase(), v.trim()] as const)
    .filter(([k, v]) => k !== '' && v !== '' && k !== v.toLowerCase());
  const preferredByProject = new Set(own.map(([, v]) => v.toLowerCase()));
  for (const group of DEFAULT_SYNONYMS) {
    const chosen = group.find((w) => preferredByProject.has(w.toLowerCase())) ?? (group[0] as string);
    for (const w of group) if (w !== chosen) vocab.set(w.toLowerCase(), chosen);
  }
  for (const [k, v] of own) vocab.set(k, v);
  // A preferred word must never be rewritten itself (no chains, no loops).
  for (const v of [...vocab.values()]) vocab.delete(v.toLowerCase());
  return vocab;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Cache of compiled matchers per vocabulary. */
const compiled = new WeakMap<Vocabulary, RegExp | null>();

function matcher(vocab: Vocabulary): RegExp | null {
  let re = compiled.get(vocab);
  if (re === undefined) {
    // Longest variants first so "close-up shot" wins over "close-up".
    const keys = [...vocab.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
    re = keys.length ? new RegExp(`(?<![\\p{L}\\p{N}_-])(${keys.join('|')})(?![\\p{L}\\p{N}_-])`, 'giu') : null;
    compiled.set(vocab, re);
  }
  return re;
}

/** Variants of the vocabulary found in a text, with their preferred words (each variant once). */
export function findVariants(text: string, vocab: Vocabulary): Array<{ variant: string; preferred: string }> {
  const re = matcher(vocab);
  if (!re) return [];
  const seen = new Map<string, string>();
  for (const m of text.matchAll(re)) {
    const v = (m[1] as string).toLowerCase();
    const p = vocab.get(v);
    if (p !== undefined) seen.set(v, p);
  }
  return [...seen].map(([variant, preferred]) => ({ variant, preferred }));
}

/** Rewrite every variant to its preferred word (keeping a leading capital). Returns the text and the count. */
export function applyVocabulary(text: string, vocab: Vocabulary): { text: string; replaced: number } {
  const re = matcher(vocab);
  if (!re) return { text, replaced: 0 };
  let replaced = 0;
  const out = text.replace(re, (m: string) => {
    const p = vocab.get(m.toLowerCase());
    if (p === undefined) return m;
    replaced++;
    const first = m.charAt(0);
    return first !== first.toLowerCase() ? p.charAt(0).toUpperCase() + p.slice(1) : p;
  });
  return { text: out, replaced };
}

/** "variant -> preferred" pairs for a prompt, preferred words grouped. */
export function describeVocabulary(vocab: Vocabulary): string {
  const byPreferred = new Map<string, string[]>();
  for (const [v, p] of vocab) byPreferred.set(p, [...(byPreferred.get(p) ?? []), v]);
  return [...byPreferred].map(([p, vs]) => `"${p}" (not ${vs.map((v) => `"${v}"`).join(', ')})`).join('; ');
}
