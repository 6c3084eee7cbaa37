/**
 * Training bundles, written the way the trainers read them (TRAINERS.md §3a, §3c):
 * - Replicate: one .zip with `name.jpg` + `name.txt` side by side at the root.
 * - kohya: a folder with one subfolder per category subset, `.txt` captions beside the images, and a
 *   `dataset_config.toml` (keep_tokens = 1 with the trigger word first, bucket_no_upscale).
 *
 * The same input gives the same bytes: names come from content hashes, entries are sorted, zip timestamps are
 * fixed and the TOML is written from a fixed key order. A bundle can then be hashed, cached and compared.
 * Every caption starts with the trigger word (captionForTrainer); images still pending get the trigger word
 * plus their tags as a minimal caption, and a warning says how many.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rm, writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { zipSync, type Zippable } from 'fflate';
import { stringify } from 'smol-toml';
import type { Store } from '../store/index.js';
import { LoraloopError } from '../core/errors.js';
import { captionForTrainer, minimalCaption } from './captions/rules.js';
import type { BaseModelName, LoraImageRecord, LoraRecord } from '../store/repos/loras.js';
import { readStoredBlob, storedBlobPath } from '../store/stored-blob.js';
import { repeatsKey } from './rebalance.js';

/** Bundle builders need only the store. */
export interface ExportServices {
  store: Pick<Store, 'loras' | 'kv' | 'blobs'>;
}

/** Planning a bundle reads only the rows, never the images. */
export interface PlanServices {
  store: Pick<Store, 'loras'>;
}

/** Training resolution per base model (kohya `resolution`). */
export const RESOLUTION_OF: Record<BaseModelName, number> = { sd15: 512, sdxl: 1024, flux: 1024 };

/** Subset name used when no image has categories. */
export const SINGLE_SUBSET = 'main';
/** Subset name for images without categories when others have them. */
export const UNCATEGORIZED_SUBSET = 'uncategorized';

/** Fixed zip entry time: a constant in LOCAL time, because the DOS date fields fflate writes are local. */
const ZIP_MTIME = (): Date => new Date(2020, 0, 1, 0, 0, 0);

/** Largest automatic num_repeats when balancing small subsets against large ones. */
const MAX_AUTO_REPEATS = 10;

/** One image as it goes into a bundle. */
export interface BundleEntry {
  image: LoraImageRecord;
  /** Stable file name without extension: `<slug of the original name>-<8 hex of the content hash>`. */
  name: string;
  /** `jpg` or `png`, from the stored blob. */
  ext: string;
  caption: string;
  /** True when the caption is the stand-in (trigger word + tags) for a pending image. */
  pending: boolean;
  /** Subset (folder) name for kohya. */
  subset: string;
}

/** What a bundle holds, before anything is written. */
export interface BundlePlan {
  lora: LoraRecord;
  entries: BundleEntry[];
  warnings: string[];
}

function slug(s: string, max = 40): string {
  const out = s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/, '');
  return out || 'image';
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Decide names, captions and subsets for every non-excluded image of a project. */
export async function planBundle(services: PlanServices, loraId: string): Promise<BundlePlan> {
  const lora = await services.store.loras.find(loraId);
  if (!lora) throw new LoraloopError('NOT_FOUND', `No LoRA project "${loraId}".`, { hint: 'Call lora_list to see the projects and their ids.' });
  const images = await services.store.loras.listImages(lora.id);
  if (images.length === 0) {
    throw new LoraloopError('INVALID_INPUT', `${lora.name} has no training images to export.`, {
      hint: 'Add 40-60 images with lora_upload_images first.',
    });
  }
  const anyCategories = images.some((i) => (i.categories?.length ?? 0) > 0);
  const entries: BundleEntry[] = images.map((image) => {
    const ext = path.extname(image.blob_path).replace(/^\./, '') || 'jpg';
    const stem = path.basename(image.file_name, path.extname(image.file_name));
    const pending = image.caption_status !== 'ok' || !image.caption;
    const caption = pending ? minimalCaption(lora.trigger_word, image.tags) : captionForTrainer(image.caption, lora.trigger_word);
    const first = image.categories?.[0];
    const subset = !anyCategories ? SINGLE_SUBSET : first ? slug(first, 60) : UNCATEGORIZED_SUBSET;
    return { image, name: `${slug(stem)}-${image.blob_sha256.slice(0, 8)}`, ext, caption, pending, subset };
  });
  entries.sort(byName);
  const warnings: string[] = [];
  const pending = entries.filter((e) => e.pending).length;
  if (pending > 0) {
    warnings.push(
      `${pending} of ${entries.length} images have no caption yet: they were exported with the trigger word and their tags as a minimal caption. Caption them with caption_write for a better LoRA.`,
    );
  }
  return { lora, entries, warnings };
}

