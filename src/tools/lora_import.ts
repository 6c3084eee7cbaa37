import { z } from 'zod';
import { ok } from '../core/result.js';
import { importLora } from '../lora/import.js';
import { MAX_STRENGTH, MIN_STRENGTH } from '../lora/registry.js';
import { assetTypeSchema, baseModelSchema, tickerSchema } from '../lora/view.js';
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
    const r = await importLora(ctx.services, input, ctx.signal);
    const { lora: after, created, version, activation: a, inspection: insp, warnings } = r;
    const activate = a !== null;
    const strength = a?.strength ?? null;
    const strengthNote = a ? ` and active at strength ${a.strength}${a.strength_source === 'metadata' ? ` (from ${a.strength_key})` : a.strength_source === 'default' ? ' (default)' : ''}` : '';
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
        file_bytes: version.file_bytes ?? r.file_bytes,
        warnings,
      },
      `${created ? 'Created' : 'Added to'} ${after.name}: ${r.file_name} (${insp.format}, ${insp.architecture}, rank ${insp.rank ?? '?'}) is v${version.version}${strengthNote}.${next}${warnings.length ? ` Note: ${warnings.join(' ')}` : ''}`,
      version.file_path
        ? [{ kind: 'file', path: version.file_path, ...(version.file_sha256 ? { sha256: version.file_sha256 } : {}), mime_type: 'application/octet-stream', title: `${after.name} v${version.version} weights` }]
        : undefined,
      next.trim(),
    );
  },
});
