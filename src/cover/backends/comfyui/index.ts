/** ComfyUI backend: client, workflow builder, name resolution, error formatting. */
export { createComfyBackend, inferBaseModel, ComfyProviderOptionsSchema } from './backend.js';
export type { ComfyBackendOptions, ComfyProviderOptions } from './backend.js';
export { createComfyClient } from './client.js';
export type {
  ComfyClient,
  ComfyClientOptions,
  ComfyRun,
  FollowOptions,
  QueueOptions,
  QueuedPrompt,
  UploadOptions,
  WebSocketConstructor,
  WebSocketLike,
} from './client.js';
export { buildWorkflow, SAVE_NODE_ID } from './workflow.js';
export type { ComfyLink, ComfyNode, ComfyWorkflow, ModelLoader, ResolvedGeneration } from './workflow.js';
export { formatNodeErrors } from './node-errors.js';
export { comboOptions, resolveModelName, resolveIdentifier, MODEL_EXTENSIONS } from './object-info.js';
export type { ObjectInfo, NodeInfo } from './object-info.js';
export type { HistoryEntry, ImageRef, SystemStats, UploadedImage, ComfyWsEvent } from './wire.js';