/** Build the Replicate training zip (images with `.txt` captions beside them) in memory. */
export async function buildReplicateZip(services: ExportServices, loraId: string): Promise<{ zip: Buffer; images: number; warnings: string[] }> {
  const plan = await planBundle(services, loraId);
  const mtime = ZIP_MTIME();
  const files: Zippable = {};
  // Insertion order is the entry order: sorted names, each image followed by its caption.
  for (const e of plan.entries) {
    const bytes = await readStoredBlob(services.store.blobs, { sha256: e.image.blob_sha256, path: e.image.blob_path });
    // Images are already compressed: store them; deflate the captions.
    files[`${e.name}.${e.ext}`] = [new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { level: 0, mtime }];
    files[`${e.name}.txt`] = [new TextEncoder().encode(e.caption), { level: 9, mtime }];
  }
  const zip = Buffer.from(zipSync(files, { mtime }));
  const warnings = [...plan.warnings];
  if (plan.entries.length < 10) warnings.push(`Only ${plan.entries.length} images: the Replicate trainer recommends at least 10 (40-60 works best).`);
  return { zip, images: plan.entries.length, warnings };
}

/** One kohya subset as written. */
export interface KohyaSubset {
  /** Folder name inside the bundle. */
  name: string;
  /** Absolute image_dir as written in dataset_config.toml. */
  image_dir: string;
  images: number;
  num_repeats: number;
}

/** Options for {@link writeKohyaBundle}. */
export interface KohyaBundleOptions {
  /** num_repeats per subset (by subset folder name or by category name); default balances small subsets. */
  repeats?: Record<string, number>;
  /**
   * The folder to write in `image_dir` instead of `outDir` (e.g. where the bundle will sit on the GPU host,
   * since sd-scripts resolves image_dir from its own working directory, not from the TOML file).
   */
  imageRoot?: string;
}

/** A written kohya bundle. */
export interface KohyaBundle {
  dir: string;
  config_path: string;
  subsets: KohyaSubset[];
  images: number;
  warnings: string[];
}

/** Balanced default: a subset gets round(largest / its size) repeats, 1..10. */
function defaultRepeats(count: number, largest: number): number {
  return Math.max(1, Math.min(MAX_AUTO_REPEATS, Math.round(largest / count)));
}

/**
 * Write a kohya bundle into `outDir` (an empty folder, or one holding an earlier export, which is replaced).
 * The caller is responsible for `outDir` being an allowed location (the dataset_export tool checks it with the
 * path guard).
 */
