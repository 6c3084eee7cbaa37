/**
 * Auto-LoRA: which registered LoRAs fit a prompt.
 *
 * Keywords come from the prompt with stop words (and generic image words such as "photo" or "detailed", which
 * misfire as triggers) removed, lightly stemmed ("miners" -> "miner", "rallying" -> "rally"). Each LoRA is
 * described by fields, each with a weight: its name and trigger words (3), the coins it serves (3), its asset
 * type (2), its description (1.5) and its training caption tags from ss_tag_frequency (up to 1, by how often
 * the tag occurs). A keyword scores the best weight among the fields it matches plus a quarter of each other
 * field that corroborates it, times its rarity across the registry (a word every LoRA carries says nothing).
 * Only LoRAs with a usable version and whose base model fits the checkpoint are considered; the top ones get
 * strengths from 0.8 (most relevant) down to 0.5.
 */
import type { Store } from '../store/index.js';
import type { BaseModelName, LoraRecord, LoraVersionRecord } from '../store/repos/loras.js';

/** Words that carry no subject. */
const STOP_WORDS = new Set(
  (
    'a an and are as at be been being but by can could did do does for from had has have he her his how i if in into is it its ' +
    'just me more most my no nor not of off on once only or other our out over own same she should so some such than that the ' +
    'their them then there these they this those through to too under until up very was we were what when where which while who ' +
    'whom why will with would you your yours after before about above below again against all any both each few between during ' +
    'new says say said amid vs via per get gets got make makes made use using show shows showing within without toward towards ' +
    // generic image-prompt words that would match every LoRA's captions
    'photo image picture render rendering style styled high quality best masterpiece detailed detail details highly ultra hd 4k 8k ' +
    'realistic background cover art artwork illustration lora model version v1 v2 v3 trigger token tok sks'
  ).split(/\s+/),
);

/** Light suffix stripping: enough to join plural, -ing and -ed forms without mangling short words. */
export function stem(word: string): string {
  let w = word.toLowerCase();
  if (w.length <= 3) return w;
  if (w.endsWith('ies') && w.length > 4) w = `${w.slice(0, -3)}y`;
  else if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.endsWith('es') && /(ch|sh|x|z)es$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(ss|us|is)$/.test(w)) w = w.slice(0, -1);
  if (w.length > 5 && w.endsWith('ing')) w = w.slice(0, -3);
  else if (w.length > 4 && w.endsWith('ed') && !w.endsWith('eed')) w = w.slice(0, -2);
  // "rallying" -> "rally", "running" -> "run" (doubled consonant), "traded" -> "trad" ~ "trade" -> "trad".
  if (/([b-df-hj-np-tv-z])\1$/.test(w) && !/(ll|ss|zz)$/.test(w)) w = w.slice(0, -1);
  if (w.length > 4 && w.endsWith('e')) w = w.slice(0, -1);
  return w;
}

/** Words of a text: split on non-letters, underscores and camelCase; lower-cased; no stop words or numbers. */
export function words(text: string): string[] {
  return text
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .map((w) => w.toLowerCase())
    .filter((w) => w.length >= 2 && !/^\d+$/.test(w) && !STOP_WORDS.has(w));
}

/** Stemmed keywords of a prompt, unique, in order of appearance. */
export function keywords(prompt: string): string[] {
  return [...new Set(words(prompt).map(stem))];
}

/** One LoRA that fits, with why. */
export interface DiscoveredLora {
  name: string;
  lora_id: string;
  version: number;
  base_model: BaseModelName;
  asset_type: string;
  trigger_words: string[];
  strength: number;
  score: number;
  /** One sentence per matching keyword: which field of the LoRA it matched. */
  evidence: string[];
  file_path: string | null;
  remote_version: string | null;
  weights_url: string | null;
}

export interface DiscoverResult {
  keywords: string[];
  loras: DiscoveredLora[];
  /** LoRAs with a usable version that were looked at. */
  considered: number;
  /** LoRAs left out because their base model does not fit. */
  skipped_base_model: string[];
}

export interface DiscoverOptions {
  prompt: string;
  /** Only LoRAs for this family (the checkpoint's). */
  base_model?: BaseModelName | undefined;
  /** How many to return (default 3). */
  max?: number | undefined;
  /** Coin names by ticker, so a LoRA serving SOL matches "solana". */
  coinName?: ((symbol: string) => string | undefined) | undefined;
}

interface Field {
  label: string;
  weight: number;
  /** stem -> original word and a multiplier in 0..1 (tag frequency). */
  terms: Map<string, { word: string; mult: number }>;
}

function fieldOf(label: string, weight: number, entries: Array<{ text: string; mult?: number }>): Field {
  const terms = new Map<string, { word: string; mult: number }>();
  for (const e of entries) {
    for (const w of words(e.text)) {
      const s = stem(w);
      const prev = terms.get(s);
      const mult = e.mult ?? 1;
      if (!prev || prev.mult < mult) terms.set(s, { word: e.text, mult });
    }
  }
  return { label, weight, terms };
}

/** The version generation would use: the active one if ready, else the newest ready one. */
export async function usableVersion(store: Pick<Store, 'loras'>, lora: LoraRecord): Promise<LoraVersionRecord | undefined> {
  const versions = (await store.loras.listVersions(lora.id)).filter((v) => v.status === 'ready');
  return versions.find((v) => v.version === lora.active_version) ?? versions[versions.length - 1];
}

