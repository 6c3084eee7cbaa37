/**
 * The GPU pool scheduler: N tasks across servers of different speeds, each server with its own concurrency.
 *
 * How work is distributed: one shared queue, and every free slot of every server pulls from it (work
 * stealing), which keeps every server busy without knowing speeds in advance. Speeds are measured as the
 * batch runs (a moving average of each server's time per image); near the end of the queue a slot declines a
 * task when the other servers can finish all remaining tasks sooner than it could finish one (earliest finish
 * time), so a slow server does not take the last image and make everyone wait for it.
 *
 * Failures: an attempt that fails goes back to the front of the queue. A server that cannot be reached (or
 * times out) is taken out and probed until it answers again; a server that refuses a task for a reason of its
 * own (it lacks the checkpoint) is not given that task again. No task is run twice at once, and a result that
 * arrives after its attempt was abandoned is dropped, so each task is delivered exactly once.
 */
import { isLoraloopError } from '../../core/errors.js';
import { defaultSleep } from '../../core/retry.js';
import type { ImageBackend } from './types.js';

/** One server (or service) of the pool. */
export interface PoolWorker {
  /** Stable label: the server's base URL, `replicate`, `local`. */
  id: string;
  backend: ImageBackend;
  /** Tasks this server runs at once (ComfyUI runs one prompt at a time: 1; Replicate: several). */
  concurrency: number;
  /** Pending + running prompts on the server; throws when it is unreachable. Used for probes and backlog. */
  queueLength?: () => Promise<number>;
  /** Time per image assumed before the first measurement (ms). */
  estimateMs?: number;
}

/** What happened to one task. */
export interface PoolTaskOutcome<T> {
  task: T;
  status: 'done' | 'failed';
  worker: string | null;
  attempts: number;
  error?: string;
  /** The last attempt's error as thrown (keeps its code and hint). */
  cause?: unknown;
}

/** Per-server figures of a run. */
export interface PoolWorkerReport {
  id: string;
  done: number;
  failed_attempts: number;
  /** Measured time per image (moving average), null when it made none. */
  ms_per_image: number | null;
  /** Whether it was out of the pool when the run ended. */
  down: boolean;
}

export interface PoolReport<T> {
  outcomes: Array<PoolTaskOutcome<T>>;
  workers: PoolWorkerReport[];
  /** Images per server id. */
  distribution: Record<string, number>;
  makespan_ms: number;
}

/** Hooks and tuning of {@link runPool}. */
export interface PoolOptions<T, R> {
  /** Run one attempt of `task` on `worker`; must honour `signal`. */
  run: (worker: PoolWorker, task: T, signal: AbortSignal) => Promise<R>;
  /**
   * Store a result. Called once per task; a throw counts as a failed attempt (the task is retried).
   * Deliveries run beside the servers' work (a server starts its next image while the last one is stored).
   */
  deliver: (task: T, worker: PoolWorker, result: R, elapsedMs: number) => Promise<void>;
  /** Told about every failed attempt (logging, draft bookkeeping). */
  onAttemptFailed?: (task: T, worker: PoolWorker, error: unknown, willRetry: boolean) => void;
  /** Attempts per task before it is given up (default 4). */
  maxAttempts?: number;
  /** Per-attempt deadline: `max(minTimeoutMs, timeoutFactor * measured time per image)`. Defaults 120 s and 6. */
  minTimeoutMs?: number;
  timeoutFactor?: number;
  /** First probe of a server that went down after this long, doubling up to 8x (default 500 ms). */
  probeMs?: number;
  /** Give up the remaining tasks when no server has been usable for this long (default 60 s). */
  giveUpMs?: number;
  signal?: AbortSignal;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** A stable key per task, for logs (default: its index). */
  key?: (task: T) => string;
}

interface Slot {
  busySince: number | null;
}

interface WorkerState {
  w: PoolWorker;
  slots: Slot[];
  ema: number | null;
  done: number;
  failed: number;
  down: boolean;
  downSince: number;
  consecutiveFailures: number;
  /** Backlog of other people's prompts seen at start (ms of work ahead of ours). */
  backlogUntil: number;
}

interface TaskState<T> {
  task: T;
  attempts: number;
  /** Servers that refused this task for a reason of their own. */
  refusedBy: Set<string>;
  status: 'queued' | 'running' | 'done' | 'failed';
  worker: string | null;
  error?: string;
  cause?: unknown;
}

