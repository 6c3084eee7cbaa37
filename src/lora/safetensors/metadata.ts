/**
 * Reading trainer metadata (`__metadata__`, CONTRACTS.md §3.8): base-model hints, trigger words and
 * caption tags. All values are strings; nested data is JSON text.
 */
import type { LoraArchitecture } from './schema.js';

/** JSON values larger than this are left as text: they are bucket tables and dataset dumps, not facts. */
const MAX_PARSED_JSON_CHARS = 16_384;

/** How many tags to report. */
const TOP_TAGS = 20;

/** What the metadata says about the base model, when it says anything. */
export interface MetadataArchitecture {
  architecture: LoraArchitecture;
  /** Human sentence naming the key and value that decided it. */
  evidence: string;
}

/**
 * Base model from metadata, in this order: ss_base_model_version, modelspec.architecture, ss_v2.
 * Names outside our enum (SD3, Chroma, FLUX.2, PixArt...) give `unknown`, with a sentence saying so.
 */
export function architectureFromMetadata(meta: Record<string, string>): MetadataArchitecture | undefined {
  const version = meta['ss_base_model_version']?.trim().toLowerCase();
  if (version) {
    const arch = fromBaseModelVersion(version);
    if (arch !== undefined) return { architecture: arch, evidence: `metadata ss_base_model_version="${version}"` };
  }
  const spec = meta['modelspec.architecture']?.trim().toLowerCase();
  if (spec) {
    const arch = fromModelSpec(spec);
    if (arch !== undefined) return { architecture: arch, evidence: `metadata modelspec.architecture="${spec}"` };
  }
  const v2 = meta['ss_v2']?.trim();
  if (v2 === 'True') return { architecture: 'sd2', evidence: 'metadata ss_v2="True"' };
  return undefined;
}

function fromBaseModelVersion(v: string): LoraArchitecture | undefined {
  if (v.startsWith('sdxl')) return 'sdxl';
  if (/^flux[._-]?1/.test(v)) return 'flux1';
  if (v.startsWith('sd_v1') || v.startsWith('sd_1') || v === 'sd1' || v.startsWith('sd1.')) return 'sd1';
  if (v.startsWith('sd_v2') || v.startsWith('sd_2') || v === 'sd2' || v.startsWith('sd2.')) return 'sd2';
  // A model we know of but do not list (flux2, chroma, sd3, pixart, lumina2...): say so.
  if (/^(flux|chroma|sd_?3|sd3|pixart|auraflow|lumina|hunyuan|wan|qwen|hidream|ssd|vega)/.test(v)) return 'unknown';
  return undefined;
}

function fromModelSpec(spec: string): LoraArchitecture | undefined {
  const base = spec.split('/')[0] ?? spec;
  if (base.startsWith('stable-diffusion-xl')) return 'sdxl';
  if (base.startsWith('stable-diffusion-v1')) return 'sd1';
  if (base.startsWith('stable-diffusion-v2')) return 'sd2';
  if (base === 'flux-1' || base.startsWith('flux-1-')) return 'flux1';
  if (base.length > 0) return 'unknown';
  return undefined;
}

/**
 * Metadata values that hold small JSON objects or arrays, parsed. ss_tag_frequency is left out because
 * `tags` summarises it, and anything over 16 KiB stays text so a tool answer stays readable.
 */
export function parseJsonMetadata(meta: Record<string, string>): Record<string, unknown> {
  const out: Array<[string, unknown]> = [];
  for (const key of Object.keys(meta)) {
    const raw = meta[key] ?? '';
    if (key === 'ss_tag_frequency' || raw.length > MAX_PARSED_JSON_CHARS) continue;
    const first = raw.trimStart()[0];
    if (first !== '{' && first !== '[') continue;
    try {
      out.push([key, JSON.parse(raw) as unknown]);
    } catch {
      // Not JSON after all: the raw string is still in `metadata`.
    }
  }
  return Object.fromEntries(out);
}

/** ss_tag_frequency: `{ "<n>_<name>": { "<tag>": count } }`, or undefined when absent or unreadable. */
export function readTagFrequency(meta: Record<string, string>): Map<string, Map<string, number>> | undefined {
  const parsed = jsonObject(meta['ss_tag_frequency']);
  if (!parsed) return undefined;
  const dirs = new Map<string, Map<string, number>>();
  for (const [dir, tags] of Object.entries(parsed)) {
    if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) continue;
    const counts = new Map<string, number>();
    for (const [tag, n] of Object.entries(tags as Record<string, unknown>)) {
      const t = tag.trim();
      if (t && typeof n === 'number' && Number.isFinite(n)) counts.set(t, (counts.get(t) ?? 0) + n);
    }
    dirs.set(dir, counts);
  }
  return dirs;
}

/** The most frequent caption tags over every dataset directory, highest count first, ties by name. */
export function topTags(dirs: Map<string, Map<string, number>> | undefined, meta: Record<string, string>): string[] {
  if (dirs && dirs.size > 0) {
    const total = new Map<string, number>();
    for (const counts of dirs.values()) for (const [t, n] of counts) total.set(t, (total.get(t) ?? 0) + n);
    return [...total.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, TOP_TAGS)
      .map(([t]) => t);
  }
  return splitList(meta['modelspec.tags']).slice(0, TOP_TAGS);
}

