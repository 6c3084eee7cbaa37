import { z } from 'zod';
import { LoraloopError } from '../core/errors.js';
import { ok } from '../core/result.js';
import { loadLoraFile } from '../lora/lora-file.js';
import { activateVersion, baseModelOf, checkArchitecture, MAX_STRENGTH, MIN_STRENGTH, registerVersion } from '../lora/registry.js';
import { assetTypeSchema, baseModelSchema, normalizeCoins, tickerSchema } from '../lora/view.js';
import { defineTool } from './types.js';

export const loraImportTool = defineTool({
  name: 'lora_import',
  title: 'Register an existing LoRA file',
  description:
    'Register an existing LoRA .safetensors (path or URL) after inspecting it. A new name creates a project; an existing name gets a new version (earlier versions stay). The architecture must match the base model; the trigger word comes from the file metadata when not given.',
  input: z.object({
    path: z.string().min(1).max(4096).optional().describe('Local .safetensors file under LORALOOP_ALLOWED_ROOTS.'),
    url: z.string().min(1).max(4096).optional().describe('https URL of the .safetensors file.'),
    name: z.string().trim().min(1).max(100).describe('Registry name: a new project, or an existing one to add a version to.'),
    base_model: baseModelSchema.optional().describe('Base model (default: read from the file); must match the file and the existing project.'),
    asset_type: assetTypeSchema.optional().describe('For a new project (default style).'),
    trigger_word: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .regex(/^[^,\n\r]+$/, 'no commas or line breaks')
      .optional()
      .describe('For a new project (default: the first trigger word in the file metadata, else the name).'),
    coins: z.array(tickerSchema).max(50).optional().describe('For a new project: tickers it serves (routing).'),
    activate: z.boolean().optional().describe('Make the imported version active (default: only when the project has no active version).'),
    strength: z.number().min(MIN_STRENGTH).max(MAX_STRENGTH).optional().describe('Default strength when activating (default: metadata, else 0.85).'),
  }),
  output: z.object({
    lora_id: z.string().describe('Project id.'),
    name: z.string().describe('Registry name.'),
    created: z.boolean().describe('True when a new project was created.'),
    version: z.number().int().describe('The version number the file got.'),
    active_version: z.number().int().nullable().describe('Active version afterwards.'),
    strength: z.number().nullable().describe('Default strength of the active version.'),
    base_model: baseModelSchema,
    trigger_word: z.string().describe("The project's trigger word."),
    format: z.string().describe('Key format of the file (kohya, peft, ...).'),
    architecture: z.string().describe('Architecture read from the file.'),
    rank: z.number().nullable().describe('LoRA rank.'),
    alpha: z.number().nullable().describe('LoRA alpha.'),
    file_path: z.string().describe('Where the file is stored.'),
    file_bytes: z.number().int().describe('File size in bytes.'),
    warnings: z.array(z.string()).describe('Things to know: undetermined architecture, defaults chosen, inspection warnings.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  longRunning: true,
  async handler(ctx, input) {
    const s = ctx.services;
    const f = await loadLoraFile(s, input, { withBytes: true, signal: ctx.signal });
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
    let strength: number | null = null;
    let strengthNote = '';
    if (activate) {
      const a = await activateVersion(s, lora.id, version.version, input.strength);
      strength = a.strength;
      strengthNote = ` and active at strength ${a.strength}${a.strength_source === 'metadata' ? ` (from ${a.strength_key})` : a.strength_source === 'default' ? ' (default)' : ''}`;
    }
    const after = (await s.store.loras.get(lora.id)) ?? lora;
    const next = activate
      ? after.coins.length
        ? ` Covers about ${after.coins.join(', ')} now use it.`
        : ' Use it with cover_generate.'
      : ` v${after.active_version} stays active; switch with lora_activate {"lora_id": "${after.id}", "version": ${version.version}}.`;
    return ok(
      {
        lora_id: after.id,
        name: after.name,
        created,
        version: version.version,
        active_version: after.active_version,
        strength: after.active_version === null ? null : (strength ?? after.default_strength),
        base_model: after.base_model,
        trigger_word: after.trigger_word,
        format: insp.format,
        architecture: insp.architecture,
        rank: insp.rank,
        alpha: insp.alpha,
        file_path: version.file_path ?? '',
        file_bytes: version.file_bytes ?? bytes.length,
        warnings,
      },
      `${created ? 'Created' : 'Added to'} ${after.name}: ${f.file_name} (${insp.format}, ${insp.architecture}, rank ${insp.rank ?? '?'}) is v${version.version}${strengthNote}.${next}${warnings.length ? ` Note: ${warnings.join(' ')}` : ''}`,
      version.file_path ? [{ kind: 'file', path: version.file_path, mime_type: 'application/octet-stream', title: `${after.name} v${version.version} weights` }] : undefined,
      next.trim(),
    );
  },
});
