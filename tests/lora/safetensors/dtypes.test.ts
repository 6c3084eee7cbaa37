import { describe, expect, it } from 'vitest';
import { bf16ToNumber, decodeScalar, halfToNumber } from '../../../src/lora/safetensors/dtypes.js';
import { encodeScalar, numberToBf16, numberToHalf } from '../../support/safetensors.js';

describe('half and bfloat16 decoding', () => {
  it('decodes known IEEE half bit patterns', () => {
    expect(halfToNumber(0x3c00)).toBe(1);
    expect(halfToNumber(0xc000)).toBe(-2);
    expect(halfToNumber(0x3800)).toBe(0.5);
    expect(halfToNumber(0x7bff)).toBe(65504);
    expect(halfToNumber(0x0001)).toBe(2 ** -24);
    expect(halfToNumber(0x7c00)).toBe(Infinity);
    expect(halfToNumber(0x7e00)).toBeNaN();
    expect(Object.is(halfToNumber(0x8000), -0)).toBe(true);
  });

  it('decodes known bfloat16 bit patterns', () => {
    expect(bf16ToNumber(0x3f80)).toBe(1);
    expect(bf16ToNumber(0x4180)).toBe(16);
    expect(bf16ToNumber(0xbf00)).toBe(-0.5);
  });

  it('round-trips typical alphas through the writer encoders', () => {
    for (const v of [1, 2, 4, 8, 16, 32, 64, 128, 0.5, 0.25, 3, 12]) {
      expect(halfToNumber(numberToHalf(v))).toBe(v);
      expect(bf16ToNumber(numberToBf16(v))).toBe(v);
      for (const dtype of ['F16', 'BF16', 'F32', 'F64'] as const) expect(decodeScalar(encodeScalar(v, dtype), 0, dtype)).toBe(v);
    }
    // Values that do not fit: rounded to the nearest representable number.
    expect(halfToNumber(numberToHalf(0.1))).toBeCloseTo(0.1, 3);
    expect(bf16ToNumber(numberToBf16(0.1))).toBeCloseTo(0.1, 2);
  });

  it('returns undefined for dtypes that are not float scalars', () => {
    expect(decodeScalar(Buffer.alloc(8), 0, 'I64')).toBeUndefined();
  });
});