export async function writeKohyaBundle(services: ExportServices, loraId: string, outDir: string, opts: KohyaBundleOptions = {}): Promise<KohyaBundle> {
  const plan = await planBundle(services, loraId);
  const dir = path.resolve(outDir);
  await prepareOutDir(dir);
  const configPath = path.join(dir, 'dataset_config.toml');
  const root = opts.imageRoot ?? dir;

  const groups = new Map<string, BundleEntry[]>();
  for (const e of plan.entries) groups.set(e.subset, [...(groups.get(e.subset) ?? []), e]);
  const names = [...groups.keys()].sort();
  const largest = Math.max(...[...groups.values()].map((g) => g.length));
  // Original category names map to their folder, so callers may key repeats by either.
  const categoryOf = new Map<string, string>();
  for (const e of plan.entries) {
    const c = e.image.categories?.[0];
    if (c) categoryOf.set(e.subset, c);
  }
  const warnings = [...plan.warnings];
  // Without explicit repeats, the ones dataset_rebalance computed for the target mix (if it was applied) win
  // over the size-balancing default.
  const stored = opts.repeats ? undefined : (await services.store.kv.get<{ repeats?: Record<string, number> }>(repeatsKey(loraId)))?.repeats;
  const repeatsGiven = opts.repeats ?? stored;
  if (stored) warnings.push('Used the num_repeats dataset_rebalance computed for the target mix.');
  const subsets: KohyaSubset[] = [];
  for (const name of names) {
    const group = groups.get(name) ?? [];
    const folder = path.join(dir, name);
    await mkdir(folder, { recursive: true });
    for (const e of group) {
      await copyFile(await storedBlobPath(services.store.blobs, { sha256: e.image.blob_sha256, path: e.image.blob_path }), path.join(folder, `${e.name}.${e.ext}`));
      await writeFile(path.join(folder, `${e.name}.txt`), e.caption, 'utf8');
    }
    const category = categoryOf.get(name);
    const given = repeatsGiven?.[name] ?? (category !== undefined ? repeatsGiven?.[category] : undefined);
    let repeats = given ?? defaultRepeats(group.length, largest);
    if (!Number.isInteger(repeats) || repeats < 1) {
      warnings.push(`num_repeats ${given} for ${name} is not a positive integer; used 1.`);
      repeats = 1;
    }
    subsets.push({ name, image_dir: path.join(root, name), images: group.length, num_repeats: repeats });
  }

  const config = {
    general: { shuffle_caption: true, caption_extension: '.txt', keep_tokens: 1 },
    datasets: [
      {
        resolution: RESOLUTION_OF[plan.lora.base_model],
        batch_size: 1,
        enable_bucket: true,
        bucket_no_upscale: true,
        subsets: subsets.map((s) => ({ image_dir: s.image_dir, num_repeats: s.num_repeats, class_tokens: plan.lora.trigger_word })),
      },
    ],
  };
  const header = `# kohya sd-scripts dataset config for ${plan.lora.name} (${plan.lora.base_model}); written by loraloop.\n# Captions are .txt files beside the images, trigger word "${plan.lora.trigger_word}" first (keep_tokens = 1).\n`;
  const tmp = `${configPath}.part`;
  await writeFile(tmp, header + stringify(config) + '\n', 'utf8');
  await rename(tmp, configPath);
  return { dir, config_path: configPath, subsets, images: plan.entries.length, warnings };
}

/**
 * Make `dir` ready: create it, or clear an earlier export (recognised by its dataset_config.toml). A folder
 * holding anything else is refused: we never delete files we did not write.
 */
async function prepareOutDir(dir: string): Promise<void> {
  if (!existsSync(dir)) {
    await mkdir(dir, { recursive: true });
    return;
  }
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw new LoraloopError('INVALID_INPUT', `${dir} is not a folder.`, { hint: 'Give a folder path for a kohya bundle.', cause: e });
  }
  if (names.length === 0) return;
  if (!names.includes('dataset_config.toml')) {
    throw new LoraloopError('CONFLICT', `${dir} is not empty and does not hold an earlier loraloop export.`, {
      hint: 'Give an empty or new folder for the kohya bundle.',
    });
  }
  // An earlier export: remove its config and the subset folders that hold only images and captions (what we
  // write); anything else the user put there stays.
  for (const n of names) {
    const p = path.join(dir, n);
    if (n === 'dataset_config.toml') {
      await rm(p, { force: true });
      continue;
    }
    let inner: string[];
    try {
      inner = await readdir(p);
    } catch {
      continue; // a file, not a subset folder
    }
    if (inner.every((f) => /\.(jpg|png|txt)$/i.test(f))) await rm(p, { recursive: true, force: true });
  }
}
