/**
 * The LoRA registry: versions of a name, which one is active and at what strength, deletion rules, and the
 * resolver routing asks "which LoRA serves SOL?".
 *
 * Rules kept here (and nowhere else):
 * - Retraining or importing a name adds v2, v3...; earlier versions stay for rollback.
 * - A file is written as a blob BEFORE the version row that points at it, and removed only AFTER the last row
 *   pointing at it is gone.
 * - The active version is what generation uses. It is never removed silently: deleting it (or a project that
 *   has one) needs `force`.
 * - Default strength: a preferred weight from the file's metadata when it states one, else 0.85.
 */
import { LoraloopError } from '../core/errors.js';
import type { Store } from '../store/index.js';
import type { BaseModelName, LoraRecord, LoraVersionRecord } from '../store/repos/loras.js';
import { inspectSafetensorsBuffer } from './safetensors/inspect.js';
import type { LoraArchitecture, LoraInspection } from './safetensors/schema.js';

/** The active LoRA that serves a coin (or a general cover style): what routing and generation use. */
export interface ActiveLora {
  name: string;
  version: number;
  strength: number;
  lora_id?: string;
  base_model?: string;
  file_path?: string;
  /** For Replicate: the trained model version or weights URL, when known. */
  remote_version?: string | null;
  weights_url?: string | null;
}

export interface LoraResolver {
  /** The active LoRA whose coins include `symbol` (coin-specific LoRAs). */
  activeForCoin(symbol: string): Promise<ActiveLora | null>;
  /** The active LoRA for several coins at once or a general cover style, if any. */
  activeGeneral(symbols: string[]): Promise<ActiveLora | null>;
}

/** Strength used when neither the caller nor the file's metadata says otherwise. */
export const DEFAULT_STRENGTH = 0.85;
export const MIN_STRENGTH = -2;
export const MAX_STRENGTH = 2;

/** The registry needs only the store; accepting a subset lets scripts and the nightly run call it too. */
export interface RegistryServices {
  store: RegistryStore;
}
type RegistryStore = Pick<Store, 'loras' | 'blobs' | 'transaction'>;

/** What a finished training (or an import) hands to the registry. */
export interface RegisterVersionInput {
  /** The .safetensors bytes, or null for a remote-only version (e.g. a Replicate model version). */
  file: Buffer | null;
  /** A ready inspection of `file`; computed here when absent and a file is given. */
  inspection?: LoraInspection | undefined;
  /** Training parameters (or import facts) to keep with the version. */
  params: Record<string, unknown>;
  job_id: string | null;
  /** replicate | kohya | import */
  backend: string;
  remote_version?: string | null | undefined;
  weights_url?: string | null | undefined;
  /** ready: usable now; candidate: trained but waiting for an evaluation to promote it. */
  status: 'ready' | 'candidate';
}

/** Which architecture each base model name means. */
export const ARCHITECTURE_OF: Record<BaseModelName, LoraArchitecture> = { flux: 'flux1', sdxl: 'sdxl', sd15: 'sd1' };

/** The base model an inspected architecture belongs to (sd2 and unknown have none of ours). */
export function baseModelOf(arch: LoraArchitecture): BaseModelName | undefined {
  return arch === 'flux1' ? 'flux' : arch === 'sdxl' ? 'sdxl' : arch === 'sd1' ? 'sd15' : undefined;
}

/**
 * Check a file's architecture against a project's base model. A known mismatch throws (a FLUX LoRA on an SDXL
 * checkpoint fails or produces noise); `unknown` passes with a warning, since the header could not decide.
 */
export function checkArchitecture(baseModel: BaseModelName, inspection: LoraInspection): string[] {
  const want = ARCHITECTURE_OF[baseModel];
  const got = inspection.architecture;
  if (got === 'unknown') {
    return [`The file's base model could not be determined from its header; it is registered as ${baseModel} on your word.`];
  }
  if (got !== want) {
    throw new LoraloopError('INVALID_INPUT', `The file is a ${got} LoRA but the project's base model is ${baseModel} (${want}).`, {
      hint: `Use base_model ${baseModelOf(got) ?? '(none of flux, sdxl, sd15 fits)'} or a file trained for ${baseModel}.`,
      details: { architecture: got, base_model: baseModel, evidence: inspection.evidence },
    });
  }
  return [];
}

async function requireLora(store: RegistryStore, loraId: string): Promise<LoraRecord> {
  const lora = await store.loras.find(loraId);
  if (!lora) {
    throw new LoraloopError('NOT_FOUND', `No LoRA project "${loraId}".`, { hint: 'Call lora_list to see the projects and their ids.' });
  }
  return lora;
}