function splitList(raw: string | undefined): string[] {
  if (!raw) return [];
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const norm = (s: string): string => s.trim().toLowerCase().replace(/_/g, ' ').replace(/\s+/g, ' ');

/** Trigger words and the sentences that justify each. */
export interface TriggerResult {
  words: string[];
  evidence: string[];
}

/**
 * Trigger words, strongest source first; duplicates (case- and `_`/space-insensitive) are dropped.
 * 1. `modelspec.trigger_phrase`, split on commas: the trainer was told this phrase.
 * 2. kohya `ss_datasets[].subsets[].class_tokens` of non-regularisation subsets (TOML dataset configs,
 *    which is how loraloop's kohya export passes the trigger word).
 * 3. ss_tag_frequency directories named `<repeats>_<name>` (kohya/ai-toolkit folder convention):
 *    `<name>` counts when it is itself one of that directory's caption tags (ai-toolkit writes exactly
 *    `{"1_<trigger>": {"<trigger>": 1}}` for a configured trigger), or when it occurs as whole words in
 *    the captions of at least half the directory's images (img_count from ss_dataset_dirs). A folder
 *    name that the captions do not carry is only a label, so it is not reported.
 * 4. `ss_output_name` (the run name) is a weak hint, used only when 1-3 found nothing, and then only
 *    if it occurs among the caption tags, or if there are no caption tags to check it against.
 */
export function triggerWords(meta: Record<string, string>, dirs: Map<string, Map<string, number>> | undefined): TriggerResult {
  const words: string[] = [];
  const evidence: string[] = [];
  const seen = new Set<string>();
  const add = (w: string): boolean => {
    const k = norm(w);
    if (!k || seen.has(k)) return false;
    seen.add(k);
    words.push(w.trim());
    return true;
  };

  const phrase = splitList(meta['modelspec.trigger_phrase']);
  if (phrase.length > 0) {
    phrase.forEach(add);
    evidence.push(`trigger_words: modelspec.trigger_phrase="${meta['modelspec.trigger_phrase']}"`);
  }

  for (const tokens of classTokens(meta)) {
    if (add(tokens)) evidence.push(`trigger_words: ss_datasets subset class_tokens="${tokens}"`);
  }

  const imgCounts = datasetDirImageCounts(meta);
  const allTags = new Set<string>();
  if (dirs) {
    for (const [dir, counts] of dirs) {
      const normTags = new Map<string, number>();
      for (const [t, n] of counts) {
        const k = norm(t);
        normTags.set(k, (normTags.get(k) ?? 0) + n);
        allTags.add(k);
      }
      const m = /^\d+_(.+)$/.exec(dir.split(/[\\/]/).pop() ?? dir);
      const name = m?.[1]?.trim();
      if (!name) continue;
      const key = norm(name);
      if (normTags.has(key)) {
        if (add(name)) evidence.push(`trigger_words: dataset dir "${dir}" names "${name}", which is one of its caption tags (ss_tag_frequency)`);
        continue;
      }
      const images = imgCounts.get(dir);
      if (images === undefined || images <= 0) continue;
      const re = new RegExp(`(^|\\W)${escapeRegExp(key)}($|\\W)`);
      let covered = 0;
      for (const [t, n] of normTags) if (re.test(t)) covered += n;
      if (covered * 2 >= images && add(name)) {
        evidence.push(`trigger_words: dataset dir "${dir}" names "${name}", which occurs in ${covered} of its ${images} captions (ss_tag_frequency, ss_dataset_dirs)`);
      }
    }
  }

  if (words.length === 0) {
    const output = meta['ss_output_name']?.trim();
    if (output) {
      if (allTags.size === 0) {
        add(output);
        evidence.push(`trigger_words: weak guess from ss_output_name="${output}" (no trigger phrase or caption tags to confirm it)`);
      } else if (allTags.has(norm(output))) {
        add(output);
        evidence.push(`trigger_words: ss_output_name="${output}" also occurs as a caption tag`);
      } else {
        evidence.push(`trigger_words: ss_output_name="${output}" ignored: it never occurs in the captions`);
      }
    }
  }
  if (words.length === 0) evidence.push('trigger_words: none found in modelspec.trigger_phrase, ss_datasets, ss_tag_frequency or ss_output_name');
  return { words, evidence };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function parseJsonValue(raw: string | undefined): unknown {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** A metadata value that holds a JSON object (metadata values are strings), or undefined when it does not. */
export function jsonObject(raw: string | undefined): Record<string, unknown> | undefined {
  return asRecord(parseJsonValue(raw));
}

/** class_tokens of every non-regularisation subset in kohya's ss_datasets (a JSON array of datasets). */
function classTokens(meta: Record<string, string>): string[] {
  const datasets = parseJsonValue(meta['ss_datasets']);
  if (!Array.isArray(datasets)) return [];
  const out: string[] = [];
  for (const ds of datasets) {
    const subsets = asRecord(ds)?.['subsets'];
    if (!Array.isArray(subsets)) continue;
    for (const sub of subsets) {
      const r = asRecord(sub);
      const tokens = r?.['class_tokens'];
      if (typeof tokens === 'string' && tokens.trim() && r?.['is_reg'] !== true) out.push(tokens.trim());
    }
  }
  return out;
}

/** img_count per dataset directory from ss_dataset_dirs (`{"<dir>": {"n_repeats", "img_count"}}`). */
function datasetDirImageCounts(meta: Record<string, string>): Map<string, number> {
  const out = new Map<string, number>();
  const dirs = asRecord(parseJsonValue(meta['ss_dataset_dirs']));
  if (!dirs) return out;
  for (const [dir, info] of Object.entries(dirs)) {
    const n = asRecord(info)?.['img_count'];
    if (typeof n === 'number' && Number.isFinite(n)) out.set(dir, n);
  }
  return out;
}
