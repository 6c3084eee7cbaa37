/**
 * The rule planner (the default): generate, critique, and while the best score is under the threshold
 * and budget remains, change what the failed checks point at and try again. Deterministic: the same
 * critiques lead to the same decisions (seeds are random unless the caller fixes one).
 *
 * What each failure changes:
 * - near_duplicate, palette_novelty: a new seed and the next background style (a different look);
 * - title_contrast, sharpness: the next background style (contrast and detail come from the background);
 * - logo (on a model-made picture): a new seed and a lower LoRA strength (strong LoRAs paint stray logos);
 * - vision says off-style: a higher LoRA strength (more of the brand look), else the next style;
 * - text_fits only: nothing a regeneration changes; stop and say to shorten the headline;
 * - anything else under the threshold: a new seed.
 */
import { budgetLeft, critique, generate, type AgentRun, type Attempt, type GenerateInput } from './run.js';

const SEED_STEP = 7919;
const STRENGTH_STEP = 0.15;

/** Run the rule planner until the threshold is met or the budget is used. Returns why it stopped. */
export async function runRulePlanner(run: AgentRun): Promise<string> {
  let next: { input: GenerateInput; why: string } = { input: baseInput(run, 0), why: 'First attempt with the routed settings.' };
  let failures = 0;
  for (;;) {
    const left = budgetLeft(run);
    if (!left.ok) return left.why;
    const made = await generate(run, next.input, next.why);
    if (!('cover_id' in made)) {
      // Configuration and input problems do not get better by trying again.
      if (['INVALID_INPUT', 'NOT_CONFIGURED', 'PATH_NOT_ALLOWED', 'CONFIG_INVALID'].includes(made.code)) return `cover_generate refused the request (${made.message})`;
      if (++failures >= 2 && run.attempts.length === 0) return `cover_generate failed twice (${made.message})`;
      next = { input: { ...next.input }, why: 'Retrying after a failed generation.' };
      continue;
    }
    await critique(run, made);
    if ((made.score ?? 0) >= run.threshold) return `cover ${made.index} scored ${made.score?.toFixed(2)}, at or above the threshold ${run.threshold}`;
    const plan = decide(run, made);
    run.trail.add({ action: 'decide', ok: true, summary: plan.why });
    if (!plan.input) return plan.why;
    next = { input: plan.input, why: plan.why };
  }
}

/** The cover_generate input of attempt `k` before any adjustment. */
export function baseInput(run: AgentRun, k: number): GenerateInput {
  return {
    title: run.title,
    ...(run.parsed.subtitle ? { subtitle: run.parsed.subtitle } : {}),
    ...(run.size ? { size: run.size } : {}),
    ...(run.backend ? { backend: run.backend } : {}),
    ...(run.seed !== undefined ? { seed: (run.seed + k * SEED_STEP) % 2 ** 31 } : {}),
  };
}

function failedNames(a: Attempt): Set<string> {
  return new Set(a.checks.filter((c) => !c.passed).map((c) => c.name));
}

/** Decide the next attempt from the last one's critique, or stop (input null) with the reason. */
export function decide(run: AgentRun, last: Attempt): { input: GenerateInput | null; why: string } {
  const failed = failedNames(last);
  const k = run.attempts.length;
  const input = baseInput(run, k);
  const usesModel = Boolean(run.backend && run.backend !== 'local');
  const styles = run.s.renderer.backgroundStyles;
  const nextStyle = (): string => {
    const cur = last.style ? styles.indexOf(last.style) : -1;
    return styles[(cur + 1 + styles.length) % styles.length] ?? styles[0] ?? 'grain';
  };
  const lastStrength = (): number => {
    const l = (last.input.loras as Array<{ strength: number }> | undefined)?.[0];
    return l?.strength ?? run.lora?.strength ?? 0.8;
  };
  const reasons: string[] = [];
  if (failed.size === 1 && failed.has('text_fits')) {
    return { input: null, why: `Only the title fit failed (${last.checks.find((c) => c.name === 'text_fits')?.detail ?? ''}); a new picture will not change that, so the agent stops. Shorten the headline or move words to the subtitle.` };
  }
  const style = (why: string): void => {
    if (!usesModel) {
      input.style = nextStyle();
      reasons.push(`${why}: switching the background style to ${String(input.style)}`);
    } else reasons.push(`${why}: a new seed`);
  };
  if (failed.has('near_duplicate') || failed.has('palette_novelty')) style('It looks like a recent cover');
  else if (failed.has('title_contrast')) style('The title is hard to read');
  else if (failed.has('sharpness')) style('The picture is soft');
  if (failed.has('logo') && usesModel && run.lora) {
    const s = Math.max(0.2, Math.round((lastStrength() - STRENGTH_STEP) * 100) / 100);
    input.loras = [{ name: run.lora.name, strength: s }];
    reasons.push(`The logo check failed on a model-made picture: a new seed and ${run.lora.name} at strength ${s} (less LoRA, fewer stray logos)`);
  } else if (failed.has('logo')) reasons.push('The logo check failed: a new seed');
  const offStyle = last.vision?.status === 'ok' && last.vision.findings?.style_ok === false;
  if (offStyle && usesModel && run.lora && !input.loras) {
    const s = Math.min(1.5, Math.round((lastStrength() + STRENGTH_STEP) * 100) / 100);
    input.loras = [{ name: run.lora.name, strength: s }];
    reasons.push(`The vision critic finds it off-style: ${run.lora.name} at strength ${s}`);
  } else if (offStyle && !input.style && !usesModel) {
    input.style = nextStyle();
    reasons.push(`The vision critic finds it off-style: background style ${String(input.style)}`);
  }
  if (reasons.length === 0) reasons.push(`Score ${last.score?.toFixed(2)} is under ${run.threshold}: a new seed`);
  return { input, why: `${reasons.join('; ')}.` };
}
