/**
 * Builds real .safetensors files (header + data) for tests and for stand-in trainer scripts.
 * Layouts follow ../shared/eval/loras/README.md and CONTRACTS.md §3: kohya SD1.5 / SDXL / FLUX and
 * ai-toolkit FLUX PEFT (`transformer.*` diffusers names or `diffusion_model.*` BFL names).
 * Deliberately free of vitest imports so plain scripts can import it.
 *
 * Full layouts are large; pass `sample: true` for a few representative blocks that keep every naming
 * and shape signal. Measured sizes (default rank and dtype): kohya SD1.5 r4 F16 4.8 MB (sample 0.56 MB),
 * kohya SDXL r4 F16 28.9 MB (sample 0.68 MB), kohya FLUX r16 ~154 MB (sample 12.6 MB), ai-toolkit
 * FLUX r16 BF16 ~172 MB (sample 14 MB). Sizes scale linearly with rank.
 *
 * A stand-in trainer writes a file with e.g.
 * `writeFileSync(out, buildKohyaSd15Lora({ rank: 4, alpha: 2, seed: epoch, metadata: { ss_output_name: name } }))`.
 */

/** One tensor to write. Without `data` the bytes are zeros (or seeded noise, see `seed`). */
export interface TensorSpec {
  name: string;
  dtype: string;
  shape: number[];
  data?: Buffer;
}

/** Options for `buildSafetensors`. */
export interface BuildOptions {
  /** Fill tensors that have no `data` with deterministic pseudo-random bytes instead of zeros. */
  seed?: number;
}

const BITS: Record<string, number> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F8_E4M3FNUZ: 8, F8_E5M2FNUZ: 8,
  I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, F64: 64, I64: 64, U64: 64, C64: 64,
  F4: 4, F6_E2M3: 6, F6_E3M2: 6,
};

/** Bytes a tensor of this dtype and shape occupies. Throws for dtypes the spec does not define. */
export function tensorByteLength(dtype: string, shape: number[]): number {
  const bits = BITS[dtype];
  if (bits === undefined) throw new Error(`buildSafetensors: unknown dtype ${dtype}`);
  return (shape.reduce((a, b) => a * b, 1) * bits) / 8;
}

/** Pads header JSON with spaces to a multiple of 8, as the Rust writer does, and prefixes N. */
function frame(headerJson: string, data: Buffer, headerLength?: bigint): Buffer {
  let json = Buffer.from(headerJson, 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(headerLength ?? BigInt(json.length), 0);
  return Buffer.concat([len, json, data]);
}

function fillSeeded(buf: Buffer, seed: number): void {
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i + 4 <= buf.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf.writeUInt32LE(x >>> 0, i);
  }
}

/**
 * A valid safetensors file: tensors are laid out in the order given, offsets contiguous from 0.
 * `metadata` becomes `__metadata__` (string values only, as the format requires).
 */
export function buildSafetensors(tensors: TensorSpec[], metadata?: Record<string, string>, opts: BuildOptions = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header['__metadata__'] = metadata;
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const t of tensors) {
    const size = tensorByteLength(t.dtype, t.shape);
    let data = t.data;
    if (data === undefined) {
      data = Buffer.alloc(size);
      if (opts.seed !== undefined) fillSeeded(data, opts.seed + chunks.length);
    } else if (data.length !== size) {
      throw new Error(`buildSafetensors: ${t.name} has ${data.length} bytes of data, ${t.dtype} ${JSON.stringify(t.shape)} needs ${size}`);
    }
    if (Object.hasOwn(header, t.name)) throw new Error(`buildSafetensors: duplicate tensor ${t.name}`);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
    chunks.push(data);
  }
  return frame(JSON.stringify(header), Buffer.concat(chunks, offset));
}

/**
 * Any header text and data, framed as safetensors. For malformed files: the header is not checked,
 * and `headerLength` overrides the 8-byte length field.
 */
