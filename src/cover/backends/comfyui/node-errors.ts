/**
 * Turning a ComfyUI 400 answer from `POST /prompt` into sentences a person or a model can act on
 * (CONTRACTS.md §1.1). Two shapes exist:
 * - current: `{error: {type, message, details, extra_info}, node_errors: {id: {errors: [...], class_type, ...}}}`
 * - 2024:    `{error: "no prompt", node_errors: []}` (error a string, node_errors an array)
 */
import { z } from 'zod';

const ErrorObjSchema = z.looseObject({
  type: z.string().optional(),
  message: z.string().optional(),
  details: z.string().optional(),
  extra_info: z.record(z.string(), z.unknown()).nullish(),
});

const NodeErrorSchema = z.looseObject({
  errors: z.array(ErrorObjSchema).optional(),
  class_type: z.string().optional(),
  dependent_outputs: z.array(z.unknown()).optional(),
});

/** Both 400 shapes, parsed tolerantly. */
export const PromptErrorBodySchema = z.looseObject({
  error: z.union([z.string(), ErrorObjSchema]).optional(),
  node_errors: z.union([z.record(z.string(), NodeErrorSchema), z.array(z.unknown())]).optional(),
});

type ErrorObj = z.infer<typeof ErrorObjSchema>;

/** "message: details" without repeating a details string that only echoes the message. */
function describe(e: ErrorObj): string {
  const message = e.message?.trim() || e.type || 'error';
  const details = e.details?.trim();
  if (!details || details === message) return message;
  return /[.!?]$/.test(message) ? `${message} ${details}` : `${message}: ${details}`;
}

const sentence = (s: string): string => (/[.!?]$/.test(s) ? s : `${s}.`);

/**
 * Readable sentence(s) from a `POST /prompt` 400 body, in either shape. Per-node errors come first
 * ("Node 10 (LoraLoader): Value not in list: lora_name: 'x' not in [...]") because they say what to change;
 * the top-level message is kept when there are none. Unknown bodies are quoted (shortened).
 */
export function formatNodeErrors(body: unknown): string {
  const parsed = PromptErrorBodySchema.safeParse(body);
  if (!parsed.success || (parsed.data.error === undefined && parsed.data.node_errors === undefined)) {
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    return `ComfyUI refused the workflow with an unexpected answer: ${(raw ?? '').slice(0, 300)}`;
  }
  const { error, node_errors: nodeErrors } = parsed.data;
  const parts: string[] = [];
  if (nodeErrors && !Array.isArray(nodeErrors)) {
    for (const [id, ne] of Object.entries(nodeErrors)) {
      const errs = (ne.errors ?? []).map(describe);
      if (errs.length === 0) continue;
      parts.push(`Node ${id}${ne.class_type ? ` (${ne.class_type})` : ''}: ${errs.join('; ')}`);
    }
  }
  let head: string;
  if (typeof error === 'string') head = error;
  else if (error) {
    // prompt_outputs_failed_validation repeats every node error in `details`; the per-node lines say it better.
    head = parts.length > 0 ? error.message?.trim() || error.type || 'invalid prompt' : describe(error);
  } else head = 'invalid prompt';
  const lines = [`ComfyUI refused the workflow: ${sentence(head)}`, ...parts.map(sentence)];
  return lines.join(' ');
}
