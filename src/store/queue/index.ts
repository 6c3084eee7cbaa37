export type { JobQueue, QueueJob, QueueSpec, SendOptions, SlotLocks } from './types.js';
export { createBossQueue } from './boss.js';
export { createSlotLocks } from './slots.js';
export type { Subscription } from './signals.js';
