import { describe, expect, it } from 'vitest';
import { retrainThreshold } from '../../../src/agent/improve/curate.js';
import { decide, evaluationScore } from '../../../src/agent/improve/evaluate.js';
import { promptSuite } from '../../../src/agent/improve/suite.js';
import type { EvaluationSample } from '../../../src/agent/improve/types.js';

const sample = (role: 'current' | 'candidate', score: number, applied = true): EvaluationSample => ({
  prompt: 'market#0', role, score, critic_score: score, cover_id: null, path: null, applied, failed_checks: [],
});

describe('evaluation suite', () => {
  it('has 10 headlines per category with fixed seeds, the same whatever the suite size', () => {
    const full = promptSuite('Solana');
    expect(full).toHaveLength(30);
    expect(new Set(full.map((p) => p.category))).toEqual(new Set(['market', 'regulation', 'technology']));
    expect(new Set(full.map((p) => p.seed)).size).toBe(30);
    expect(full.every((p) => p.title.includes('Solana'))).toBe(true);
    expect(promptSuite('Solana')).toEqual(full);
    const small = promptSuite('Solana', 2);
    expect(small.map((p) => p.seed)).toEqual(full.filter((p) => p.index < 2).map((p) => p.seed));
  });
});

describe('evaluation score', () => {
  it('leaves out history checks and caps a missing logo', () => {
    expect(evaluationScore([{ name: 'logo', passed: true }, { name: 'near_duplicate', passed: false }, { name: 'palette_novelty', passed: false }])).toBe(1);
    expect(evaluationScore([{ name: 'logo', passed: true }, { name: 'sharpness', passed: false }])).toBe(0.75);
    expect(evaluationScore([{ name: 'logo', passed: false }, { name: 'sharpness', passed: true }, { name: 'text_fits', passed: true }])).toBe(0.3);
  });

  it('promotes only by the margin, and never on covers the candidate was not applied to', () => {
    expect(decide([sample('current', 0.8)], [sample('candidate', 0.9)], 0.03).promote).toBe(true);
    expect(decide([sample('current', 0.8)], [sample('candidate', 0.82)], 0.03).promote).toBe(false);
    const na = decide([sample('current', 0.5)], [sample('candidate', 1, false)], 0.03);
    expect(na.promote).toBe(false);
    expect(na.reason).toMatch(/did not use the candidate version/);
  });

  it('retrains at max(5, 10%) changed images', () => {
    expect([retrainThreshold(3), retrainThreshold(50), retrainThreshold(51), retrainThreshold(200)]).toEqual([5, 5, 6, 20]);
  });
});
