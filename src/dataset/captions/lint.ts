/**
 * caption_lint: the checks a training set's captions must pass. Pure: captions in, findings out.
 *
 * - missing: no caption (pending) - the trainer would get a stand-in;
 * - length: 10-500 characters (lora/captions.ts);
 * - trigger_missing / trigger_not_first: kohya's keep_tokens = 1 pins the first token, so the trigger word
 *   must be exactly that token;
 * - synonym: a variant where the vocabulary has a preferred word (one concept, one word);
 * - banned: phrases the style guide forbids (bare "icon" in an icon set, "image of", praise words);
 * - near_identical: captions that differ by almost nothing teach the model that the differences do not matter.
 */
import { CAPTION_MAX_CHARS, CAPTION_MIN_CHARS, normalizeCaption } from './rules.js';
import type { StyleGuide } from './style.js';
import { findVariants, type Vocabulary } from './vocabulary.js';

/** One caption to check. */
export interface LintItem {
  id: string;
  file_name?: string;
  caption: string | null;
}

export type LintKind = 'missing' | 'length' | 'trigger_missing' | 'trigger_not_first' | 'synonym' | 'banned' | 'near_identical';

/** One finding. */
export interface LintFinding {
  image_id: string;
  kind: LintKind;
  detail: string;
  /** Other images involved (near_identical). */
  related?: string[];
}

/** Options for {@link lintCaptions}. */
export interface LintOptions {
  triggerWord: string;
  vocab: Vocabulary;
  guide: StyleGuide;
  /** Token-set similarity at or above which two captions count as near-identical (default 0.9). */
  similarity?: number;
  /** Above this many captions only exact repeats are compared (pairwise similarity is quadratic). Default 3000. */
  maxPairwise?: number;
}

/** Lint summary. */
export interface LintReport {
  findings: LintFinding[];
  counts: Partial<Record<LintKind, number>>;
  captions: number;
  clean: number;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Words of a caption without the trigger word, for similarity. */
function tokens(caption: string, trigger: string): Set<string> {
  const t = trigger.toLowerCase();
  return new Set(
    caption
      .toLowerCase()
      .split(/[^\p{L}\p{N}-]+/u)
      .filter((w) => w !== '' && w !== t),
  );
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  const [small, big] = a.size < b.size ? [a, b] : [b, a];
  for (const w of small) if (big.has(w)) inter++;
  return inter / (a.size + b.size - inter);
}

/** Check captions (see module comment). */
export function lintCaptions(items: LintItem[], opts: LintOptions): LintReport {
  const findings: LintFinding[] = [];
  const trigger = normalizeCaption(opts.triggerWord);
  const anywhere = trigger ? new RegExp(`(?<![\\p{L}\\p{N}_])${escapeRegExp(trigger)}(?![\\p{L}\\p{N}_])`, 'iu') : null;
  const first = trigger ? new RegExp(`^${escapeRegExp(trigger)}(?![\\p{L}\\p{N}_])`, 'iu') : null;
  const present: Array<{ id: string; text: string; toks: Set<string> }> = [];
  for (const it of items) {
    const caption = it.caption ? normalizeCaption(it.caption) : '';
    if (caption === '') {
      findings.push({ image_id: it.id, kind: 'missing', detail: 'no caption yet; the trainer would get the trigger word and tags only (run caption_write)' });
      continue;
    }
    if (caption.length < CAPTION_MIN_CHARS || caption.length > CAPTION_MAX_CHARS) {
      findings.push({
        image_id: it.id,
        kind: 'length',
        detail: `${caption.length} characters; captions must be ${CAPTION_MIN_CHARS}-${CAPTION_MAX_CHARS}${caption.length > CAPTION_MAX_CHARS ? ' (the trainer truncates the rest)' : ''}`,
      });
    }
    if (anywhere && first) {
      if (!anywhere.test(caption)) findings.push({ image_id: it.id, kind: 'trigger_missing', detail: `the trigger word "${trigger}" is not in the caption` });
      else if (!first.test(caption)) findings.push({ image_id: it.id, kind: 'trigger_not_first', detail: `the trigger word "${trigger}" must be the first token (keep_tokens = 1 pins the first one)` });
    }
    for (const v of findVariants(caption, opts.vocab)) {
      findings.push({ image_id: it.id, kind: 'synonym', detail: `uses "${v.variant}"; this set says "${v.preferred}"` });
    }
    for (const b of opts.guide.banned) {
      // The trigger word itself never counts as a banned phrase.
      const body = first ? caption.replace(first, '') : caption;
      if (b.pattern.test(body)) findings.push({ image_id: it.id, kind: 'banned', detail: `${b.phrase}: ${b.why}` });
    }
    present.push({ id: it.id, text: caption.toLowerCase(), toks: tokens(caption, trigger) });
  }
  // Near-identical groups: exact repeats through a map, then pairwise similarity when the set is small enough.
  const sim = opts.similarity ?? 0.9;
  const groups = new Map<string, string[]>();
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r) as string;
    parent.set(x, r);
    return r;
  };
  const union = (a: string, b: string): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(rb, ra);
  };
  for (const p of present) parent.set(p.id, p.id);
  const exact = new Map<string, string>();
  for (const p of present) {
    const seen = exact.get(p.text);
    if (seen) union(seen, p.id);
    else exact.set(p.text, p.id);
  }
  if (present.length <= (opts.maxPairwise ?? 3000)) {
    for (let i = 0; i < present.length; i++) {
      for (let j = i + 1; j < present.length; j++) {
        const a = present[i]!;
        const b = present[j]!;
        if (find(a.id) !== find(b.id) && jaccard(a.toks, b.toks) >= sim) union(a.id, b.id);
      }
    }
  }
  for (const p of present) {
    const r = find(p.id);
    groups.set(r, [...(groups.get(r) ?? []), p.id]);
  }
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    for (const id of g) {
      findings.push({
        image_id: id,
        kind: 'near_identical',
        detail: `caption is (nearly) the same as ${g.length - 1} other${g.length > 2 ? 's' : ''}; describe what differs (framing, pose, background)`,
        related: g.filter((x) => x !== id),
      });
    }
  }
  const counts: Partial<Record<LintKind, number>> = {};
  for (const f of findings) counts[f.kind] = (counts[f.kind] ?? 0) + 1;
  const flagged = new Set(findings.map((f) => f.image_id));
  return { findings, counts, captions: items.length, clean: items.filter((i) => !flagged.has(i.id)).length };
}
