/**
 * The image backends this process can use, built from configuration: `local` always; one ComfyUI backend per
 * COMFYUI_URLS entry (the GPU pool); Replicate when REPLICATE_API_TOKEN is set. Nothing connects until used,
 * and a backend that is not configured fails only when asked for, naming the variable to set.
 */
import type { Config } from '../../core/config.js';
import { LoraloopError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { createReplicateClient } from '../../clients/replicate.js';
import type { Store } from '../../store/index.js';
import { createComfyBackend, type ComfyClient, type ComfyClientOptions } from './comfyui/index.js';
import { createLocalBackend } from './local.js';
import type { PoolWorker } from './pool.js';
import { createReplicateBackend, DEFAULT_REPLICATE_RUNNER, type ReplicateBackendOptions, type ReplicateLoraTarget } from './replicate.js';
import type { ImageBackend } from './types.js';

export const BACKEND_NAMES = ['local', 'comfyui', 'replicate'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** One ComfyUI server of the pool. */
export interface ComfyServer {
  /** Base URL, also the server's id in distributions. */
  url: string;
  backend: ImageBackend & { client: ComfyClient };
  concurrency: number;
}

/** What `backends_status` reports per backend (and per ComfyUI server). */
export interface BackendStatus {
  backend: BackendName;
  /** Server URL for ComfyUI, `replicate` or `local`. */
  id: string;
  configured: boolean;
  /** null when not checked (not configured). */
  reachable: boolean | null;
  /** Pending + running prompts (ComfyUI); null when unknown. */
  queue_length: number | null;
  checkpoints: string[];
  loras: string[];
  /** GPU / device name when the server tells it. */
  device: string | null;
  /** Why it is unreachable or not configured, and what to do. */
  note: string | null;
}

export interface BackendRegistryOptions {
  config: Config;
  fetch?: typeof fetch;
  now?: () => number;
  /** For Replicate: where a LoRA lives (trained version or weights URL), read from the registry. */
  store?: Store;
  /** Extra client options for every ComfyUI server (poll intervals, timeouts; tests shorten them). */
  comfy?: Partial<Omit<ComfyClientOptions, 'baseUrl'>>;
  /**
   * Prompts in flight per ComfyUI server (default 2). A GPU runs one at a time; the second waits in the
   * server's queue, so the GPU never idles while we download the last image or compose it.
   */
  comfyConcurrency?: number;
  /** Extra options of the Replicate backend (poll interval, sleep, ...). */
  replicate?: Partial<Omit<ReplicateBackendOptions, 'client'>>;
  /** Predictions in flight on Replicate (default 4). */
  replicateConcurrency?: number;
  /** Where the Replicate backend warns about inputs its model's live schema does not take. */
  logger?: Logger;
}

export interface BackendRegistry {
  readonly local: ImageBackend;
  /** One per COMFYUI_URLS entry, in order. */
  readonly comfy: ComfyServer[];
  readonly replicateConfigured: boolean;
  /** The Replicate backend; NOT_CONFIGURED naming REPLICATE_API_TOKEN when it is not set. */
  replicate(): ImageBackend;
  /** Pool workers for a backend; NOT_CONFIGURED (naming the variable) when it has none. */
  workers(name: BackendName): PoolWorker[];
  /** Checkpoint files over every reachable ComfyUI server (union, sorted). */
  comfyCheckpoints(): Promise<string[]>;
  status(): Promise<BackendStatus[]>;
  /** Close WebSockets. */
  close(): void;
}

const STATUS_TIMEOUT_MS = 5000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new LoraloopError('TIMEOUT', `${what} did not answer within ${ms} ms.`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function createBackendRegistry(opts: BackendRegistryOptions): BackendRegistry {
  const { config } = opts;
  const doFetch = opts.fetch ?? globalThis.fetch;
  const local = createLocalBackend(opts.now ? { now: opts.now } : {});
  const comfy: ComfyServer[] = config.comfyuiUrls.map((url) => ({
    url,
    concurrency: Math.max(1, opts.comfyConcurrency ?? 2),
    backend: createComfyBackend({ baseUrl: url, fetch: doFetch, ...(opts.now ? { now: opts.now } : {}), ...opts.comfy }),
  }));
  let replicateBackend: ImageBackend | undefined;
  let replicateClient: ReturnType<typeof createReplicateClient> | undefined;
  const replicateConfigured = config.replicate.apiToken !== undefined;

  const resolveLora = async (name: string, version?: number): Promise<ReplicateLoraTarget | undefined> => {
    const lora = await opts.store?.loras.find(name);
    if (!lora || !opts.store) return undefined;
    const all = (await opts.store.loras.listVersions(lora.id)).filter((v) => v.remote_version || v.weights_url);
    // An explicit version may be a candidate (the nightly run evaluates it before promotion).
    const versions = version === undefined ? all.filter((v) => v.status === 'ready') : all.filter((v) => v.version === version);
    const v = versions.find((x) => x.version === lora.active_version) ?? versions[versions.length - 1];
    return v ? { version: v.remote_version, weights_url: v.weights_url } : undefined;
  };

  function client(): ReturnType<typeof createReplicateClient> {
    replicateClient ??= createReplicateClient({ baseUrl: config.replicate.baseUrl, apiKey: () => config.replicate.apiToken, fetch: doFetch });
    return replicateClient;
  }

  function replicate(): ImageBackend {
    if (!replicateConfigured) {
      throw new LoraloopError('NOT_CONFIGURED', 'The replicate backend needs REPLICATE_API_TOKEN.', {
        hint: 'Set REPLICATE_API_TOKEN (and REPLICATE_BASE_URL for a proxy), or use backend comfyui or local.',
      });
    }
    replicateBackend ??= createReplicateBackend({
      client: client(),
      runner: config.replicate.model ?? DEFAULT_REPLICATE_RUNNER,
      resolveLora,
      fetch: doFetch,
      ...(opts.now ? { now: opts.now } : {}),
      ...(opts.logger ? { logger: opts.logger.child({ component: 'replicate' }) } : {}),
      ...opts.replicate,
    });
    return replicateBackend;
  }

  function workers(name: BackendName): PoolWorker[] {
    if (name === 'local') return [{ id: 'local', backend: local, concurrency: 1 }];
    if (name === 'replicate') return [{ id: 'replicate', backend: replicate(), concurrency: Math.max(1, opts.replicateConcurrency ?? 4) }];
    if (comfy.length === 0) {
      throw new LoraloopError('NOT_CONFIGURED', 'The comfyui backend needs COMFYUI_URLS.', {
        hint: 'Set COMFYUI_URLS to comma-separated ComfyUI base URLs (http://gpu1:8188,http://gpu2:8188), or use backend local.',
      });
    }
    return comfy.map((s) => ({ id: s.url, backend: s.backend, concurrency: s.concurrency, queueLength: () => s.backend.client.queueLength() }));
  }

  async function comfyCheckpoints(): Promise<string[]> {
    const lists = await Promise.all(comfy.map((s) => withTimeout(s.backend.client.listCheckpoints(), STATUS_TIMEOUT_MS, s.url).catch(() => [] as string[])));
    return [...new Set(lists.flat())].sort();
  }

  async function comfyStatus(s: ComfyServer): Promise<BackendStatus> {
    const c = s.backend.client;
    try {
      const [queue, checkpoints, loras, stats] = await withTimeout(
        Promise.all([c.queueLength(), c.listCheckpoints(), c.listLoras(), c.systemStats().catch(() => undefined)]),
        STATUS_TIMEOUT_MS,
        `ComfyUI at ${s.url}`,
      );
      return {
        backend: 'comfyui',
        id: s.url,
        configured: true,
        reachable: true,
        queue_length: queue,
        checkpoints,
        loras,
        device: stats?.devices?.[0]?.name ?? null,
        note: null,
      };
    } catch (e) {
      return { backend: 'comfyui', id: s.url, configured: true, reachable: false, queue_length: null, checkpoints: [], loras: [], device: null, note: message(e) };
    }
  }

  async function replicateStatus(): Promise<BackendStatus> {
    const runner = config.replicate.model ?? DEFAULT_REPLICATE_RUNNER;
    const loras: string[] = [];
    for (const l of (await opts.store?.loras.list()) ?? []) if ((await resolveLora(l.name)) !== undefined) loras.push(l.name);
    if (!replicateConfigured) {
      return { backend: 'replicate', id: 'replicate', configured: false, reachable: null, queue_length: null, checkpoints: [], loras, device: null, note: 'Set REPLICATE_API_TOKEN to use Replicate.' };
    }
    try {
      await withTimeout(client().accounts.current(), STATUS_TIMEOUT_MS, 'Replicate');
      return { backend: 'replicate', id: 'replicate', configured: true, reachable: true, queue_length: null, checkpoints: [runner], loras, device: null, note: null };
    } catch (e) {
      return { backend: 'replicate', id: 'replicate', configured: true, reachable: false, queue_length: null, checkpoints: [runner], loras, device: null, note: message(e) };
    }
  }

  return {
    local,
    comfy,
    replicateConfigured,
    replicate,
    workers,
    comfyCheckpoints,
    async status() {
      const localStatus: BackendStatus = {
        backend: 'local',
        id: 'local',
        configured: true,
        reachable: true,
        queue_length: 0,
        checkpoints: [],
        loras: [],
        device: 'cpu',
        note: 'The built-in renderer: abstract backgrounds, no checkpoints or LoRAs.',
      };
      const comfyStatuses: BackendStatus[] =
        comfy.length > 0
          ? await Promise.all(comfy.map(comfyStatus))
          : [{ backend: 'comfyui', id: 'comfyui', configured: false, reachable: null, queue_length: null, checkpoints: [], loras: [], device: null, note: 'Set COMFYUI_URLS to use ComfyUI servers.' }];
      return [localStatus, ...comfyStatuses, await replicateStatus()];
    },
    close() {
      for (const s of comfy) s.backend.client.close();
    },
  };
}

/** Tuning of generation for one app (tests shorten intervals; the defaults suit real servers). */
export interface GenerationOptions {
  /** Backend construction options (ComfyUI poll intervals, concurrency, Replicate polling). */
  backends?: Omit<Partial<BackendRegistryOptions>, 'config' | 'store'>;
  /** Pool timeouts and probes. */
  pool?: { minTimeoutMs?: number; timeoutFactor?: number; probeMs?: number; giveUpMs?: number; maxAttempts?: number };
  /** Seed of the sampling RNG (Thompson draws, seeds of drafts); default: the clock. */
  seed?: number;
  /** Lease a process holds on a running batch job (default 60 s); a dead process's batch is resumed after it. */
  leaseMs?: number;
}
