/**
 * dataset_collect's engine: each article image goes to the LoRA project of the coin its title is about
 * (or the project given), through the same intake as uploads (SSRF guard, size cap, timeout, decode checks,
 * pixel-hash duplicate refusal), with a caption, and is remembered by URL so it is never taken twice.
 * Articles that cannot be placed (no coin, no project for the coin, no image, a failed download) are
 * reported one by one, never dropped silently.
 */
import { isLoraloopError } from '../../core/errors.js';
import type { Progress } from '../../core/progress.js';
import type { Store } from '../../store/index.js';
import { CAPTION_MAX_CHARS, CAPTION_MIN_CHARS, normalizeCaption } from '../captions/rules.js';
import { writeCaptions, type WriteCaptionsDeps } from '../captions/write.js';
import { intakeImages, type IntakeDeps } from '../intake.js';
import type { LoraRecord } from '../../store/repos/loras.js';
import { isSettled, type CollectedStatus } from './items.js';
import type { CollectSource } from './sources.js';

/** What happened to one article. `seen`: collected before; `would_add`: dry run only. */
export type CollectOutcome = CollectedStatus | 'seen' | 'no_image' | 'would_add';

export interface CollectItemResult {
  /** The image URL or file path ('' for an article without an image). */
  image: string;
  title: string;
  article_url: string | null;
  coin: string | null;
  lora_id: string | null;
  lora_name: string | null;
  status: CollectOutcome;
  image_id: string | null;
  /** Why it was not added, or how it was captioned. */
  detail: string | null;
}

export interface CollectReport {
  source: string;
  format: CollectSource['format'];
  dry_run: boolean;
  results: CollectItemResult[];
  /** Per project: images added now. */
  projects: Array<{ lora_id: string; name: string; added: number }>;
  /** Coins seen in titles that no project serves (create a project with coins: [...] to collect them). */
  coins_without_project: string[];
  truncated: number;
  /** Which captioner wrote the captions of the added images. */
  captioner: 'title' | 'vision';
  warnings: string[];
}

/** The caption stored at intake: the trigger word first, then what the title says (one line, 10-500 chars). */
export function titleCaption(triggerWord: string, title: string, coinName: string | null): string {
  const parts = [triggerWord, coinName ? `${coinName} news image` : 'news image', `for the article "${title.replace(/"/g, "'")}"`];
  let c = normalizeCaption(parts.join(', '));
  if (c.length > CAPTION_MAX_CHARS) c = `${c.slice(0, CAPTION_MAX_CHARS - 2).trimEnd()}"`;
  while (c.length < CAPTION_MIN_CHARS) c += ' image';
  return c;
}

/** The project an article goes to: the one given, else a project serving the coin (one with an active version first). */
async function projectFor(services: CollectDeps, coin: string | null, given: LoraRecord | undefined): Promise<LoraRecord | undefined> {
  if (given) return given;
  if (!coin) return undefined;
  const all = await services.store.loras.list({ coin });
  return all.find((l) => l.active_version !== null) ?? all[0];
}

/** What collecting needs: intake and captioning, the remembered items (store.collected), the coin detector. */
export type CollectDeps = IntakeDeps & WriteCaptionsDeps & { store: Pick<Store, 'collected' | 'loras'> };

export interface CollectOptions {
  lora?: LoraRecord | undefined;
  dryRun?: boolean;
  signal?: AbortSignal;
  progress?: Progress;
}

