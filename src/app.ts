import { createPeopleDetector } from './dataset/people/detector.js';
import { configSecrets, type Config } from './core/config.js';
import { createLogger } from './core/logger.js';
import { createPathGuard } from './core/paths.js';
import { loadCoinCatalogue } from './cover/coins/catalogue.js';
import { createCoinDetector } from './cover/coins/detect.js';
import { createCoinSecondOpinion } from './cover/coins/second-opinion.js';
import { createBatchRunner, stopBatches } from './cover/batch.js';
import { createBackendRegistry } from './cover/backends/registry.js';
import { createCoverRenderer } from './cover/render/renderer.js';
import { createLoraResolver } from './lora/registry.js';
import { createTrainingRunner, type TrainingRunner } from './lora/training/runner.js';
import { createStore } from './store/index.js';
import { createBossQueue } from './store/queue/index.js';
import { createToolRegistry, type ToolRegistry } from './tools/registry.js';
import { createToolContext, type ContextOptions } from './tools/context.js';
import type { Services } from './tools/services.js';
import type { ToolContext, ToolDefinition } from './tools/types.js';

export type { Services };

export interface App {
  services: Services;
  tools: ToolRegistry;
  /** The one way to build a ToolContext: faces pass what they have, the rest gets quiet defaults. */
  context(this: App, o?: ContextOptions | ToolContext['face'], signal?: AbortSignal): ToolContext;
  close(): Promise<void>;
}

export type { ContextOptions };

export type AppOverrides = Partial<Omit<Services, 'config'>>;

/** The one composition root. Only main.ts and tests call it. */
/**
 * `tools` is the tool list to serve: every face passes `allTools()` (src/all-tools.ts); a one-shot CLI
 * command that needs a single leaf tool passes just that one, so a cold start does not load the other 30.
 */
export function createApp(config: Config, tools: readonly ToolDefinition[], overrides: AppOverrides = {}): App {
  const logger = overrides.logger ?? createLogger({ level: config.logLevel, secrets: configSecrets(config) });
  const now = overrides.now ?? (() => new Date());
  const store = overrides.store ?? createStore(config.home, now, { databaseUrl: config.databaseUrl, blobs: config.blobs, objectStoreEnv: config.objectStoreEnv });
  const catalogue = overrides.coins?.catalogue ?? loadCoinCatalogue();
  let trainingRunner: TrainingRunner | undefined;
  const services: Services = {
    config,
    logger,
    now,
    fetch: overrides.fetch ?? globalThis.fetch,
    store,
    paths: overrides.paths ?? createPathGuard(config.allowedRoots),
    coins: overrides.coins ?? {
      catalogue,
      detector: createCoinDetector(catalogue),
      ...(config.openai.apiKey
        ? {
            secondOpinion: createCoinSecondOpinion({
              apiKey: config.openai.apiKey,
              ...(config.openai.baseUrl ? { baseUrl: config.openai.baseUrl } : {}),
              model: config.openai.llmModel,
              fetch: overrides.fetch ?? globalThis.fetch,
              logger,
            }),
          }
        : {}),
    },
    renderer: overrides.renderer ?? createCoverRenderer(),
    loraResolver: overrides.loraResolver ?? createLoraResolver(store),
    trainingOptions: overrides.trainingOptions ?? {
      ...(config.replicate.webhookUrl ? { webhookUrl: config.replicate.webhookUrl } : {}),
      ...(config.training.pollMs ? { pollIntervalMs: config.training.pollMs } : {}),
      ...(config.training.leaseMs ? { leaseTtlMs: config.training.leaseMs } : {}),
    },
    trainingRunner: overrides.trainingRunner ?? (() => (trainingRunner ??= createTrainingRunner(services))),
    improveOptions: overrides.improveOptions ?? {},
    generationOptions: overrides.generationOptions ?? {},
    batches: overrides.batches ?? createBatchRunner(),
    people: overrides.people ?? createPeopleDetector(),
    queue: overrides.queue !== undefined ? overrides.queue : config.queue === 'pg-boss' && config.databaseUrl ? createBossQueue({ url: config.databaseUrl, logger }) : null,
    backends:
      overrides.backends ??
      createBackendRegistry({ config, store, logger, fetch: overrides.fetch ?? globalThis.fetch, ...(overrides.generationOptions?.backends ?? {}) }),
  };
  const registry = createToolRegistry([...tools]);
  // Closed in reverse: the runner stops (and releases its job leases) before the store closes.
  const closers: Array<() => Promise<void> | void> = [() => store.close(), () => trainingRunner?.stop(), () => services.backends.close(), () => stopBatches(services), () => services.people.close(), () => services.queue?.stop()];
  return {
    services,
    tools: registry,
    // `this`, not the closure: an App copied with another registry ({...app, tools}) builds contexts over that one.
    context(this: App, o = {}, signal) {
      return createToolContext(this.services, this.tools, typeof o === 'string' ? { face: o, ...(signal ? { signal } : {}) } : o);
    },
    async close() {
      for (const c of closers.reverse()) await c();
    },
  };
}
