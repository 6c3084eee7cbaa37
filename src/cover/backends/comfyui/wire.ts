/**
 * zod schemas for the ComfyUI payloads the client reads (CONTRACTS.md §1.1-1.9). Loose on purpose:
 * fields added by newer servers pass through, fields older servers lack are optional.
 */
import { z } from 'zod';

/** A file the server produced or holds: what `GET /view` takes. */
export const ImageRefSchema = z.looseObject({
  filename: z.string(),
  subfolder: z.string().default(''),
  type: z.string().default('output'),
});
export type ImageRef = z.infer<typeof ImageRefSchema>;

/** 200 answer of `POST /prompt`. */
export const QueuedPromptSchema = z.looseObject({
  prompt_id: z.string(),
  number: z.number(),
  node_errors: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
});

/** One `[event_name, data]` pair of `status.messages`. */
const StatusMessageSchema = z.tuple([z.string(), z.unknown()]).rest(z.unknown());

/** HistoryEntry (§1.3). */
export const HistoryEntrySchema = z.looseObject({
  prompt: z.array(z.unknown()).optional(),
  outputs: z.record(z.string(), z.looseObject({ images: z.array(ImageRefSchema).optional() })).default({}),
  status: z
    .looseObject({
      status_str: z.string().optional(),
      completed: z.boolean().optional(),
      messages: z.array(StatusMessageSchema).default([]),
    })
    .optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
});
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;

/** `GET /history/{id}`: `{}` until the prompt is done. */
export const HistoryAnswerSchema = z.record(z.string(), HistoryEntrySchema);

/** `execution_error` data (§1.9), also stored in history `status.messages`. */
export const ExecutionErrorSchema = z.looseObject({
  prompt_id: z.string().optional(),
  node_id: z.union([z.string(), z.number()]).optional(),
  node_type: z.string().optional(),
  exception_message: z.string().optional(),
  exception_type: z.string().optional(),
});

/** `execution_interrupted` data. */
export const ExecutionInterruptedSchema = z.looseObject({
  prompt_id: z.string().optional(),
  node_id: z.union([z.string(), z.number()]).nullish(),
  node_type: z.string().nullish(),
});

/** Any WebSocket text frame. */
export const WsEventSchema = z.object({ type: z.string(), data: z.record(z.string(), z.unknown()).default({}) });
export type ComfyWsEvent = z.infer<typeof WsEventSchema>;

/** `progress` data. */
export const ProgressSchema = z.looseObject({
  value: z.number(),
  max: z.number(),
  prompt_id: z.string().optional(),
  node: z.union([z.string(), z.number()]).nullish(),
});

/** `POST /upload/image` answer. */
export const UploadedImageSchema = z.looseObject({
  name: z.string(),
  subfolder: z.string().default(''),
  type: z.string().default('input'),
});
export type UploadedImage = z.infer<typeof UploadedImageSchema>;

/** `GET /prompt` answer. */
export const PromptInfoSchema = z.looseObject({
  exec_info: z.looseObject({ queue_remaining: z.number() }),
});

/** `GET /system_stats` (§1.7); every field optional because versions differ. */
export const SystemStatsSchema = z.looseObject({
  system: z
    .looseObject({
      os: z.string().optional(),
      comfyui_version: z.string().optional(),
      python_version: z.string().optional(),
      pytorch_version: z.string().optional(),
      ram_total: z.number().optional(),
      ram_free: z.number().optional(),
    })
    .default({}),
  devices: z
    .array(
      z.looseObject({
        name: z.string().optional(),
        type: z.string().optional(),
        index: z.number().nullish(),
        vram_total: z.number().optional(),
        vram_free: z.number().optional(),
      }),
    )
    .default([]),
});
export type SystemStats = z.infer<typeof SystemStatsSchema>;

/** `GET /models/{folder}`: a plain array of file names. */
export const ModelListSchema = z.array(z.string());