export function buildRawSafetensors(headerText: string, data: Buffer = Buffer.alloc(0), headerLength?: bigint): Buffer {
  return frame(headerText, data, headerLength);
}

// ---------------------------------------------------------------------------------------------
// Scalar encoding (alphas are 0-dim tensors in the file's dtype).

/** float -> IEEE half bits, round to nearest even. */
export function numberToHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // a carry into the exponent is correct rounding
  return sign | half;
}

/** float -> bfloat16 bits (top half of the float32), round to nearest even. */
export function numberToBf16(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0] ?? 0;
  if (Number.isNaN(v)) return 0x7fc0;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** One little-endian scalar of a float dtype. */
export function encodeScalar(value: number, dtype: 'F16' | 'BF16' | 'F32' | 'F64'): Buffer {
  const b = Buffer.alloc(dtype === 'F64' ? 8 : dtype === 'F32' ? 4 : 2);
  if (dtype === 'F16') b.writeUInt16LE(numberToHalf(value), 0);
  else if (dtype === 'BF16') b.writeUInt16LE(numberToBf16(value), 0);
  else if (dtype === 'F32') b.writeFloatLE(value, 0);
  else b.writeDoubleLE(value, 0);
  return b;
}

// ---------------------------------------------------------------------------------------------
// LoRA layouts.

/** One adapted module: its name (without suffix) and down/up shapes. */
export interface LoraModuleSpec {
  module: string;
  down: number[];
  up: number[];
}

type WeightDtype = 'F16' | 'BF16' | 'F32';

interface PairStyle {
  down: string;
  up: string;
  /** Suffix of the alpha scalar; undefined for styles that store none. */
  alpha?: string;
}

const KOHYA: PairStyle = { down: '.lora_down.weight', up: '.lora_up.weight', alpha: '.alpha' };
const PEFT: PairStyle = { down: '.lora_A.weight', up: '.lora_B.weight' };

