import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { PathGuard } from '../core/paths.js';
import type { CoinCatalogue } from '../cover/coins/catalogue.js';
import type { CoinDetector } from '../cover/coins/detect.js';
import type { CoinSecondOpinion } from '../cover/coins/second-opinion.js';
import type { BackendRegistry, GenerationOptions } from '../cover/backends/registry.js';
import type { BatchRunner } from '../cover/batch.js';
import type { LoraResolver } from '../cover/lora-resolver.js';
import type { CoverRenderer } from '../cover/render/renderer.js';
import type { PeopleDetector } from '../dataset/people/detector.js';
import type { TrainingRunner, TrainingRunnerOptions } from '../lora/training/runner.js';
import type { Store } from '../store/index.js';
import type { JobQueue } from '../store/queue/index.js';

/**
 * Everything a tool handler may use. Built once per process by createApp (src/app.ts, the only place that
 * wires it); tests pass overrides (a fake clock, an emulator's fetch) instead of mocking modules.
 *
 * Domain modules never see this type: each declares the few services it needs (its ports) and handlers pass
 * `ctx.services`, which has them all. Layers above tools add their own services by declaration merging
 * (src/agent/improve/types.ts adds `improveOptions`), so this file imports nothing from above.
 */
export interface Services {
  config: Config;
  logger: Logger;
  now: () => Date;
  fetch: typeof fetch;
  store: Store;
  paths: PathGuard;
  /** secondOpinion: only with an OpenAI-compatible model configured (OPENAI_API_KEY); asked only about doubts. */
  coins: { catalogue: CoinCatalogue; detector: CoinDetector; secondOpinion?: CoinSecondOpinion };
  renderer: CoverRenderer;
  loraResolver: LoraResolver;
  /** Poll interval, lease and webhook URL of the training runner (tests shorten them). */
  trainingOptions: TrainingRunnerOptions;
  /** This app's training job runner, created on first use; long-lived faces call `.start()`. */
  trainingRunner: () => TrainingRunner;
  /** Image generation backends (local, the ComfyUI pool, Replicate), built from config; nothing connects until used. */
  backends: BackendRegistry;
  /** Tuning of generation: client poll intervals, pool timeouts, the sampling seed (tests shorten them). */
  generationOptions: GenerationOptions;
  /** The draft batches this app runs in this process (stopped when the app closes). */
  batches: BatchRunner;
  /**
   * The cluster's durable job queue (LORALOOP_QUEUE=pg-boss), or null: then every process runs its own work.
   * With it, faces put GPU work on the queue and `loraloop worker` processes run it.
   */
  queue: JobQueue | null;
  /** Finds people in images for shot typing; its worker thread starts on the first image, never before. */
  people: PeopleDetector;
}
