/**
 * zod schema of a LoRA inspection: the `lora_inspect` tool's output schema and the TypeScript type.
 * Field names are snake_case because they go on the wire (MCP structuredContent, `--json`).
 */
import { z } from 'zod';

export const LoraFormatSchema = z
  .enum(['kohya', 'peft', 'diffusers', 'diffusers-legacy', 'cloneofsimo', 'unknown'])
  .describe(
    'Key naming style: kohya (lora_unet_/lora_te*_ with .lora_down/.lora_up/.alpha), peft (.lora_A/.lora_B), ' +
      'diffusers (.lora.down/.lora.up, possibly mixed with lora_A/lora_B), diffusers-legacy (attention processors, _lora.down), ' +
      'cloneofsimo (lora_diffusion <target>:<i>:down), unknown (no LoRA keys recognised).',
  );

export const LoraArchitectureSchema = z
  .enum(['sd1', 'sd2', 'sdxl', 'flux1', 'unknown'])
  .describe('Base model family the LoRA was trained for; unknown when neither metadata nor key shapes decide it (or it is another family such as SD3).');
export type LoraArchitecture = z.infer<typeof LoraArchitectureSchema>;

export const LoraComponentSchema = z
  .enum(['unet', 'transformer', 'text_encoder', 'text_encoder_2', 'text_encoder_3', 'other'])
  .describe('Model component in diffusers pipeline naming (text_encoder = CLIP-L, text_encoder_2 = SDXL CLIP-G, text_encoder_3 = T5).');

export const LoraTargetsSchema = z
  .object({
    components: z.array(LoraComponentSchema).describe('Components the LoRA adapts, denoiser first.'),
    modules: z.number().int().nonnegative().describe('Number of adapted modules (down/A weights) in total.'),
    modules_by_component: z
      .record(z.string(), z.number().int().nonnegative())
      .describe('Adapted modules per component, e.g. {"unet": 192, "text_encoder": 72}.'),
    text_encoder: z.boolean().describe('True when any text encoder is adapted (the LoRA changes prompt understanding too).'),
  })
  .describe('Which parts of the base model the LoRA changes.');

export const LoraTensorsSchema = z
  .object({
    count: z.number().int().nonnegative().describe('Number of tensors in the file (excluding __metadata__).'),
    dtypes: z.record(z.string(), z.number().int().nonnegative()).describe('Tensor count per dtype, e.g. {"F16": 792}.'),
    total_bytes: z.number().int().nonnegative().describe('Size of the tensor data section in bytes.'),
    parameters: z.number().int().nonnegative().describe('Total number of elements over all tensors.'),
  })
  .describe('Tensor statistics from the header (no tensor data is read).');

export const LoraInspectionSchema = z
  .object({
    format: LoraFormatSchema,
    architecture: LoraArchitectureSchema,
    rank: z.number().int().positive().nullable().describe('Most common LoRA rank (first dimension of the down/A weights); null when no LoRA pairs were found.'),
    rank_min: z.number().int().positive().nullable().describe('Smallest rank seen; differs from rank_max when ranks are mixed.'),
    rank_max: z.number().int().positive().nullable().describe('Largest rank seen.'),
    alpha: z.number().nullable().describe('Most common alpha. Read from the .alpha scalars when present; otherwise equal to rank (scale 1.0), as ComfyUI and kohya treat a missing alpha.'),
    alpha_source: z
      .enum(['tensors', 'default_rank', 'none'])
      .describe('tensors: decoded from .alpha scalars; default_rank: no .alpha tensors, so alpha = rank; none: no rank known.'),
    scale: z.number().nullable().describe('alpha / rank: the factor applied to up·down at strength 1.0.'),
    targets: LoraTargetsSchema,
    tensors: LoraTensorsSchema,
    metadata: z.record(z.string(), z.string()).describe('The raw __metadata__ string map, exactly as stored.'),
    metadata_json: z
      .record(z.string(), z.unknown())
      .describe('Metadata values that are small JSON objects/arrays (e.g. ss_network_args, ss_dataset_dirs, software), parsed. ss_tag_frequency is summarised in tags instead.'),
    trigger_words: z
      .array(z.string())
      .describe('Words to put in the prompt: modelspec.trigger_phrase, then kohya ss_datasets class_tokens, then ss_tag_frequency <n>_<name> dirs whose name the captions carry, then ss_output_name as a weak fallback. See evidence for the source of each.'),
    tags: z.array(z.string()).describe('Up to 20 most frequent caption tags from ss_tag_frequency (or modelspec.tags), most frequent first.'),
    warnings: z.array(z.string()).describe('Things a user should know: mixed ranks or alphas, metadata that contradicts the weights, unpaired weights.'),
    evidence: z.array(z.string()).describe('One sentence per decision naming the keys, shapes or metadata that decided each field.'),
    header_bytes: z.number().int().nonnegative().describe('Length N of the JSON header in bytes.'),
    file_bytes: z.number().int().nonnegative().describe('Size of the whole file in bytes.'),
  })
  .describe('What a LoRA .safetensors file is, read from its header alone.');

/** What `lora_inspect` reports about one LoRA file. */
export type LoraInspection = z.infer<typeof LoraInspectionSchema>;
export type LoraComponent = z.infer<typeof LoraComponentSchema>;
