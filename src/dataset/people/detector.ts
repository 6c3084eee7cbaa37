/**
 * The people detector as the analysis sees it: `detect(rgb)` resolves with faces, people and body keypoints.
 * Nothing happens until the first call: then ONE worker thread starts (see worker.ts) and loads its models
 * (about 0.2-0.5 s), so a dataset_analyze on a captioned set, or a cold CLI start, pays nothing. The worker is
 * unref'd while idle (it never keeps a process alive) and restarted after a crash; a detector that cannot
 * start at all reports itself unavailable and the analysis goes on from captions alone.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LoraloopError } from '../../core/errors.js';
import type { DetectReply, PeopleDetection } from './types.js';

export type { PeopleDetection } from './types.js';

/** Pixels to look at: interleaved 8-bit RGB. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** True for a failure of one image only (the detector itself still works). */
export const isImageFailure = (e: unknown): boolean => e instanceof LoraloopError && e.details?.['scope'] === 'image';

/** Finds people in images. */
export interface PeopleDetector {
  detect(img: RgbImage): Promise<PeopleDetection>;
  /** Stop the worker (a later detect starts a new one). */
  close(): Promise<void>;
}

/**
 * The worker's entry file. Built code runs worker.js beside this file; tests and tsx run the TypeScript
 * source, which a plain worker cannot load, so the worker then gets tsx's loader.
 */
function startWorker(): Worker {
  const js = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { stdout: false, stderr: false });
  // Source run (vitest, tsx): register tsx's loader inside the worker, then load the .ts entry.
  // (require.resolve finds tsx's CommonJS build of the API; its ES module build sits beside it.)
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const ts = new URL('./worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(ts)}); });`;
  return new Worker(boot, { eval: true, stdout: false, stderr: false });
}

interface Pending {
  resolve: (d: PeopleDetection) => void;
  reject: (e: Error) => void;
}

/**
 * A worker idle this long is stopped (its models hold ~100 MB); the next image starts a new one. Long-lived
 * faces (MCP server, daemon) so do not keep the models after an analysis.
 */
const IDLE_STOP_MS = 60_000;

/** A detector backed by one lazily started worker thread. */
export function createPeopleDetector(opts: { idleStopMs?: number } = {}): PeopleDetector {
  const idleStopMs = opts.idleStopMs ?? IDLE_STOP_MS;
  let worker: Worker | null = null;
  let idleTimer: NodeJS.Timeout | null = null;
  let nextId = 1;
  const pending = new Map<number, Pending>();

  const failAll = (e: Error): void => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };

  const start = (): Worker => {
    const w = startWorker();
    w.on('message', (reply: DetectReply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new LoraloopError('INTERNAL', `The people detector failed on an image: ${reply.error}`, { details: { scope: 'image' } }));
      if (pending.size === 0) {
        w.unref();
        idleTimer = setTimeout(() => {
          if (worker === w && pending.size === 0) {
            worker = null;
            void w.terminate();
          }
        }, idleStopMs);
        idleTimer.unref();
      }
    });
    w.on('error', (e) => {
      if (worker === w) worker = null;
      failAll(new LoraloopError('INTERNAL', `The people detector stopped: ${e.message}`, { cause: e }));
    });
    w.on('exit', (code) => {
      if (worker === w) worker = null;
      if (pending.size) failAll(new LoraloopError('INTERNAL', `The people detector exited (code ${code}).`));
    });
    w.unref();
    return w;
  };

  return {
    detect(img) {
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = null;
      worker ??= start();
      const w = worker;
      const id = nextId++;
      // Copy into a buffer of our own and hand it over (transfer, no second copy).
      const data = new Uint8Array(img.width * img.height * 3);
      data.set(img.data.subarray(0, data.length));
      return new Promise<PeopleDetection>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        w.ref();
        w.postMessage({ id, data, width: img.width, height: img.height }, [data.buffer]);
      });
    },
    async close() {
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = null;
      const w = worker;
      worker = null;
      failAll(new LoraloopError('CANCELED', 'The people detector was closed.'));
      if (w) await w.terminate();
    },
  };
}