/**
 * Add the next version of a project: the file (if any) becomes a blob first, then the row; the project is
 * marked ready. Does not activate the version unless `activate` is set (the nightly run promotes candidates
 * only after an evaluation).
 */
export async function registerVersion(
  services: RegistryServices,
  loraId: string,
  input: RegisterVersionInput & { activate?: boolean; strength?: number },
): Promise<LoraVersionRecord> {
  const { store } = services;
  const lora = await requireLora(store, loraId);
  let inspection: LoraInspection | null = input.inspection ?? null;
  let blob: { sha256: string; path: string; bytes: number } | null = null;
  if (input.file) {
    inspection ??= inspectSafetensorsBuffer(input.file);
    checkArchitecture(lora.base_model, inspection);
    blob = await store.blobs.put(input.file, 'safetensors');
  }
  const version = await store.loras.addVersion({
    lora_id: lora.id,
    status: input.status,
    file_sha256: blob?.sha256 ?? null,
    file_path: blob?.path ?? null,
    file_bytes: blob?.bytes ?? null,
    inspection: inspection as Record<string, unknown> | null,
    params: input.params,
    job_id: input.job_id,
    backend: input.backend,
    remote_version: input.remote_version ?? null,
    weights_url: input.weights_url ?? null,
  });
  await store.loras.update(lora.id, { status: 'ready' });
  if (input.activate) await activateVersion(services, lora.id, version.version, input.strength);
  return version;
}

/** Where a default strength came from. */
export type StrengthSource = 'given' | 'metadata' | 'default';

const STRENGTH_KEY = /(preferred|recommended|default|suggested)[ _.-]?(weight|strength|scale)|^(weight|strength|lora_scale)$/i;
const STRENGTH_IN_TEXT = /(?:weight|strength|scale)\s*(?:of|:|=|is|at)?\s*(-?\d+(?:\.\d+)?)|<lora:[^:>]+:(-?\d+(?:\.\d+)?)>/i;

/**
 * A preferred strength stated in a LoRA's metadata (TRAINERS.md §2 item 5: users want "preferred weight"
 * exposed): keys such as `preferred weight`, `ssmd_preferred_weight` or `recommended_strength`, or a number in
 * `modelspec.usage_hint` ("use at weight 0.7", "<lora:x:0.7>"). Values outside -2..2 are ignored.
 */
export function preferredStrength(metadata: Record<string, string> | undefined | null): { value: number; key: string } | null {
  if (!metadata) return null;
  const inRange = (n: number) => Number.isFinite(n) && n >= MIN_STRENGTH && n <= MAX_STRENGTH && n !== 0;
  for (const key of Object.keys(metadata).sort()) {
    const short = key.replace(/^(ssmd_|modelspec\.|sshs_)/, '');
    if (!STRENGTH_KEY.test(short)) continue;
    const n = Number((metadata[key] ?? '').trim());
    if (inRange(n)) return { value: n, key };
  }
  const hint = metadata['modelspec.usage_hint'];
  if (hint) {
    const m = STRENGTH_IN_TEXT.exec(hint);
    const n = Number(m?.[1] ?? m?.[2]);
    if (m && inRange(n)) return { value: n, key: 'modelspec.usage_hint' };
  }
  return null;
}

/** The result of an activation. */
export interface ActivationResult {
  lora: LoraRecord;
  version: LoraVersionRecord;
  strength: number;
  strength_source: StrengthSource;
  /** The metadata key the strength was read from, when strength_source is metadata. */
  strength_key?: string;
  previous_version: number | null;
}

function metadataOf(v: LoraVersionRecord): Record<string, string> | undefined {
  const m = v.inspection?.metadata;
  return m && typeof m === 'object' ? (m as Record<string, string>) : undefined;
}

/**
 * Make a version the one generation uses, at a default strength. Without `version`: the latest ready one.
 * Activating a candidate promotes it to ready; a rejected version is refused.
 */
