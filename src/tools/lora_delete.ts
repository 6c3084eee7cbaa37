import { z } from 'zod';
import { ok } from '../core/result.js';
import { deleteLora } from '../lora/registry.js';
import { loraIdSchema } from '../lora/view.js';
import { defineTool } from './types.js';

export const loraDeleteTool = defineTool({
  name: 'lora_delete',
  title: 'Delete a LoRA version or project',
  description:
    'Delete one version of a LoRA, or the whole project (its images and versions) when no version is given. The active version, or a project that has one, is refused unless force is set. A .safetensors file is removed when no other version refers to it.',
  input: z.object({
    lora_id: loraIdSchema,
    version: z.number().int().positive().optional().describe('Version to delete; leave out to delete the whole project.'),
    force: z.boolean().optional().describe('Also delete the active version (rolls back to the latest other ready version) or a project with one.'),
  }),
  output: z.object({
    lora_id: z.string().describe('Project id.'),
    name: z.string().describe('Registry name.'),
    project_deleted: z.boolean().describe('True when the whole project is gone.'),
    deleted_versions: z.array(z.number().int()).describe('Version numbers deleted.'),
    files_removed: z.array(z.string()).describe('Files removed from disk (no other version referred to them).'),
    active_version: z.number().int().nullable().describe('Active version afterwards (null if none or the project is gone).'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async handler(ctx, input) {
    const r = await deleteLora(ctx.services, input.lora_id, { version: input.version, force: input.force });
    const what = r.project_deleted
      ? `Deleted the LoRA project ${r.lora.name} with ${r.deleted_versions.length} version${r.deleted_versions.length === 1 ? '' : 's'} and its images.`
      : `Deleted ${r.lora.name} v${r.deleted_versions[0]}.`;
    const files = r.files_removed.length ? ` Removed ${r.files_removed.length} file${r.files_removed.length === 1 ? '' : 's'}.` : ' No file removed (none, or still used by another version).';
    const next = r.project_deleted
      ? ''
      : r.active_version === null
        ? ` ${r.lora.name} has no active version; activate one with lora_activate or retrain with lora_train.`
        : ` v${r.active_version} is active.`;
    return ok(
      {
        lora_id: r.lora.id,
        name: r.lora.name,
        project_deleted: r.project_deleted,
        deleted_versions: r.deleted_versions,
        files_removed: r.files_removed,
        active_version: r.active_version,
      },
      `${what}${files}${r.notes.length ? ` ${r.notes.join(' ')}` : ''}${next}`,
    );
  },
});
