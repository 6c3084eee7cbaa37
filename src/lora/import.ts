/**
 * lora_import's engine: register an existing LoRA file (path or URL) after inspecting it. A new name creates a
 * project (trigger word from the file's metadata, else the name); an existing name gets a new version, and its
 * base model must match the file's. The imported version becomes active when asked, or when the project has none.
 */
import type { Config } from '../core/config.js';
import { LoraloopError } from '../core/errors.js';
import type { PathGuard } from '../core/paths.js';
import type { Store } from '../store/index.js';
import type { BaseModelName, LoraRecord, LoraVersionRecord } from '../store/repos/loras.js';
import { loadLoraFile, type LoraFileSource } from './lora-file.js';
import { activateVersion, baseModelOf, checkArchitecture, registerVersion, type ActivationResult } from './registry.js';
import type { LoraInspection } from './safetensors/schema.js';
import { normalizeCoins } from './view.js';

/** What to import, as lora_import takes it. */
export interface ImportRequest extends LoraFileSource {
  name: string;
  base_model?: BaseModelName | undefined;
  asset_type?: string | undefined;
  trigger_word?: string | undefined;
  coins?: string[] | undefined;
  activate?: boolean | undefined;
  strength?: number | undefined;
}

/** What an import did. */
export interface Imported {
  /** The project afterwards. */
  lora: LoraRecord;
  created: boolean;
  version: LoraVersionRecord;
  /** The activation, when the version was made active. */
  activation: ActivationResult | null;
  inspection: LoraInspection;
  file_name: string;
  file_bytes: number;
  warnings: string[];
}

/** What importing needs: reading the file (allowed roots, downloader settings) and the registry's tables. */
export interface ImportDeps {
  config: Config;
  paths: PathGuard;
  store: Pick<Store, 'loras' | 'blobs' | 'transaction'>;
}

/** Import a LoRA file (see the module comment). Expected failures throw LoraloopError. */
export async function importLora(s: ImportDeps, input: ImportRequest, signal?: AbortSignal): Promise<Imported> {
  const f = await loadLoraFile(s, input, { withBytes: true, signal });
  const insp = f.inspection;
  const bytes = f.bytes as Buffer;
  if (insp.format === 'unknown' || insp.targets.modules === 0) {
    throw new LoraloopError('BAD_SAFETENSORS', `${f.file_name} is a .safetensors file but holds no LoRA weights (${insp.tensors.count} tensors, none in a known LoRA layout).`, {
      hint: 'Check it is a LoRA and not a full checkpoint or an embedding; lora_inspect shows its keys.',
    });
  }
  const warnings = [...insp.warnings];
  const existing = await s.store.loras.getByName(input.name);
  const fromFile = baseModelOf(insp.architecture);
  let baseModel = input.base_model ?? existing?.base_model ?? fromFile;
  if (!baseModel) {
    throw new LoraloopError('INVALID_INPUT', `The base model of ${f.file_name} cannot be read from it (architecture ${insp.architecture}).`, {
      hint: 'Give base_model (flux, sdxl or sd15) if you know what it was trained on.',
    });
  }
  if (existing && input.base_model && input.base_model !== existing.base_model) {
    throw new LoraloopError('CONFLICT', `${existing.name} is a ${existing.base_model} project; base_model ${input.base_model} does not match.`, {
      hint: 'Import under a new name for another base model.',
    });
  }
  baseModel = existing?.base_model ?? baseModel;
  warnings.push(...checkArchitecture(baseModel, insp));

  let lora = existing;
  let created = false;
  if (!lora) {
    let trigger = input.trigger_word;
    if (!trigger) {
      const fromMeta = insp.trigger_words.find((w) => !/[,\n\r]/.test(w) && w.length <= 100);
      trigger = fromMeta ?? input.name;
      warnings.push(fromMeta ? `Trigger word "${trigger}" taken from the file metadata.` : `No trigger word in the file; the name "${trigger}" is used. Set the real one if the LoRA has one.`);
    }
    if (!input.asset_type) warnings.push('asset_type not given; the project is registered as "style".');
    lora = await s.store.loras.create({
      name: input.name,
      base_model: baseModel,
      asset_type: input.asset_type ?? 'style',
      trigger_word: trigger,
      coins: normalizeCoins(input.coins),
      description: `Imported from ${f.file_name}.`,
    });
    created = true;
  } else if (input.coins || input.trigger_word || input.asset_type) {
    warnings.push(`${lora.name} already exists: trigger_word, asset_type and coins are the project's own and were not changed.`);
  }

  const version = await registerVersion(s, lora.id, {
    file: bytes,
    inspection: insp,
    params: { imported_from: f.location, file_name: f.file_name },
    job_id: null,
    backend: 'import',
    status: 'ready',
  });
  const activate = input.activate ?? lora.active_version === null;
  const activation = activate ? await activateVersion(s, lora.id, version.version, input.strength) : null;
  const after = (await s.store.loras.get(lora.id)) ?? lora;
  return { lora: after, created, version, activation, inspection: insp, file_name: f.file_name, file_bytes: bytes.length, warnings };
}