export async function activateVersion(services: RegistryServices, loraId: string, version?: number, strength?: number): Promise<ActivationResult> {
  const { store } = services;
  const lora = await requireLora(store, loraId);
  const versions = await store.loras.listVersions(lora.id);
  let target: LoraVersionRecord | undefined;
  if (version === undefined) {
    target = versions.filter((v) => v.status === 'ready').pop();
    if (!target) {
      const candidates = versions.filter((v) => v.status === 'candidate').map((v) => `v${v.version}`);
      throw new LoraloopError('NOT_FOUND', `${lora.name} has no ready version to activate.`, {
        hint: candidates.length
          ? `Name a candidate to promote it: lora_activate with version ${candidates.join(' or ')}.`
          : 'Train it with lora_train or add a file with lora_import first.',
      });
    }
  } else {
    target = versions.find((v) => v.version === version);
    if (!target) {
      throw new LoraloopError('NOT_FOUND', `${lora.name} has no v${version}.`, {
        hint: versions.length ? `Its versions: ${versions.map((v) => `v${v.version} (${v.status})`).join(', ')}.` : 'It has no versions yet.',
      });
    }
    if (target.status === 'rejected') {
      throw new LoraloopError('CONFLICT', `${lora.name} v${version} was rejected by an evaluation and cannot be activated.`, {
        hint: 'Activate another version, or retrain.',
      });
    }
  }
  if (strength !== undefined && !(strength >= MIN_STRENGTH && strength <= MAX_STRENGTH)) {
    throw new LoraloopError('INVALID_INPUT', `Strength ${strength} is outside ${MIN_STRENGTH}..${MAX_STRENGTH}.`, { hint: 'Typical LoRA strengths are 0.6-1.0.' });
  }
  let source: StrengthSource = 'given';
  let key: string | undefined;
  let value = strength;
  if (value === undefined) {
    const pref = preferredStrength(metadataOf(target));
    if (pref) {
      value = pref.value;
      key = pref.key;
      source = 'metadata';
    } else {
      value = DEFAULT_STRENGTH;
      source = 'default';
    }
  }
  const chosen: LoraVersionRecord = target;
  const chosenStrength: number = value;
  const previous = lora.active_version;
  const { promoted, updated } = await store.transaction(async (tx) => {
    const promoted = chosen.status === 'candidate' ? await tx.loras.updateVersion(chosen.id, { status: 'ready' }) : chosen;
    return { promoted, updated: await tx.loras.update(lora.id, { active_version: chosen.version, default_strength: chosenStrength, status: 'ready' }) };
  });
  return {
    lora: updated,
    version: promoted,
    strength: value,
    strength_source: source,
    ...(key ? { strength_key: key } : {}),
    previous_version: previous,
  };
}

/** What a deletion did. */
export interface DeletionResult {
  lora: LoraRecord;
  project_deleted: boolean;
  deleted_versions: number[];
  /** Blob files removed because nothing else referred to them. */
  files_removed: string[];
  /** The active version after the deletion (null when none, or when the project is gone). */
  active_version: number | null;
  /** What a forced deletion changed that the user should know. */
  notes: string[];
}

async function removeFileIfUnreferenced(store: RegistryStore, v: LoraVersionRecord, removed: string[]): Promise<void> {
  if (!v.file_sha256 || !v.file_path) return;
  if ((await store.loras.countFileRefs(v.file_sha256)) > 0) return;
  // By its hash, through the blob store: with LORALOOP_BLOBS the shared copy goes too, whichever host asks.
  if (await store.blobs.remove({ sha256: v.file_sha256, ext: 'safetensors' })) removed.push(v.file_path);
}

/**
 * Delete one version, or a whole project when `version` is absent. The active version (or a project that has
 * one) is refused unless `force`: generation would silently lose its LoRA. A forced deletion of the active
 * version rolls back to the latest remaining ready version, if any. Rows go first, files after.
 */
export async function deleteLora(
  services: RegistryServices,
  loraId: string,
  opts: { version?: number | undefined; force?: boolean | undefined } = {},
): Promise<DeletionResult> {
  const { store } = services;
  const lora = await requireLora(store, loraId);
  const versions = await store.loras.listVersions(lora.id);
  const removed: string[] = [];
  const notes: string[] = [];
  const force = opts.force ?? false;

  if (opts.version === undefined) {
    if (lora.active_version !== null && !force) {
      throw new LoraloopError('CONFLICT', `${lora.name} has an active version (v${lora.active_version}) that generation uses.`, {
        hint: 'Pass force: true to delete the project anyway, or delete only other versions.',
      });
    }
    if (lora.active_version !== null) notes.push(`v${lora.active_version} was active; covers for ${lora.coins.join('/') || lora.name} no longer use a LoRA from this project.`);
    // ON DELETE CASCADE removes images and versions with the project row.
    await store.loras.delete(lora.id);
    for (const v of versions) await removeFileIfUnreferenced(store, v, removed);
    return { lora, project_deleted: true, deleted_versions: versions.map((v) => v.version), files_removed: removed, active_version: null, notes };
  }

  const target = versions.find((v) => v.version === opts.version);
  if (!target) {
    throw new LoraloopError('NOT_FOUND', `${lora.name} has no v${opts.version}.`, {
      hint: versions.length ? `Its versions: ${versions.map((v) => `v${v.version}`).join(', ')}.` : 'It has no versions.',
    });
  }
  let active = lora.active_version;
  await store.transaction(async (tx) => {
    if (target.version === lora.active_version) {
      if (!force) {
        throw new LoraloopError('CONFLICT', `v${target.version} is the active version of ${lora.name}; generation uses it.`, {
          hint: 'Activate another version first (lora_activate), or pass force: true.',
        });
      }
      const fallback = versions.filter((v) => v.status === 'ready' && v.version !== target.version).pop();
      active = fallback?.version ?? null;
      notes.push(
        fallback
          ? `v${target.version} was active; rolled back to v${fallback.version}.`
          : `v${target.version} was the only usable version; ${lora.name} now has no active version.`,
      );
      await tx.loras.update(lora.id, { active_version: active, ...(active === null ? { default_strength: null } : {}) });
    }
    await tx.loras.deleteVersion(target.id);
    if (versions.length === 1) {
      await tx.loras.update(lora.id, { status: (await tx.loras.countImages(lora.id)) > 0 ? 'uploading' : 'created' });
    }
  });
  await removeFileIfUnreferenced(store, target, removed);
  return { lora: (await store.loras.get(lora.id)) ?? lora, project_deleted: false, deleted_versions: [target.version], files_removed: removed, active_version: active, notes };
}

