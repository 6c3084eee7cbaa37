/** ComfyUI backend: what the backend registry builds (client, workflow, names and errors are its own modules). */
export { createComfyBackend } from './backend.js';
export type { ComfyClient, ComfyClientOptions } from './client.js';