/** Collect every entry of a source (see module comment). */
export async function collectFrom(s: CollectDeps, src: CollectSource, opts: CollectOptions = {}): Promise<CollectReport> {
  const signal = opts.signal ?? new AbortController().signal;
  const progress = opts.progress ?? (() => {});
  const items = s.store.collected;
  const dry = opts.dryRun ?? false;
  const results: CollectItemResult[] = [];
  const added = new Map<string, { lora: LoraRecord; ids: string[] }>();
  const warnings: string[] = [];
  const total = src.entries.length;
  for (const [i, e] of src.entries.entries()) {
    signal.throwIfAborted();
    progress({ progress: i, total, message: `${e.title.slice(0, 60) || e.key}` });
    const base = { image: e.url ?? e.path ?? '', title: e.title, article_url: e.article_url };
    const prior = await items.get(e.key);
    if (isSettled(prior)) {
      results.push({ ...base, coin: prior?.coin ?? null, lora_id: prior?.lora_id ?? null, lora_name: null, status: 'seen', image_id: prior?.image_id ?? null, detail: `collected before (${prior?.status})` });
      continue;
    }
    const primary = e.title ? (s.coins.detector.detect(e.title).find((c) => c.primary) ?? null) : null;
    const coin = primary?.symbol ?? null;
    const lora = await projectFor(s, coin, opts.lora);
    const record = async (status: CollectedStatus, detail: string | null, image_id: string | null = null): Promise<void> => {
      results.push({ ...base, coin, lora_id: lora?.id ?? null, lora_name: lora?.name ?? null, status, image_id, detail });
      if (!dry) await items.record({ key: e.key, source: src.source, title: e.title, article_url: e.article_url, coin, lora_id: lora?.id ?? null, image_id, status, detail });
    };
    if (!lora) {
      if (!coin) await record('no_coin', e.title ? 'no coin detected in the title' : 'the article has no title');
      else await record('no_project', `no LoRA project serves ${coin}`);
      continue;
    }
    if (dry) {
      results.push({ ...base, coin, lora_id: lora.id, lora_name: lora.name, status: 'would_add', image_id: null, detail: null });
      continue;
    }
    const caption = titleCaption(lora.trigger_word, e.title || 'untitled article', primary?.name ?? null);
    const [r] = await intakeImages(s, lora, [{ ...(e.url ? { url: e.url } : { path: e.path }), caption, caption_source: 'title', tags: coin ? [coin] : [] }], {
      signal,
    });
    if (r?.ok && r.image_id) {
      await record('added', null, r.image_id);
      const bucket = added.get(lora.id) ?? { lora, ids: [] };
      bucket.ids.push(r.image_id);
      added.set(lora.id, bucket);
    } else if (r?.error_code === 'DUPLICATE_IMAGE') {
      await record('duplicate', r.message ?? 'the same pixels are already in the project', r.duplicate_of ?? null);
    } else {
      await record('failed', r?.error ?? 'the image could not be taken in');
    }
  }
  for (const w of src.without_image) {
    results.push({ image: '', title: w.title, article_url: w.article_url, coin: null, lora_id: null, lora_name: null, status: 'no_image', image_id: null, detail: w.reason });
  }

  // A vision model writes better captions than the title does; use it (caption_write's engine) when configured.
  let captioner: CollectReport['captioner'] = 'title';
  if (!dry && added.size && s.config.openai.apiKey) {
    for (const { lora, ids } of added.values()) {
      try {
        await writeCaptions(s, lora.id, { imageIds: ids, captioner: 'vision', signal });
        captioner = 'vision';
      } catch (e) {
        const why = isLoraloopError(e) ? e.toSentence() : `it failed unexpectedly: ${e instanceof Error ? e.message : String(e)}.`;
        if (!isLoraloopError(e)) s.logger.error('caption_write for collected images crashed', { lora: lora.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
        warnings.push(`caption_write for ${lora.name} failed, the title captions stay: ${why}`);
      }
    }
  }
  progress({ progress: total, total, message: 'done' });
  const noProject = [...new Set(results.filter((r) => r.status === 'no_project' && r.coin).map((r) => r.coin as string))].sort();
  return {
    source: src.source,
    format: src.format,
    dry_run: dry,
    results,
    projects: [...added.values()].map(({ lora, ids }) => ({ lora_id: lora.id, name: lora.name, added: ids.length })),
    coins_without_project: noProject,
    truncated: src.truncated,
    captioner,
    warnings,
  };
}

/** One line per outcome kind, for reasoning texts. */
export function summarizeCollect(r: CollectReport): string {
  const count = (st: CollectOutcome) => r.results.filter((x) => x.status === st).length;
  const parts: string[] = [];
  const add = count('added');
  const would = count('would_add');
  if (r.dry_run) parts.push(`Dry run: would add ${would} image${would === 1 ? '' : 's'}${would ? ` (${describeTargets(r.results.filter((x) => x.status === 'would_add'))})` : ''}.`);
  else parts.push(`Added ${add} image${add === 1 ? '' : 's'}${add ? ` (${r.projects.map((p) => `${p.added} to ${p.name}`).join(', ')})` : ''}.`);
  const seen = count('seen');
  if (seen) parts.push(`${seen} collected before.`);
  const dup = count('duplicate');
  if (dup) parts.push(`${dup} duplicate${dup === 1 ? '' : 's'} of images already in the project.`);
  if (r.coins_without_project.length) parts.push(`${count('no_project')} about coins no project serves (${r.coins_without_project.join(', ')}): create a project with those coins to collect them next time.`);
  const noCoin = count('no_coin');
  if (noCoin) parts.push(`${noCoin} with no coin in the title (pass lora_id to collect them into one project).`);
  const noImg = count('no_image');
  if (noImg) parts.push(`${noImg} without an image.`);
  const failed = count('failed');
  if (failed) parts.push(`${failed} failed: ${r.results.filter((x) => x.status === 'failed').slice(0, 2).map((x) => x.detail).join(' ')}`);
  return parts.join(' ');
}

function describeTargets(rs: CollectItemResult[]): string {
  const by = new Map<string, number>();
  for (const r of rs) by.set(r.lora_name ?? '?', (by.get(r.lora_name ?? '?') ?? 0) + 1);
  return [...by].map(([n, c]) => `${c} to ${n}`).join(', ');
}
