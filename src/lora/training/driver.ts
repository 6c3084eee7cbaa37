/**
 * The contract between the job runner and a training backend, shaped like replicate-javascript's
 * `trainings` (start / get / cancel) but resumable: `follow` picks a job up in whatever state its record
 * says (not yet submitted, submitted, running, finished remotely) and drives it to a terminal status.
 */
import type { Config } from '../../core/config.js';
import type { Logger } from '../../core/logger.js';
import type { Store } from '../../store/index.js';
import type { JobQueue } from '../../store/queue/index.js';
import type { TrainingJob } from './job.js';
import type { TrainingRunner } from './runner.js';

/** What training needs from the app (Services has all of it): settings, clock, network, the store, and this app's runner. */
export interface TrainingDeps {
  config: Config;
  logger: Logger;
  now: () => Date;
  fetch: typeof fetch;
  store: Store;
  /** This app's runner: a driver's cancel stops the follower this process runs. */
  trainingRunner: () => TrainingRunner;
  /** The cluster's job queue, or null: with it, `loraloop worker` processes follow trainings (see queue.ts). */
  queue: JobQueue | null;
}

/** Settings of the runner and its drivers. Every field has a production default. */
export interface TrainingRunnerOptions {
  /** How often a remote training is polled. Default 10 000 ms. */
  pollIntervalMs?: number;
  /** How long a claim on a job lasts without renewal; renewed every third of it. Default 60 000 ms. */
  leaseTtlMs?: number;
  /** How often the runner looks for jobs nobody follows. Default 30 000 ms. */
  scanIntervalMs?: number;
  /**
   * Public URL where the HTTP face receives Replicate webhooks (`handleReplicateWebhook`). When set, each
   * training is created with `webhook = <url>?job_id=<job id>`; polling continues as a safety net.
   */
  webhookUrl?: string;
  /** This process's owner id for job leases. Default `<host>:<pid>:<random>`. */
  ownerId?: string;
}

export type ResolvedRunnerOptions = Required<Omit<TrainingRunnerOptions, 'webhookUrl'>> & { webhookUrl: string | undefined };

/** What a driver gets while following one job. */
export interface FollowContext {
  services: TrainingDeps;
  logger: Logger;
  /** Aborted when the runner stops, the lease is lost, or the job was canceled. */
  signal: AbortSignal;
  options: ResolvedRunnerOptions;
  /** Sleep that rejects when `signal` aborts. */
  sleep(ms: number): Promise<void>;
}

/** A training backend as the runner sees it. */
export interface TrainingDriver {
  /** Drive the job to ready/failed/canceled. Throw to fail it (the message becomes the job's error). */
  follow(job: TrainingJob, ctx: FollowContext): Promise<void>;
  /** Cancel at the backend (remote cancel, or kill the local process). Never throws for "already over". */
  cancel(job: TrainingJob, services: TrainingDeps): Promise<void>;
  /** Whether this process has the configuration to follow jobs of this backend. */
  configured(services: TrainingDeps): boolean;
}