/** Tags and their counts from a version's ss_tag_frequency metadata (all dataset folders summed). */
export function tagFrequency(v: LoraVersionRecord): Map<string, number> {
  const out = new Map<string, number>();
  const insp = v.inspection as { metadata?: Record<string, string>; tags?: string[] } | null;
  const raw = insp?.metadata?.ss_tag_frequency;
  if (raw) {
    try {
      const parsed = JSON.parse(raw) as unknown;
      if (parsed && typeof parsed === 'object') {
        for (const dir of Object.values(parsed as Record<string, unknown>)) {
          if (!dir || typeof dir !== 'object') continue;
          for (const [tag, n] of Object.entries(dir as Record<string, unknown>)) {
            const c = typeof n === 'number' ? n : Number(n);
            if (Number.isFinite(c) && c > 0) out.set(tag.trim(), (out.get(tag.trim()) ?? 0) + c);
          }
        }
      }
    } catch {
      // Malformed metadata: fall back to the summarised tags below.
    }
  }
  if (out.size === 0) for (const t of insp?.tags ?? []) out.set(t, 1);
  return out;
}

function triggerWords(lora: LoraRecord, v: LoraVersionRecord): string[] {
  const fromFile = (v.inspection as { trigger_words?: string[] } | null)?.trigger_words ?? [];
  return [...new Set([lora.trigger_word, ...fromFile].map((t) => t.trim()).filter(Boolean))];
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

/** Rank the registry's LoRAs for a prompt. */
export async function discoverLoras(store: Pick<Store, 'loras'>, opts: DiscoverOptions): Promise<DiscoverResult> {
  const kws = keywords(opts.prompt);
  const max = Math.max(1, Math.min(10, opts.max ?? 3));
  const skipped: string[] = [];
  const cands: Array<{ lora: LoraRecord; v: LoraVersionRecord; fields: Field[]; triggers: string[] }> = [];
  for (const lora of await store.loras.list()) {
    const v = await usableVersion(store, lora);
    if (!v) continue;
    if (opts.base_model && lora.base_model !== opts.base_model) {
      skipped.push(lora.name);
      continue;
    }
    const triggers = triggerWords(lora, v);
    const tags = tagFrequency(v);
    const top = Math.max(1, ...tags.values());
    const coinTexts = lora.coins.flatMap((c) => [c, opts.coinName?.(c) ?? '']).filter(Boolean);
    cands.push({
      lora,
      v,
      triggers,
      fields: [
        fieldOf('name', 3, [{ text: lora.name }]),
        fieldOf('trigger word', 3, triggers.map((t) => ({ text: t }))),
        fieldOf('coin', 3, coinTexts.map((t) => ({ text: t }))),
        fieldOf('asset type', 2, [{ text: lora.asset_type }]),
        fieldOf('description', 1.5, [{ text: lora.description ?? '' }]),
        fieldOf('training tag', 1, [...tags].map(([t, n]) => ({ text: t, mult: 0.4 + 0.6 * (n / top) }))),
      ],
    });
  }
  // Rarity: a keyword found in many LoRAs discriminates little (idf over the candidates).
  const df = new Map<string, number>();
  for (const k of kws) df.set(k, cands.filter((c) => c.fields.some((f) => f.terms.has(k))).length);
  const n = cands.length;
  const scored = cands
    .map((c) => {
      let score = 0;
      const evidence: string[] = [];
      for (const k of kws) {
        let best: { f: Field; word: string; w: number } | undefined;
        let sum = 0;
        const where: string[] = [];
        for (const f of c.fields) {
          const hit = f.terms.get(k);
          if (!hit) continue;
          sum += f.weight * hit.mult;
          where.push(`the ${f.label} "${hit.word}"`);
          if (!best || f.weight * hit.mult > best.w) best = { f, word: hit.word, w: f.weight * hit.mult };
        }
        if (!best) continue;
        const idf = Math.log(1 + n / Math.max(1, df.get(k) ?? 1));
        // The best field counts fully; other fields that corroborate the same word add a quarter each.
        score += (best.w + 0.25 * (sum - best.w)) * idf;
        evidence.push(`"${k}" matched ${where.join(', ')}`);
      }
      return { c, score, evidence };
    })
    .filter((x) => x.score > 0)
    .sort((a, b) => b.score - a.score || a.c.lora.name.localeCompare(b.c.lora.name));
  const topScore = scored[0]?.score ?? 0;
  // Drop a weak tail: a LoRA scoring under a sixth of the best is noise next to it.
  const picked = scored.filter((x) => x.score >= topScore / 6).slice(0, max);
  return {
    keywords: kws,
    considered: cands.length + skipped.length,
    skipped_base_model: skipped,
    loras: picked.map(({ c, score, evidence }) => ({
      name: c.lora.name,
      lora_id: c.lora.id,
      version: c.v.version,
      base_model: c.lora.base_model,
      asset_type: c.lora.asset_type,
      trigger_words: c.triggers,
      strength: round2(0.5 + 0.3 * (topScore > 0 ? score / topScore : 1)),
      score: round2(score),
      evidence,
      file_path: c.v.file_path,
      remote_version: c.v.remote_version,
      weights_url: c.v.weights_url,
    })),
  };
}