/** Specificity order when several LoRAs serve the same coin. */
const COIN_ASSET_RANK: Record<string, number> = { coin: 0, logo: 1, cover: 2, icons: 3, premium: 4, style: 5 };
const GENERAL_ASSET_RANK: Record<string, number> = { cover: 0, style: 1, premium: 2 };

function toActive(lora: LoraRecord, v: LoraVersionRecord): ActiveLora {
  return {
    name: lora.name,
    version: v.version,
    strength: lora.default_strength ?? DEFAULT_STRENGTH,
    lora_id: lora.id,
    base_model: lora.base_model,
    ...(v.file_path ? { file_path: v.file_path } : {}),
    remote_version: v.remote_version,
    weights_url: v.weights_url,
  };
}

/**
 * The resolver routing uses. Reads the store on each question (a LoRA activated in another process is seen at
 * once). Among several active LoRAs for a coin: asset type coin before logo before others, fewer coins (more
 * specific) first, then the most recently changed.
 */
export function createLoraResolver(store: Pick<Store, 'loras'>): LoraResolver {
  const activeOf = async (lora: LoraRecord): Promise<LoraVersionRecord | undefined> => {
    if (lora.active_version === null) return undefined;
    const v = await store.loras.getVersion(lora.id, lora.active_version);
    return v && v.status === 'ready' ? v : undefined;
  };
  const pick = async (loras: LoraRecord[], rank: (l: LoraRecord) => number): Promise<ActiveLora | null> => {
    const withVersions: Array<{ l: LoraRecord; v: LoraVersionRecord | undefined }> = [];
    for (const l of loras) withVersions.push({ l, v: await activeOf(l) });
    const usable = withVersions
      .filter((x): x is { l: LoraRecord; v: LoraVersionRecord } => x.v !== undefined)
      .sort(
        (a, b) =>
          rank(a.l) - rank(b.l) ||
          a.l.coins.length - b.l.coins.length ||
          (a.l.updated_at < b.l.updated_at ? 1 : a.l.updated_at > b.l.updated_at ? -1 : 0) ||
          (a.l.name < b.l.name ? -1 : 1),
      );
    const best = usable[0];
    return best ? toActive(best.l, best.v) : null;
  };
  return {
    async activeForCoin(symbol) {
      const s = symbol.replace(/^\$/, '').toUpperCase();
      return pick(await store.loras.list({ coin: s }), (l) => COIN_ASSET_RANK[l.asset_type] ?? 9);
    },
    async activeGeneral(symbols) {
      const wanted = [...new Set(symbols.map((s) => s.replace(/^\$/, '').toUpperCase()))];
      if (wanted.length >= 2) {
        const first = wanted[0] as string;
        const all = (await store.loras.list({ coin: first })).filter((l) => {
          const have = new Set(l.coins.map((c) => c.toUpperCase()));
          return wanted.every((w) => have.has(w));
        });
        const multi = await pick(all, (l) => COIN_ASSET_RANK[l.asset_type] ?? 9);
        if (multi) return multi;
      }
      const general = (await store.loras.list()).filter((l) => l.coins.length === 0 && l.asset_type in GENERAL_ASSET_RANK);
      return pick(general, (l) => GENERAL_ASSET_RANK[l.asset_type] ?? 9);
    },
  };
}
