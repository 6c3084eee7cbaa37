import { z } from 'zod';
import { ok } from '../core/result.js';
import { defineTool } from './types.js';

const statusSchema = z.object({
  backend: z.enum(['local', 'comfyui', 'replicate']).describe('Backend name.'),
  id: z.string().describe('Server base URL for ComfyUI, else the backend name.'),
  configured: z.boolean().describe('Whether its environment variables are set.'),
  reachable: z.boolean().nullable().describe('Whether it answered just now; null when not configured.'),
  queue_length: z.number().int().nullable().describe('Prompts pending plus running on the server; null when unknown.'),
  checkpoints: z.array(z.string()).describe('Checkpoints (ComfyUI files, or the Replicate runner model).'),
  loras: z.array(z.string()).describe('LoRAs it can use (ComfyUI files; registry LoRAs with a Replicate version or weights).'),
  device: z.string().nullable().describe('GPU or device name when known.'),
  note: z.string().nullable().describe('Why it is unreachable or not configured, and what to do.'),
});

export const backendsStatusTool = defineTool({
  name: 'backends_status',
  title: 'Generation backends status',
  description:
    'Report each image backend: local (always there), every ComfyUI server of COMFYUI_URLS, Replicate (REPLICATE_API_TOKEN): configured or not, reachable, queue length, and the checkpoints and LoRAs it has.',
  input: z.object({}),
  output: z.object({ backends: z.array(statusSchema).describe('One entry per backend; one per ComfyUI server.') }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  // The servers as the workers see them: a face with a queue needs no GPU address of its own.
  worker: true,
  async handler(ctx) {
    const list = await ctx.services.backends.status();
    const line = (b: (typeof list)[number]): string =>
      !b.configured
        ? `${b.backend}: not configured (${b.note ?? ''})`
        : b.reachable === false
          ? `${b.backend} ${b.id}: unreachable (${b.note ?? 'no answer'})`
          : `${b.backend} ${b.id}: up${b.queue_length !== null ? `, queue ${b.queue_length}` : ''}${b.checkpoints.length ? `, ${b.checkpoints.length} checkpoint(s)` : ''}${b.loras.length ? `, ${b.loras.length} LoRA(s)` : ''}${b.device ? `, ${b.device}` : ''}`;
    return ok({ backends: list }, `${list.map(line).join('. ')}.`);
  },
});
