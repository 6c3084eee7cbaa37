/**
 * Shapes of the nightly improvement run: options (tests shorten or inject them through
 * `Services.improveOptions`), the evaluator seam, and what a run records per LoRA.
 */
import type { LoraRecord, LoraVersionRecord } from '../../store/repos/loras.js';
import type { ToolContext } from '../../tools/types.js';

/** One prompt of the fixed evaluation suite. */
export interface SuitePrompt {
  category: string;
  /** 0-based index inside its category. */
  index: number;
  title: string;
  /** Fixed seed: the same prompt always renders with the same seed, for every version compared. */
  seed: number;
}

/** The LoRA version a cover of the suite is made with. */
export interface EvaluationSubject {
  lora: LoraRecord;
  version: LoraVersionRecord;
  /** 'current' (the active version) or 'candidate' (just trained). */
  role: 'current' | 'candidate';
}

/** One scored cover of the suite. */
export interface EvaluationSample {
  /** `${category}#${index}`. */
  prompt: string;
  role: 'current' | 'candidate';
  /** The evaluation score 0..1 (see evaluationScore). */
  score: number;
  /** The critic's own combined score (history checks included), for the report. */
  critic_score: number;
  cover_id: string | null;
  /** The image the critic judged. */
  path: string | null;
  /** False when the generator could not use the requested LoRA version (then the comparison proves nothing). */
  applied: boolean;
  failed_checks: string[];
}

/**
 * How covers of one LoRA version are made and scored. The default makes each cover with cover_generate
 * (with the version) and judges it with cover_critique; tests may wrap it (see createToolEvaluator's
 * `transform`).
 */
export interface Evaluator {
  name: string;
  sample(ctx: ToolContext, subject: EvaluationSubject, prompt: SuitePrompt): Promise<EvaluationSample>;
}

/** Tuning of the nightly run. Every field has a production default. */
export interface ImproveOptions {
  evaluator?: Evaluator;
  /** Prompts per category of the evaluation suite (default 10). */
  promptsPerCategory?: number;
  /** The candidate is promoted when its mean score beats the current version's by at least this (default 0.03). */
  promoteMargin?: number;
  /** Lease on the nightly run (default 10 minutes, renewed every third of it while the run lives). */
  leaseTtlMs?: number;
  /** Each lora_status call waits this long for the training (default 600 s, the tool's maximum). */
  statusWaitSeconds?: number;
  /** Lease owner id of this process (default host:pid:random). */
  ownerId?: string;
}

declare module '../../tools/services.js' {
  interface Services {
    /** Tuning of the nightly improvement run: the evaluator, suite size, promotion margin, lease (tests inject them). */
    improveOptions: ImproveOptions;
  }
}

/** What happened to one LoRA in a run. */
export type LoraOutcome = 'promoted' | 'kept' | 'unchanged' | 'skipped' | 'failed' | 'no_backend' | 'planned';

export const RUN_STEPS = ['gather', 'curate', 'analyze', 'decide', 'train', 'evaluate', 'promote', 'report'] as const;
export type RunStep = (typeof RUN_STEPS)[number];
