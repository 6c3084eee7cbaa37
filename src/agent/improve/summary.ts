/** The summary of a run, built from its persisted steps (so a resumed run reports everything it did). */
import type { ChangeMeasure } from './curate.js';
import type { Verdict } from './evaluate.js';
import type { EvaluationSample, LoraOutcome } from './types.js';

export interface GapNote {
  category: string;
  direction: string;
  severity: string;
  advice: string;
}

export interface LoraSummary {
  lora_id: string;
  name: string;
  outcome: LoraOutcome;
  reason: string;
  new_images: number;
  new_ratings: number;
  positives_added: number;
  negatives_excluded: number;
  gaps: GapNote[];
  change: ChangeMeasure | null;
  backend: string | null;
  job_id: string | null;
  current_version: number | null;
  candidate_version: number | null;
  verdict: Verdict | null;
  samples: EvaluationSample[];
}

export interface FeedNote {
  source: string;
  added: number;
  would_add: number;
  error: string | null;
}

export interface RunSummary {
  run_id: string | null;
  dry_run: boolean;
  resumed: boolean;
  since: string;
  feeds: FeedNote[];
  new_ratings: number;
  new_images: number;
  loras: LoraSummary[];
  report_path: string | null;
}

/** One sentence per LoRA, for reasoning texts and logs. */
export function describeLora(l: LoraSummary): string {
  switch (l.outcome) {
    case 'promoted':
      return `${l.name}: v${l.candidate_version} promoted over v${l.current_version} (${l.verdict?.reason ?? ''}); v${l.current_version} is kept for rollback.`;
    case 'kept':
      return `${l.name}: v${l.candidate_version} trained but not promoted (${l.verdict?.reason ?? l.reason}).`;
    default:
      return `${l.name}: ${l.reason}`;
  }
}
