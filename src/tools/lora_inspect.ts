import { z } from 'zod';
import { ok } from '../core/result.js';
import { loadLoraFile } from '../lora/lora-file.js';
import { LoraInspectionSchema } from '../lora/safetensors/schema.js';
import { defineTool } from './types.js';

export const loraInspectTool = defineTool({
  name: 'lora_inspect',
  title: 'Inspect a LoRA .safetensors file',
  description:
    'Read a LoRA .safetensors header (never the whole file) and say what it is: format (kohya, peft, diffusers, ...), base model (sd1, sd2, sdxl, flux1), rank, alpha, targets, trigger words, tags and metadata, with the evidence for each decision.',
  input: z.object({
    path: z.string().min(1).max(4096).optional().describe('Local .safetensors file under LORALOOP_ALLOWED_ROOTS.'),
    url: z.string().min(1).max(4096).optional().describe('https URL of the .safetensors file (downloaded with the SSRF rules).'),
  }),
  output: LoraInspectionSchema,
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  async handler(ctx, input) {
    const f = await loadLoraFile(ctx.services, input, { withBytes: false, signal: ctx.signal });
    const i = f.inspection;
    const parts = [
      `${f.file_name} is a ${i.format} LoRA for ${i.architecture === 'unknown' ? 'an undetermined base model' : i.architecture}`,
      i.rank !== null ? `, rank ${i.rank}, alpha ${i.alpha}` : '',
      `, ${i.targets.modules} adapted modules${i.targets.text_encoder ? ' (text encoder included)' : ''}.`,
      i.trigger_words.length ? ` Trigger words: ${i.trigger_words.join(', ')}.` : ' No trigger word is recorded in the file.',
      i.warnings.length ? ` Warnings: ${i.warnings.join(' ')}` : '',
      ' Register it with lora_import to use it.',
    ];
    return ok(i, parts.join(''));
  },
});
