/** One decision or action of the make-a-cover agent, as the trail records it and faces show it. */
export interface TrailStep {
  /** 1-based position in the trail. */
  step: number;
  planner: 'rules' | 'llm';
  /** parse, route, generate, critique, decide, model, fallback, finish. */
  action: string;
  /** The tool called, if any. */
  tool?: string;
  /** The tool input (as sent). */
  input?: Record<string, unknown>;
  ok: boolean;
  /** One sentence: what happened and why. */
  summary: string;
  cover_id?: string;
  score?: number;
  elapsed_ms: number;
}

/** Collects steps, numbers them, times them from the start, and tells a listener as each one lands. */
export interface Trail {
  steps: TrailStep[];
  add(s: Omit<TrailStep, 'step' | 'elapsed_ms' | 'planner'> & { planner?: TrailStep['planner'] }): TrailStep;
  elapsedMs(): number;
}

export function createTrail(planner: TrailStep['planner'], now: () => number, onStep?: (s: TrailStep) => void): Trail {
  const start = now();
  const steps: TrailStep[] = [];
  return {
    steps,
    add(s) {
      const step: TrailStep = { planner, ...s, step: steps.length + 1, elapsed_ms: Math.round(now() - start) };
      steps.push(step);
      try {
        onStep?.(step);
      } catch {
        // A listener (a Slack message edit) must never break the run.
      }
      return step;
    },
    elapsedMs: () => now() - start,
  };
}