/** Errors that mean "this server cannot do this task" rather than "this server is broken". */
export function refusesTask(e: unknown): boolean {
  return isLoraloopError(e) && (e.code === 'INVALID_INPUT' || e.code === 'NOT_FOUND');
}

/** Run every task once across the pool. Resolves when each task is done or given up. */
export async function runPool<T, R>(workers: PoolWorker[], tasks: T[], opts: PoolOptions<T, R>): Promise<PoolReport<T>> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? defaultSleep;
  const maxAttempts = opts.maxAttempts ?? 4;
  const minTimeout = opts.minTimeoutMs ?? 120_000;
  const factor = opts.timeoutFactor ?? 6;
  const probeMs = opts.probeMs ?? 500;
  const giveUpMs = opts.giveUpMs ?? 60_000;
  const started = now();

  const ws: WorkerState[] = workers.map((w) => ({
    w,
    slots: Array.from({ length: Math.max(1, Math.floor(w.concurrency)) }, () => ({ busySince: null })),
    ema: w.estimateMs ?? null,
    done: 0,
    failed: 0,
    down: false,
    downSince: 0,
    consecutiveFailures: 0,
    backlogUntil: started,
  }));
  const ts: Array<TaskState<T>> = tasks.map((task) => ({ task, attempts: 0, refusedBy: new Set(), status: 'queued', worker: null }));
  const queue: Array<TaskState<T>> = [...ts];
  const deliveries = new Set<Promise<void>>();
  let lastUsable = now();

  // One "something changed" signal that idle slots wait on.
  let wake: () => void = () => {};
  let changed = new Promise<void>((r) => (wake = r));
  const notify = (): void => {
    const w = wake;
    changed = new Promise<void>((r) => (wake = r));
    w();
  };
  const waitChange = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      void changed.then(() => {
        clearTimeout(t);
        resolve();
      });
    });

  const finished = (): boolean => ts.every((t) => t.status === 'done' || t.status === 'failed');
  const aborted = (): boolean => opts.signal?.aborted === true;

  /** Can other live slots finish every queued task this slot could take before this slot finishes one? */
  function shouldDecline(me: WorkerState, task: TaskState<T>): boolean {
    if (me.ema === null) return false; // unmeasured: take it, that is how we measure
    const t = now();
    const myFinish = Math.max(t, me.backlogUntil) + me.ema;
    const eligible = queue.filter((q) => !q.refusedBy.has(me.w.id)).length;
    let capacity = 0;
    for (const o of ws) {
      if (o === me || o.down || o.ema === null || task.refusedBy.has(o.w.id)) continue;
      for (const s of o.slots) {
        const free = Math.max(s.busySince === null ? t : s.busySince + o.ema, o.backlogUntil, t);
        if (free + o.ema < myFinish) capacity += Math.floor((myFinish - free) / o.ema);
      }
    }
    return capacity >= eligible;
  }

  function takeFor(me: WorkerState): TaskState<T> | undefined {
    const i = queue.findIndex((q) => !q.refusedBy.has(me.w.id));
    if (i < 0) return undefined;
    const cand = queue[i] as TaskState<T>;
    if (shouldDecline(me, cand)) return undefined;
    queue.splice(i, 1);
    return cand;
  }

  /** Give up tasks that no live server will take (every server refused them). */
  function dropUnplaceable(): void {
    for (let i = queue.length - 1; i >= 0; i--) {
      const q = queue[i] as TaskState<T>;
      if (ws.every((o) => q.refusedBy.has(o.w.id))) {
        queue.splice(i, 1);
        q.status = 'failed';
        q.error ??= 'every server refused it';
      }
    }
  }

  async function probe(me: WorkerState): Promise<void> {
    let delay = probeMs;
    while (me.down && !finished() && !aborted()) {
      await sleep(delay, opts.signal).catch(() => undefined);
      if (finished() || aborted()) return;
      try {
        if (me.w.queueLength) await me.w.queueLength();
        me.down = false;
        me.consecutiveFailures = 0;
        notify();
        return;
      } catch {
        delay = Math.min(delay * 2, probeMs * 8);
      }
    }
  }

  async function attempt(me: WorkerState, slot: Slot, t: TaskState<T>): Promise<void> {
    t.status = 'running';
    t.attempts += 1;
    t.worker = me.w.id;
    const ctl = new AbortController();
    const onAbort = (): void => ctl.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timeoutMs = Math.max(minTimeout, factor * (me.ema ?? 0));
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    const t0 = now();
    slot.busySince = t0;
    try {
      const result = await opts.run(me.w, t.task, ctl.signal);
      if (ctl.signal.aborted && !aborted()) throw new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`);
      const ms = now() - t0;
      me.ema = me.ema === null ? ms : 0.5 * me.ema + 0.5 * ms;
      me.consecutiveFailures = 0;
      lastUsable = now();
      const d = opts
        .deliver(t.task, me.w, result, ms)
        .then(() => {
          t.status = 'done';
          me.done += 1;
        })
        .catch((e: unknown) => fail(me, t, e, false))
        .finally(() => {
          deliveries.delete(d);
          notify();
        });
      deliveries.add(d);
    } catch (e) {
      const timedOut = ctl.signal.aborted && !aborted();
      fail(me, t, timedOut ? new Error(`${me.w.id} gave no answer within ${Math.round(timeoutMs / 1000)} s`) : e, !refusesTask(e));
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      slot.busySince = null;
      notify();
    }
  }

  function fail(me: WorkerState, t: TaskState<T>, e: unknown, serverFault: boolean): void {
    me.failed += 1;
    t.error = e instanceof Error ? e.message : String(e);
    t.cause = e;
    if (refusesTask(e)) t.refusedBy.add(me.w.id);
    const retry = !aborted() && t.attempts < maxAttempts;
    opts.onAttemptFailed?.(t.task, me.w, e, retry);
    if (retry) {
      t.status = 'queued';
      queue.unshift(t);
    } else {
      t.status = 'failed';
    }
    if (serverFault) {
      me.consecutiveFailures += 1;
      if (!me.down) {
        me.down = true;
        me.downSince = now();
        void probe(me);
      }
    }
    dropUnplaceable();
  }

  async function slotLoop(me: WorkerState, slot: Slot): Promise<void> {
    while (!finished() && !aborted()) {
      if (me.down) {
        await waitChange(probeMs);
        continue;
      }
      const t = takeFor(me);
      if (!t) {
        await waitChange(me.ema === null ? 50 : Math.max(5, Math.min(200, me.ema / 8)));
        continue;
      }
      await attempt(me, slot, t);
    }
  }

  // Backlog: other people's prompts already queued on a server delay our first image there.
  await Promise.all(
    ws.map(async (o) => {
      if (!o.w.queueLength) return;
      try {
        const q = await o.w.queueLength();
        if (q > 0 && o.ema !== null) o.backlogUntil = started + q * o.ema;
      } catch {
        o.down = true;
        o.downSince = now();
        void probe(o);
      }
    }),
  );

  const watchdog = (async () => {
    // All servers down for too long: give up the queue so the run ends with a clear error.
    while (!finished() && !aborted()) {
      await waitChange(Math.min(1000, giveUpMs));
      if (ws.every((o) => o.down) && now() - Math.max(lastUsable, ...ws.map((o) => o.downSince)) > giveUpMs) {
        for (const q of queue.splice(0)) {
          q.status = 'failed';
          q.error = `no server was reachable for ${Math.round(giveUpMs / 1000)} s (last error: ${q.error ?? 'none'})`;
        }
        notify();
      }
    }
  })();

  await Promise.all(ws.flatMap((o) => o.slots.map((s) => slotLoop(o, s))));
  while (deliveries.size > 0) await Promise.all([...deliveries]);
  if (aborted()) {
    for (const q of ts) if (q.status === 'queued' || q.status === 'running') q.status = 'failed';
  }
  notify();
  await watchdog;

  const distribution: Record<string, number> = {};
  for (const o of ws) distribution[o.w.id] = o.done;
  return {
    outcomes: ts.map((t) => ({
      task: t.task,
      status: t.status === 'done' ? 'done' : 'failed',
      worker: t.status === 'done' ? t.worker : null,
      attempts: t.attempts,
      ...(t.status !== 'done' ? { error: aborted() ? 'canceled' : (t.error ?? 'not attempted'), cause: t.cause } : {}),
    })),
    workers: ws.map((o) => ({ id: o.w.id, done: o.done, failed_attempts: o.failed, ms_per_image: o.ema === null ? null : Math.round(o.ema), down: o.down })),
    distribution,
    makespan_ms: now() - started,
  };
}
