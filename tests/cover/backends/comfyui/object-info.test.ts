import { describe, expect, it } from 'vitest';
import { comboOptions, resolveIdentifier, resolveModelName, type ObjectInfo } from '../../../../src/cover/backends/comfyui/object-info.js';
import { LoraloopError } from '../../../../src/core/errors.js';

const server = 'http://gpu:8188';

function refusal(fn: () => unknown): LoraloopError {
  try {
    fn();
  } catch (e) {
    if (e instanceof LoraloopError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('comboOptions', () => {
  it('reads V1 and V3 combo shapes and ignores non-combo inputs', () => {
    const info: ObjectInfo = {
      A: { input: { required: { x: [['a', 'b'], {}], n: ['INT', { min: 0 }] } } },
      B: { input: { required: { x: ['COMBO', { options: ['c'], multiselect: false }] }, optional: { y: [['d'], {}] } } },
    };
    expect(comboOptions(info, 'A', 'x')).toEqual(['a', 'b']);
    expect(comboOptions(info, 'B', 'x')).toEqual(['c']);
    expect(comboOptions(info, 'B', 'y')).toEqual(['d']);
    expect(comboOptions(info, 'A', 'n')).toBeUndefined();
    expect(comboOptions(info, 'Missing', 'x')).toBeUndefined();
  });
});

describe('resolveModelName', () => {
  const loras = ['brand/solana_v2.safetensors', 'style\\flat.safetensors', 'bitcoin.pt', 'a/dup.safetensors', 'b/dup.safetensors'];

  it('returns the server spelling for exact, separator-swapped, extension-less and base-name requests', () => {
    expect(resolveModelName('bitcoin.pt', loras, 'LoRA', server)).toBe('bitcoin.pt');
    expect(resolveModelName('style/flat.safetensors', loras, 'LoRA', server)).toBe('style\\flat.safetensors');
    expect(resolveModelName('solana_v2.safetensors', loras, 'LoRA', server)).toBe('brand/solana_v2.safetensors');
    expect(resolveModelName('solana_v2', loras, 'LoRA', server)).toBe('brand/solana_v2.safetensors');
    expect(resolveModelName('bitcoin', loras, 'LoRA', server)).toBe('bitcoin.pt');
    expect(resolveModelName('flat', loras, 'LoRA', server)).toBe('style\\flat.safetensors');
    expect(resolveModelName('Brand/Solana_V2', loras, 'LoRA', server)).toBe('brand/solana_v2.safetensors');
  });

  it('refuses an ambiguous base name with the candidates', () => {
    const e = refusal(() => resolveModelName('dup', loras, 'LoRA', server));
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.message).toContain('a/dup.safetensors, b/dup.safetensors');
  });

  it('refuses an unknown name with what the server has, shortened when long', () => {
    const e = refusal(() => resolveModelName('ethereum', loras, 'LoRA', server));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toBe(`ComfyUI at ${server} has no LoRA "ethereum". It has: ${loras.join(', ')}.`);
    expect(e.hint).toContain('models/loras');
    const many = Array.from({ length: 40 }, (_, i) => `l${i}.safetensors`);
    expect(refusal(() => resolveModelName('x', many, 'LoRA', server)).message).toContain('and 15 more');
    // a folder-qualified request never matches by base name in another folder
    expect(refusal(() => resolveModelName('other/solana_v2', loras, 'LoRA', server)).code).toBe('NOT_FOUND');
  });
});

describe('resolveIdentifier', () => {
  it('matches samplers exactly or case-insensitively, else lists them', () => {
    expect(resolveIdentifier('Euler', ['euler', 'ddim'], 'sampler', server)).toBe('euler');
    expect(refusal(() => resolveIdentifier('dpm++', ['euler', 'ddim'], 'sampler', server)).message).toContain('It has: euler, ddim.');
  });
});