/** Expands modules into down/up(/alpha) tensors, sorted by name as safetensors writers emit them. */
export function loraTensors(
  modules: LoraModuleSpec[],
  style: PairStyle,
  dtype: WeightDtype,
  alpha?: { value: number; dtype: WeightDtype },
): TensorSpec[] {
  const out: TensorSpec[] = [];
  for (const m of modules) {
    out.push({ name: m.module + style.down, dtype, shape: m.down });
    out.push({ name: m.module + style.up, dtype, shape: m.up });
    if (style.alpha && alpha) out.push({ name: m.module + style.alpha, dtype: alpha.dtype, shape: [], data: encodeScalar(alpha.value, alpha.dtype) });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const linear = (module: string, r: number, inF: number, outF: number): LoraModuleSpec => ({ module, down: [r, inF], up: [outF, r] });
const conv1x1 = (module: string, r: number, inC: number, outC: number): LoraModuleSpec => ({ module, down: [r, inC, 1, 1], up: [outC, r, 1, 1] });

/** One kohya U-Net transformer block (attn1, attn2, GEGLU feed-forward). */
function kohyaTransformerBlock(prefix: string, r: number, c: number, context: number): LoraModuleSpec[] {
  return [
    linear(`${prefix}_attn1_to_q`, r, c, c),
    linear(`${prefix}_attn1_to_k`, r, c, c),
    linear(`${prefix}_attn1_to_v`, r, c, c),
    linear(`${prefix}_attn1_to_out_0`, r, c, c),
    linear(`${prefix}_attn2_to_q`, r, c, c),
    linear(`${prefix}_attn2_to_k`, r, context, c),
    linear(`${prefix}_attn2_to_v`, r, context, c),
    linear(`${prefix}_attn2_to_out_0`, r, c, c),
    linear(`${prefix}_ff_net_0_proj`, r, c, 8 * c),
    linear(`${prefix}_ff_net_2`, r, 4 * c, c),
  ];
}

/** kohya text encoder modules: CLIPAttention q/k/v/out and CLIPMLP fc1/fc2. */
function kohyaTextEncoder(prefix: string, r: number, layers: number, hidden: number): LoraModuleSpec[] {
  const out: LoraModuleSpec[] = [];
  for (let i = 0; i < layers; i++) {
    const p = `${prefix}_text_model_encoder_layers_${i}`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) out.push(linear(`${p}_self_attn_${proj}`, r, hidden, hidden));
    out.push(linear(`${p}_mlp_fc1`, r, hidden, 4 * hidden));
    out.push(linear(`${p}_mlp_fc2`, r, 4 * hidden, hidden));
  }
  return out;
}

/** Options shared by the kohya builders. */
export interface KohyaLoraOptions {
  /** network_dim (default 4 for SD1.5/SDXL, 16 for FLUX). */
  rank?: number;
  /** network_alpha, stored as a 0-dim `.alpha` tensor per module (default 1, kohya's default). */
  alpha?: number;
  /** dtype of the alpha scalars (default: the weight dtype, as kohya casts everything on save). */
  alphaDtype?: WeightDtype;
  /** Weight dtype (default F16, kohya's usual save_precision). */
  dtype?: WeightDtype;
  /** Merged over the default kohya metadata (values must be strings). */
  metadata?: Record<string, string>;
  /** Drop the default metadata and write only `metadata` (or none at all). */
  defaultMetadata?: boolean;
  /** No text-encoder modules (`--network_train_unet_only`). */
  unetOnly?: boolean;
  /** Only a few representative blocks: small files that keep every naming and shape signal. */
  sample?: boolean;
  /** Deterministic noise instead of zero weights (distinct files hash differently). */
  seed?: number;
}

function kohyaMetadata(opts: KohyaLoraOptions, rank: number, alpha: number, extra: Record<string, string>): Record<string, string> | undefined {
  const base = opts.defaultMetadata === false ? {} : {
    ss_network_dim: String(rank),
    ss_network_alpha: String(alpha),
    ss_output_name: 'loraloop_test',
    ss_sd_scripts_commit_hash: '48d368fa557731ad0488c07304dfeba8c07910eb',
    'modelspec.sai_model_spec': '1.0.1',
    ...extra,
  };
  const meta = { ...base, ...(opts.metadata ?? {}) };
  return Object.keys(meta).length > 0 ? meta : undefined;
}

function buildKohya(modules: LoraModuleSpec[], opts: KohyaLoraOptions, meta: Record<string, string> | undefined): Buffer {
  const dtype = opts.dtype ?? 'F16';
  const alpha = { value: opts.alpha ?? 1, dtype: opts.alphaDtype ?? dtype };
  return buildSafetensors(loraTensors(modules, KOHYA, dtype, alpha), meta, { seed: opts.seed });
}

/** SD1.5 U-Net Transformer2DModels: [kohya name, channels]. */
const SD15_ATTENTIONS: ReadonlyArray<readonly [string, number]> = [
  ['down_blocks_0_attentions_0', 320], ['down_blocks_0_attentions_1', 320],
  ['down_blocks_1_attentions_0', 640], ['down_blocks_1_attentions_1', 640],
  ['down_blocks_2_attentions_0', 1280], ['down_blocks_2_attentions_1', 1280],
  ['mid_block_attentions_0', 1280],
  ['up_blocks_1_attentions_0', 1280], ['up_blocks_1_attentions_1', 1280], ['up_blocks_1_attentions_2', 1280],
  ['up_blocks_2_attentions_0', 640], ['up_blocks_2_attentions_1', 640], ['up_blocks_2_attentions_2', 640],
  ['up_blocks_3_attentions_0', 320], ['up_blocks_3_attentions_1', 320], ['up_blocks_3_attentions_2', 320],
];

/**
 * kohya sd-scripts `networks.lora` for SD1.5 (README layout A): 192 U-Net modules
 * (proj_in/proj_out as 1x1 convs) + 72 text-encoder modules, each with `.alpha`.
 */
export function buildKohyaSd15Lora(opts: KohyaLoraOptions = {}): Buffer {
  const r = opts.rank ?? 4;
  const attentions = opts.sample ? SD15_ATTENTIONS.filter(([n]) => n === 'down_blocks_0_attentions_0' || n === 'mid_block_attentions_0') : SD15_ATTENTIONS;
  const modules: LoraModuleSpec[] = [];
  for (const [name, c] of attentions) {
    const p = `lora_unet_${name}`;
    modules.push(conv1x1(`${p}_proj_in`, r, c, c), conv1x1(`${p}_proj_out`, r, c, c));
    modules.push(...kohyaTransformerBlock(`${p}_transformer_blocks_0`, r, c, 768));
  }
  if (!opts.unetOnly) modules.push(...kohyaTextEncoder('lora_te', r, opts.sample ? 1 : 12, 768));
  const meta = kohyaMetadata(opts, r, opts.alpha ?? 1, {
    ss_network_module: 'networks.lora',
    ss_base_model_version: 'sd_v1',
    ss_v2: 'False',
    'modelspec.architecture': 'stable-diffusion-v1/lora',
  });
  return buildKohya(modules, opts, meta);
}

/** SDXL U-Net attentions in kohya's SAI naming: [name, channels, transformer depth]. */
const SDXL_ATTENTIONS: ReadonlyArray<readonly [string, number, number]> = [
  ['input_blocks_4_1', 640, 2], ['input_blocks_5_1', 640, 2],
  ['input_blocks_7_1', 1280, 10], ['input_blocks_8_1', 1280, 10],
  ['middle_block_1', 1280, 10],
  ['output_blocks_0_1', 1280, 10], ['output_blocks_1_1', 1280, 10], ['output_blocks_2_1', 1280, 10],
  ['output_blocks_3_1', 640, 2], ['output_blocks_4_1', 640, 2], ['output_blocks_5_1', 640, 2],
];

/**
 * kohya sd-scripts SDXL LoRA (CONTRACTS.md §3.4): SAI-named U-Net with linear proj_in/proj_out and
 * 2048-wide cross-attention context, plus lora_te1_ (CLIP-L, 12x768) and lora_te2_ (CLIP-G, 32x1280).
 */
export function buildKohyaSdxlLora(opts: KohyaLoraOptions = {}): Buffer {
  const r = opts.rank ?? 4;
  const attentions = opts.sample ? SDXL_ATTENTIONS.filter(([n]) => n === 'input_blocks_4_1') : SDXL_ATTENTIONS;
  const modules: LoraModuleSpec[] = [];
  for (const [name, c, depth] of attentions) {
    const p = `lora_unet_${name}`;
    modules.push(linear(`${p}_proj_in`, r, c, c), linear(`${p}_proj_out`, r, c, c));
    for (let i = 0; i < depth; i++) modules.push(...kohyaTransformerBlock(`${p}_transformer_blocks_${i}`, r, c, 2048));
  }
  if (!opts.unetOnly) {
    modules.push(...kohyaTextEncoder('lora_te1', r, opts.sample ? 1 : 12, 768));
    modules.push(...kohyaTextEncoder('lora_te2', r, opts.sample ? 1 : 32, 1280));
  }
  const meta = kohyaMetadata(opts, r, opts.alpha ?? 1, {
    ss_network_module: 'networks.lora',
    ss_base_model_version: 'sdxl_base_v1-0',
    ss_v2: 'False',
    'modelspec.architecture': 'stable-diffusion-xl-v1-base/lora',
  });
  return buildKohya(modules, opts, meta);
}

const FLUX_HIDDEN = 3072;
const FLUX_DOUBLE = 19;
const FLUX_SINGLE = 38;

/**
 * kohya sd-scripts `networks.lora_flux` (CONTRACTS.md §3.4): `lora_unet_double_blocks_{0..18}_*` and
 * `lora_unet_single_blocks_{0..37}_*` with `.alpha`. Text encoder modules (lora_te1_, CLIP-L) only
 * when `unetOnly` is false; it defaults to true here, as FLUX LoRAs rarely train CLIP.
 */
export function buildKohyaFluxLora(opts: KohyaLoraOptions = {}): Buffer {
  const r = opts.rank ?? 16;
  const h = FLUX_HIDDEN;
  const doubles = opts.sample ? [0, FLUX_DOUBLE - 1] : range(FLUX_DOUBLE);
  const singles = opts.sample ? [0, FLUX_SINGLE - 1] : range(FLUX_SINGLE);
  const modules: LoraModuleSpec[] = [];
  for (const i of doubles) {
    for (const s of ['img', 'txt']) {
      const p = `lora_unet_double_blocks_${i}_${s}`;
      modules.push(
        linear(`${p}_attn_qkv`, r, h, 3 * h),
        linear(`${p}_attn_proj`, r, h, h),
        linear(`${p}_mlp_0`, r, h, 4 * h),
        linear(`${p}_mlp_2`, r, 4 * h, h),
        linear(`${p}_mod_lin`, r, h, 6 * h),
      );
    }
  }
  for (const i of singles) {
    const p = `lora_unet_single_blocks_${i}`;
    modules.push(linear(`${p}_linear1`, r, h, 3 * h + 4 * h), linear(`${p}_linear2`, r, h + 4 * h, h), linear(`${p}_modulation_lin`, r, h, 3 * h));
  }
  if (opts.unetOnly === false) modules.push(...kohyaTextEncoder('lora_te1', r, opts.sample ? 1 : 12, 768));
  const meta = kohyaMetadata(opts, r, opts.alpha ?? 1, {
    ss_network_module: 'networks.lora_flux',
    ss_base_model_version: 'flux1',
    'modelspec.architecture': 'flux-1-dev/lora',
  });
  return buildKohya(modules, opts, meta);
}

/** Options for the ai-toolkit FLUX builder. */
export interface AiToolkitFluxOptions {
  /** linear rank (default 16, Replicate's default). */
  rank?: number;
  /** `transformer` (diffusers names, FLUX.1 ai-toolkit) or `diffusion_model` (BFL names). */
  prefix?: 'transformer' | 'diffusion_model';
  /** Weight dtype (default BF16, ai-toolkit's save dtype). */
  dtype?: WeightDtype;
  /** Trigger word: written as ss_tag_frequency `{"1_<trigger>": {"<trigger>": 1}}`, as ai-toolkit does. */
  trigger?: string;
  /** Job name (ss_output_name; default "my_flux_lora"). */
  name?: string;
  /** Merged over the default ai-toolkit metadata. */
  metadata?: Record<string, string>;
  /** Drop the default metadata and write only `metadata` (or none). */
  defaultMetadata?: boolean;
  sample?: boolean;
  seed?: number;
}

/**
 * ostris ai-toolkit FLUX.1 LoRA in PEFT format (README layout B): lora_A/lora_B, no `.alpha`
 * (alpha is forced to rank). 266 double-block + 228 single-block modules with the `transformer` prefix.
 */
export function buildAiToolkitFluxLora(opts: AiToolkitFluxOptions = {}): Buffer {
  const r = opts.rank ?? 16;
  const h = FLUX_HIDDEN;
  const prefix = opts.prefix ?? 'transformer';
  const doubles = opts.sample ? [0, FLUX_DOUBLE - 1] : range(FLUX_DOUBLE);
  const singles = opts.sample ? [0, FLUX_SINGLE - 1] : range(FLUX_SINGLE);
  const modules: LoraModuleSpec[] = [];
  if (prefix === 'transformer') {
    for (const i of doubles) {
      const p = `transformer.transformer_blocks.${i}`;
      for (const a of ['to_q', 'to_k', 'to_v', 'to_out.0', 'add_q_proj', 'add_k_proj', 'add_v_proj', 'to_add_out']) modules.push(linear(`${p}.attn.${a}`, r, h, h));
      for (const ff of ['ff', 'ff_context']) modules.push(linear(`${p}.${ff}.net.0.proj`, r, h, 4 * h), linear(`${p}.${ff}.net.2`, r, 4 * h, h));
      modules.push(linear(`${p}.norm1.linear`, r, h, 6 * h), linear(`${p}.norm1_context.linear`, r, h, 6 * h));
    }
    for (const i of singles) {
      const p = `transformer.single_transformer_blocks.${i}`;
      for (const a of ['to_q', 'to_k', 'to_v']) modules.push(linear(`${p}.attn.${a}`, r, h, h));
      modules.push(linear(`${p}.proj_mlp`, r, h, 4 * h), linear(`${p}.proj_out`, r, 5 * h, h), linear(`${p}.norm.linear`, r, h, 3 * h));
    }
  } else {
    for (const i of doubles) {
      for (const s of ['img', 'txt']) {
        const p = `diffusion_model.double_blocks.${i}.${s}`;
        modules.push(
          linear(`${p}_attn.qkv`, r, h, 3 * h),
          linear(`${p}_attn.proj`, r, h, h),
          linear(`${p}_mlp.0`, r, h, 4 * h),
          linear(`${p}_mlp.2`, r, 4 * h, h),
          linear(`${p}_mod.lin`, r, h, 6 * h),
        );
      }
    }
    for (const i of singles) {
      const p = `diffusion_model.single_blocks.${i}`;
      modules.push(linear(`${p}.linear1`, r, h, 7 * h), linear(`${p}.linear2`, r, 5 * h, h), linear(`${p}.modulation.lin`, r, h, 3 * h));
    }
  }
  const name = opts.name ?? 'my_flux_lora';
  const defaults: Record<string, string> = opts.defaultMetadata === false ? {} : {
    format: 'pt',
    software: JSON.stringify({ name: 'ai-toolkit', repo: 'https://github.com/ostris/ai-toolkit', version: '0.1.0' }),
    training_info: JSON.stringify({ step: 1000, epoch: 0 }),
    ss_base_model_version: 'flux.1',
    ss_output_name: name,
    name,
    ...(opts.trigger ? { ss_tag_frequency: JSON.stringify({ [`1_${opts.trigger}`]: { [opts.trigger]: 1 } }) } : {}),
  };
  const meta = { ...defaults, ...(opts.metadata ?? {}) };
  const tensors = loraTensors(modules, PEFT, opts.dtype ?? 'BF16');
  return buildSafetensors(tensors, Object.keys(meta).length > 0 ? meta : undefined, { seed: opts.seed });
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

// ---------------------------------------------------------------------------------------------
// Malformed files: each breaks exactly one rule of the format (CONTRACTS.md §3.1).

const SMALL_VALID: TensorSpec[] = [
  { name: 'a.lora_down.weight', dtype: 'F16', shape: [2, 4] },
  { name: 'a.lora_up.weight', dtype: 'F16', shape: [4, 2] },
];

/** Builders for broken files, named after what is wrong with them. */
export const malformedSafetensors = {
  /** Fewer than 8 bytes. */
  tooShort: (): Buffer => Buffer.from([1, 2, 3]),
  /** A valid file cut off in the middle of its data section. */
  truncated: (): Buffer => {
    const ok = buildSafetensors(SMALL_VALID);
    return ok.subarray(0, ok.length - 5);
  },
  /** Header length field larger than the whole file. */
  headerLengthPastEnd: (): Buffer => {
    const ok = buildSafetensors(SMALL_VALID);
    ok.writeBigUInt64LE(BigInt(ok.length), 0);
    return ok;
  },
  /** Header length field over the 100,000,000-byte limit. */
  headerLengthOver100MB: (): Buffer => {
    const ok = buildSafetensors(SMALL_VALID);
    ok.writeBigUInt64LE(100_000_001n, 0);
    return ok;
  },
  /** Header length field of 2^64-1 (must not wrap around in a JS number). */
  headerLengthHuge: (): Buffer => {
    const ok = buildSafetensors(SMALL_VALID);
    ok.writeBigUInt64LE(0xffff_ffff_ffff_ffffn, 0);
    return ok;
  },
  /** Two tensors share bytes 8..16. */
  overlappingOffsets: (): Buffer =>
    buildRawSafetensors(
      JSON.stringify({
        'a.lora_down.weight': { dtype: 'F16', shape: [2, 4], data_offsets: [0, 16] },
        'a.lora_up.weight': { dtype: 'F16', shape: [4, 2], data_offsets: [8, 24] },
      }),
      Buffer.alloc(24),
    ),
  /** Bytes 16..24 belong to no tensor. */
  gapInOffsets: (): Buffer =>
    buildRawSafetensors(
      JSON.stringify({
        'a.lora_down.weight': { dtype: 'F16', shape: [2, 4], data_offsets: [0, 16] },
        'a.lora_up.weight': { dtype: 'F16', shape: [4, 2], data_offsets: [24, 40] },
      }),
      Buffer.alloc(40),
    ),
  /** The last tensor ends past the end of the file. */
  offsetsPastEnd: (): Buffer =>
    buildRawSafetensors(
      JSON.stringify({
        'a.lora_down.weight': { dtype: 'F16', shape: [2, 4], data_offsets: [0, 16] },
        'a.lora_up.weight': { dtype: 'F16', shape: [4, 2], data_offsets: [16, 32] },
      }),
      Buffer.alloc(20),
    ),
  /** Bytes after the last tensor. */
  trailingBytes: (): Buffer => Buffer.concat([buildSafetensors(SMALL_VALID), Buffer.alloc(4)]),
  /** A span that does not match shape x dtype size. */
  spanMismatch: (): Buffer =>
    buildRawSafetensors(
      JSON.stringify({ 'a.lora_down.weight': { dtype: 'F16', shape: [2, 4], data_offsets: [0, 12] } }),
      Buffer.alloc(12),
    ),
  /** dtype "F12" does not exist. */
  unknownDtype: (): Buffer =>
    buildRawSafetensors(
      JSON.stringify({ 'a.lora_down.weight': { dtype: 'F12', shape: [2, 4], data_offsets: [0, 16] } }),
      Buffer.alloc(16),
    ),
  /** Header is a JSON array. */
  headerArray: (): Buffer => buildRawSafetensors('[]'),
  /** Header starts with a space instead of `{`. */
  headerLeadingSpace: (): Buffer => buildRawSafetensors(' {}'),
  /** Header is not JSON at all. */
  headerNotJson: (): Buffer => buildRawSafetensors('{"a.lora_down.weight": '),
  /** `__metadata__` holds a number. */
  nonStringMetadata: (): Buffer =>
    buildRawSafetensors(
      JSON.stringify({
        __metadata__: { ss_network_dim: 4 },
        'a.lora_down.weight': { dtype: 'F16', shape: [2, 4], data_offsets: [0, 16] },
      }),
      Buffer.alloc(16),
    ),
  /** The same tensor name twice (JSON.parse alone would keep the last silently). */
  duplicateKeys: (): Buffer =>
    buildRawSafetensors(
      '{"a.lora_down.weight":{"dtype":"F16","shape":[2,4],"data_offsets":[0,16]},' +
        '"a.lora_down.weight":{"dtype":"F16","shape":[2,4],"data_offsets":[0,16]}}',
      Buffer.alloc(16),
    ),
} as const;
