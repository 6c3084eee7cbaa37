/**
 * A worker's side of the shared GPU pool. Every slot of every server (a ComfyUI server runs one prompt at a
 * time: one slot; Replicate: several) is a loop that:
 *
 * 1. holds the slot's cluster-wide lock (a PostgreSQL advisory lock, SlotLocks), so two workers never send one
 *    server more prompts than it runs; a killed worker's locks go with its connection;
 * 2. takes the next draft of the slot's backend from the queue, generates it, and hands the image to delivery
 *    (composing and storing run beside the server's next image);
 * 3. near the end of the queue, lets the draft go to the other servers when they can finish every waiting draft
 *    before this one could finish one (earliest finish time, as the in-process pool does), with speeds every
 *    worker measures from the drafts table;
 * 4. when its server does not answer, lets the slot go and probes the server with growing pauses.
 *
 * Idle slots let their lock go, so a worker that has nothing to do holds nothing.
 */
import { isLoraloopError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { defaultSleep } from '../../core/retry.js';
import type { QueueJob, QueueSpec, SlotLocks } from '../../store/queue/index.js';
import type { PoolWorker } from '../backends/pool.js';
import type { BackendName } from '../backends/registry.js';
import { createBatchCache, draftQueue, generateDraft, type DraftJob, type QueueBatchDeps } from './drafts.js';

export interface DraftSlotOptions {
  slots: SlotLocks;
  signal: AbortSignal;
  /** Backends whose drafts this worker runs; default: each one configured here (local always). */
  backends?: BackendName[];
  /**
   * Longest pause of an idle slot before it looks again (ms, default 1000). A send wakes it at once; the look
   * catches what nobody announces (drafts given back after their worker died, a lost listen connection).
   */
  pollMs?: number;
}

const DEFAULT_IDLE_MS = 1000;

/** Whether an error says the server is unusable (rather than the draft being wrong). */
function serverDown(e: unknown): boolean {
  if (!isLoraloopError(e)) return true;
  return e.code === 'UPSTREAM_UNREACHABLE' || e.code === 'TIMEOUT' || e.code === 'UPSTREAM_ERROR';
}

/** Run draft slots until `signal` aborts; resolves once every slot has stopped and every delivery ended. */
export async function runDraftSlots(s: QueueBatchDeps, o: DraftSlotOptions): Promise<void> {
  const backends = o.backends ?? configuredBackends(s);
  const batches = createBatchCache(s);
  const speeds = createSpeeds(s);
  const byQueue = new Map<string, QueueWatch>();
  const watchers = (q: QueueSpec): QueueWatch => byQueue.get(q.name) ?? byQueue.set(q.name, createWatch(s, q, o)).get(q.name)!;
  const loops: Array<Promise<void>> = [];
  for (const b of backends) {
    let workers: PoolWorker[];
    try {
      workers = s.backends.workers(b);
    } catch (e) {
      s.logger.warn('this worker runs no drafts of a backend it cannot reach', { backend: b, error: String(e) });
      continue;
    }
    for (const w of workers) {
      const n = Math.max(1, Math.floor(w.concurrency));
      for (let i = 0; i < n; i++) loops.push(slotLoop(s, o, b, w, i, workers, batches, speeds, watchers));
    }
  }
  await Promise.all(loops);
}

function configuredBackends(s: QueueBatchDeps): BackendName[] {
  const out: BackendName[] = ['local'];
  if (s.config.comfyuiUrls.length) out.push('comfyui');
  if (s.config.replicate.apiToken) out.push('replicate');
  return out;
}

async function slotLoop(
  s: QueueBatchDeps,
  o: DraftSlotOptions,
  backend: BackendName,
  w: PoolWorker,
  slot: number,
  peers: PoolWorker[],
  batches: ReturnType<typeof createBatchCache>,
  speeds: Speeds,
  watcher: (q: QueueSpec) => QueueWatch,
): Promise<void> {
  const q = draftQueue(backend);
  // The local renderer is this host's CPU: nothing to share with other hosts, so no lock.
  const key = backend === 'local' ? null : `${backend}:${w.id}#${slot}`;
  const log: Logger = s.logger.child({ server: w.id, slot });
  const pollMs = o.pollMs ?? DEFAULT_IDLE_MS;
  const lockPollMs = Math.max(pollMs, 1000);
  const ready = watcher(q);
  const deliveries = new Set<Promise<unknown>>();
  const peerIds = peers.map((p) => p.id);
  let probe = 500;
  const pause = (ms: number) => defaultSleep(ms * (0.75 + Math.random() * 0.5), o.signal).catch(() => undefined);
  const release = async () => {
    if (key) await o.slots.release(key).catch(() => undefined);
  };
  while (!o.signal.aborted) {
    try {
      // One shared look at the queue per worker and backend: idle slots cost the database nothing more.
      if ((await ready.waiting()) === 0) {
        await release();
        await ready.changed();
        continue;
      }
      if (key && !(await o.slots.tryAcquire(key))) {
        // Another worker drives this slot; look again now and then (it may die).
        await pause(lockPollMs);
        continue;
      }
      const waiting = await ready.waiting();
      if (waiting === 0) continue;
      if (await speeds.shouldDecline(w, peers, waiting)) {
        await release();
        await pause(Math.min(pollMs, 100));
        continue;
      }
      const [job] = await s.queue.fetch<DraftJob>(q);
      if (!job) {
        await pause(50); // another slot took the last one
        continue;
      }
      const letGo = s.queue.hold(job as QueueJob<unknown>);
      let kept = false;
      try {
        const { outcome, deliver } = await generateDraft(s, batches, { worker: w, peers: peerIds }, job, o.signal);
        if (outcome.kind === 'declined') {
          // Its server refused this draft before: give the other servers' slots a moment to take it.
          await pause(Math.min(pollMs, 500));
          continue;
        }
        if (outcome.kind === 'failed' && serverDown(outcome.error)) {
          log.warn('server did not answer; the slot waits and probes it', { probe_ms: probe });
          await release();
          await pause(probe);
          probe = Math.min(probe * 2, 8000);
          await waitUntilUp(w, o.signal, probe);
          continue;
        }
        probe = 500;
        if (deliver) {
          kept = true;
          const p = deliver()
            .catch((e: unknown) => log.error('draft delivery failed', { error: String(e) }))
            .finally(() => {
              letGo();
              deliveries.delete(p);
            });
          deliveries.add(p);
          // Compose beside the next image, but not more than two behind.
          if (deliveries.size > 2) await Promise.race(deliveries);
        }
      } finally {
        if (!kept) letGo();
      }
    } catch (e) {
      if (o.signal.aborted) break;
      log.warn('draft slot error; it goes on', { error: e instanceof Error ? e.message : String(e) });
      await release();
      await pause(1000);
    }
  }
  await Promise.allSettled(deliveries);
  await release();
}

async function waitUntilUp(w: PoolWorker, signal: AbortSignal, ms: number): Promise<void> {
  if (!w.queueLength) return;
  await w.queueLength().catch(() => defaultSleep(ms, signal).catch(() => undefined));
}

/** How many drafts wait on one queue, read once per poll interval for every slot of this worker. */
interface QueueWatch {
  waiting(): Promise<number>;
  /** Resolves after the next look at the queue (or when the worker stops). */
  changed(): Promise<void>;
}

function createWatch(s: QueueBatchDeps, q: QueueSpec, o: DraftSlotOptions): QueueWatch {
  const pollMs = o.pollMs ?? DEFAULT_IDLE_MS;
  // A batch's drafts are announced when they are sent: idle slots start at once, not at their next look.
  const sent = s.queue.onWork(q);
  o.signal.addEventListener('abort', () => sent.close(), { once: true });
  let last: { at: number; n: Promise<number> } | undefined;
  const read = (): Promise<number> => {
    if (last && Date.now() - last.at < 100) return last.n;
    const n = s.queue.waiting(q).catch(() => 0);
    last = { at: Date.now(), n };
    return n;
  };
  let tick: Promise<void> | undefined;
  return {
    waiting: read,
    changed() {
      tick ??= sent.next(pollMs, o.signal).then(() => {
        tick = undefined;
        last = undefined; // news: the next look reads the queue
      });
      return tick;
    },
  };
}

interface Speeds {
  /** Can the other servers finish every waiting draft before this one finishes one? */
  shouldDecline(me: PoolWorker, peers: PoolWorker[], waiting: number): Promise<boolean>;
}

/**
 * Each server's time per image over the last few minutes, from the drafts every worker recorded, read at
 * most once a second per worker. Only consulted near the end of the queue.
 */
function createSpeeds(s: QueueBatchDeps): Speeds {
  let at = 0;
  let cached: Map<string, { ms: number; last: number }> = new Map();
  const read = async () => {
    if (Date.now() - at < 1000) return cached;
    at = Date.now();
    const rows = await s.store.generation.recentDraftTimes(new Date(Date.now() - 5 * 60_000).toISOString());
    const by = new Map<string, number[]>();
    const last = new Map<string, number>();
    for (const r of rows) {
      (by.get(r.server) ?? by.set(r.server, []).get(r.server)!).push(r.elapsed_ms);
      last.set(r.server, Math.max(last.get(r.server) ?? 0, Date.parse(r.updated_at)));
    }
    cached = new Map([...by].map(([k, v]) => [k, { ms: median(v.slice(-20)), last: last.get(k) ?? 0 }]));
    return cached;
  };
  return {
    async shouldDecline(me, peers, waiting) {
      // Only the tail matters: with more drafts waiting than slots, every slot should take one.
      const slots = peers.reduce((a, p) => a + Math.max(1, Math.floor(p.concurrency)), 0);
      if (waiting > slots) return false;
      const speeds = await read();
      const mine = speeds.get(me.id);
      if (!mine) return false; // unmeasured: take it, that is how it gets measured
      let capacity = 0;
      for (const p of peers) {
        if (p.id === me.id) continue;
        const sp = speeds.get(p.id);
        // A server nobody finished a draft on lately may be down: count on it for nothing.
        if (!sp || Date.now() - sp.last > Math.max(60_000, 4 * sp.ms)) continue;
        // Each of its slots is, on average, half-way through an image.
        const free = sp.ms / 2;
        if (free + sp.ms < mine.ms) capacity += Math.max(1, Math.floor(p.concurrency)) * Math.floor((mine.ms - free) / sp.ms);
      }
      return capacity >= waiting;
    },
  };
}

function median(v: number[]): number {
  const a = [...v].sort((x, y) => x - y);
  return a[Math.floor(a.length / 2)] ?? 0;
}
