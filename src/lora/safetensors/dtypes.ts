/**
 * safetensors dtype table and scalar decoding.
 * Bit widths come from huggingface/safetensors `safetensors/src/tensor.rs` (CONTRACTS.md §3.1).
 */

/** Bits per element of every dtype the safetensors spec defines. */
export const DTYPE_BITS: Readonly<Record<string, number>> = Object.freeze({
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  F64: 64,
  I64: 64,
  U64: 64,
  C64: 64,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
});

/** Returns the bit width of a dtype, or undefined when the spec does not know it. */
export function dtypeBits(dtype: string): number | undefined {
  // hasOwn keeps names like "constructor" or "__proto__" from matching the prototype.
  return Object.hasOwn(DTYPE_BITS, dtype) ? DTYPE_BITS[dtype] : undefined;
}

/** dtypes whose one-element tensors we can turn into a number (LoRA alphas are saved in the file dtype). */
export const SCALAR_DTYPES = new Set(['F16', 'BF16', 'F32', 'F64']);

/** IEEE 754 half precision (binary16) to a JS number. */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // subnormal (and zero)
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** bfloat16 is the top half of a float32, so widen it and let the platform decode. */
export function bf16ToNumber(bits: number): number {
  const tmp = Buffer.alloc(4);
  tmp.writeUInt32LE((bits & 0xffff) << 16 >>> 0, 0);
  return tmp.readFloatLE(0);
}

/**
 * Decodes one little-endian scalar of `dtype` at `offset` in `buf`.
 * Returns undefined for dtypes that are not floating point scalars we support.
 */
export function decodeScalar(buf: Buffer, offset: number, dtype: string): number | undefined {
  switch (dtype) {
    case 'F16':
      return halfToNumber(buf.readUInt16LE(offset));
    case 'BF16':
      return bf16ToNumber(buf.readUInt16LE(offset));
    case 'F32':
      return buf.readFloatLE(offset);
    case 'F64':
      return buf.readDoubleLE(offset);
    default:
      return undefined;
  }
}
