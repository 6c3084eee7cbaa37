/**
 * One pass over a parsed header's tensors, collecting every signal the inspection needs: naming
 * style, ranks, components, alpha locations and base-model clues (CONTRACTS.md §3.3-3.7).
 * Headers of FLUX LoRAs (and LyCORIS files) can hold 100k+ keys, so the loop stays allocation-light:
 * suffix checks on every key, substring and shape checks only on down weights.
 */
import type { ParsedHeader } from './header.js';
import { SCALAR_DTYPES } from './dtypes.js';
import { classifyKey, componentOf, moduleOf, type Component, type KeyStyle } from './keys.js';

/** Where one `.alpha` scalar lives in the file. */
export interface AlphaRef {
  name: string;
  dtype: string;
  /** Absolute file offset (data section start + begin). */
  offset: number;
  /** Bytes to read (the dtype width). */
  length: number;
}

/** Everything the key pass learned. Decisions are made from this by `decide*` functions. */
export interface KeyStats {
  /** LoRA tensors (down and up) per naming style. */
  styleTensors: Map<KeyStyle, number>;
  downs: number;
  ups: number;
  alphas: AlphaRef[];
  /** `.alpha` tensors that are not one-element float scalars. */
  oddAlphas: string[];
  /** rank -> number of down weights with that rank. */
  ranks: Map<number, number>;
  modulesByComponent: Map<Component, number>;
  dtypes: Map<string, number>;
  parameters: number;
  bytes: number;
  count: number;
  /** FLUX block indices seen, by BFL/kohya or diffusers naming. */
  doubleBlocks: Set<number>;
  singleBlocks: Set<number>;
  /** diffusers `transformer_blocks.<i>` under a transformer: FLUX double blocks or SD3 joint blocks. */
  ditBlocks: Set<number>;
  jointBlocks: number;
  /** Transformer down weights reading 3072 features (FLUX.1 hidden size). */
  transformer3072: number;
  /** in_features of U-Net attn2 to_k/to_v down weights: the cross-attention context width. */
  context: Map<number, number>;
  /** U-Net Linear down weights whose in_features is a known context width (768/1024/2048). */
  unetContextLike: Map<number, number>;
  /** Smallest down in_features per text encoder: its hidden size. */
  textHidden: Map<Component, number>;
  /** First U-Net key in SAI/LDM naming (input_blocks/middle_block/output_blocks). */
  ldmKey: string | undefined;
  /** First U-Net key with a transformer depth above 1 (SDXL). */
  deepKey: string | undefined;
  /** First U-Net attn2 to_k key seen (for evidence). */
  contextKey: string | undefined;
  /** A few keys that matched no LoRA convention, and how many there were. */
  unrecognized: string[];
  unrecognizedCount: number;
  /** LyCORIS (LoHa/LoKr) and DoRA markers. */
  lycoris: number;
  dora: number;
}

const CONTEXT_WIDTHS = new Set([768, 1024, 2048]);
const BLOCK_RE = /^(single_transformer_blocks|transformer_blocks|double_blocks|single_blocks)[._](\d+)/;
const DEEP_RE = /transformer_blocks[._][1-9]/;
const LYCORIS_MARKERS = ['.hada_w1_a', '.hada_w1_b', '.lokr_w1', '.lokr_w1_a', '.oft_blocks', '.lokr_w2'];

function bump<K>(map: Map<K, number>, key: K, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

/** Walks every tensor once. */
export function collectKeyStats(header: ParsedHeader): KeyStats {
  const s: KeyStats = {
    styleTensors: new Map(),
    downs: 0,
    ups: 0,
    alphas: [],
    oddAlphas: [],
    ranks: new Map(),
    modulesByComponent: new Map(),
    dtypes: new Map(),
    parameters: 0,
    bytes: 0,
    count: 0,
    doubleBlocks: new Set(),
    singleBlocks: new Set(),
    ditBlocks: new Set(),
    jointBlocks: 0,
    transformer3072: 0,
    context: new Map(),
    unetContextLike: new Map(),
    textHidden: new Map(),
    ldmKey: undefined,
    deepKey: undefined,
    contextKey: undefined,
    unrecognized: [],
    unrecognizedCount: 0,
    lycoris: 0,
    dora: 0,
  };

  for (const t of header.tensors) {
    s.count++;
    s.parameters += t.elements;
    s.bytes += t.end - t.begin;
    bump(s.dtypes, t.dtype);

    const key = classifyKey(t.name);
    if (key === undefined) {
      noteUnrecognized(s, t.name);
      continue;
    }
    if (key.role === 'alpha') {
      const width = t.dtype === 'F64' ? 8 : t.dtype === 'F32' ? 4 : 2;
      if (t.elements === 1 && SCALAR_DTYPES.has(t.dtype)) {
        s.alphas.push({ name: t.name, dtype: t.dtype, offset: header.dataStart + t.begin, length: width });
      } else if (s.oddAlphas.length < 3) {
        s.oddAlphas.push(`${t.name} (${t.dtype} ${JSON.stringify(t.shape)})`);
      }
      continue;
    }
    if (key.style) bump(s.styleTensors, key.style);
    if (key.role === 'up') {
      s.ups++;
      continue;
    }

    // A down weight: one adapted module.
    s.downs++;
    const rank = t.shape[0];
    if (rank !== undefined && rank > 0 && t.shape.length >= 2) bump(s.ranks, rank);
    const inFeatures = t.shape.length >= 2 ? t.shape[1] : undefined;
    const { component, path } = componentOf(moduleOf(t.name, key));
    bump(s.modulesByComponent, component);
    if (inFeatures === undefined) continue;

    if (component === 'transformer') {
      if (inFeatures === 3072) s.transformer3072++;
      const m = BLOCK_RE.exec(path);
      if (m) {
        const idx = Number(m[2]);
        if (m[1] === 'double_blocks') s.doubleBlocks.add(idx);
        else if (m[1] === 'transformer_blocks') s.ditBlocks.add(idx);
        else s.singleBlocks.add(idx);
      } else if (path.startsWith('joint_blocks')) {
        s.jointBlocks++;
      }
    } else if (component === 'unet') {
      if (path.includes('attn2') && (path.includes('to_k') || path.includes('to_v'))) {
        bump(s.context, inFeatures);
        s.contextKey ??= t.name;
      }
      if (t.shape.length === 2 && CONTEXT_WIDTHS.has(inFeatures)) bump(s.unetContextLike, inFeatures);
      if (s.ldmKey === undefined && /^(input_blocks|middle_block|output_blocks)/.test(path)) s.ldmKey = t.name;
      if (s.deepKey === undefined && DEEP_RE.test(path)) s.deepKey = t.name;
    } else if (component === 'text_encoder' || component === 'text_encoder_2' || component === 'text_encoder_3') {
      // fc2 reads 4x hidden; every other CLIP module reads the hidden size, so the minimum is it.
      const prev = s.textHidden.get(component);
      if (prev === undefined || inFeatures < prev) s.textHidden.set(component, inFeatures);
    }
  }
  return s;
}

function noteUnrecognized(s: KeyStats, name: string): void {
  if (name.endsWith('.dora_scale')) {
    s.dora++;
    return;
  }
  if (name.endsWith('.lora_mid.weight')) return; // kohya LoCon middle conv: part of a known pair
  for (const marker of LYCORIS_MARKERS) {
    if (name.endsWith(marker) || name.includes(`${marker}.`)) {
      s.lycoris++;
      return;
    }
  }
  s.unrecognizedCount++;
  if (s.unrecognized.length < 3) s.unrecognized.push(name);
}

/** The most common key of a histogram (ties: the larger key, so "mixed" reports the upper rank). */
export function mode(map: Map<number, number>): number | undefined {
  let best: number | undefined;
  let bestCount = -1;
  for (const [k, n] of map) {
    if (n > bestCount || (n === bestCount && best !== undefined && k > best)) {
      best = k;
      bestCount = n;
    }
  }
  return best;
}

const STYLE_WORDS: Record<KeyStyle, string> = {
  kohya: '.lora_down/.lora_up.weight (kohya)',
  peft: '.lora_A/.lora_B.weight (PEFT)',
  diffusers: '.lora.down/.lora.up or .lora_linear_layer (diffusers)',
  'diffusers-legacy': '<proj>_lora.down/up.weight attention processors (diffusers < 0.22)',
  cloneofsimo: '<target>:<index>:down/up (cloneofsimo lora_diffusion)',
};

/** Naming style by majority of LoRA tensors; diffusers saves legitimately mix in lora_A/lora_B. */
export function decideFormat(s: KeyStats): { format: KeyStyle | 'unknown'; evidence: string } {
  const total = s.downs + s.ups;
  if (total === 0) {
    let why = 'no down/up (lora_down, lora_A, lora.down...) weights found';
    if (s.lycoris > 0) why += `; ${s.lycoris} LyCORIS LoHa/LoKr/OFT tensors present, which this inspector does not decode`;
    else if (s.unrecognized.length > 0) why += `; keys look like ${s.unrecognized.map((k) => `"${k}"`).join(', ')} (a full checkpoint or embedding?)`;
    return { format: 'unknown', evidence: `format unknown: ${why}` };
  }
  let best: KeyStyle = 'kohya';
  let bestCount = -1;
  for (const [style, n] of s.styleTensors) {
    if (n > bestCount) {
      best = style;
      bestCount = n;
    }
  }
  const diffusers = s.styleTensors.get('diffusers') ?? 0;
  const peft = s.styleTensors.get('peft') ?? 0;
  if (diffusers > 0 && diffusers + peft >= bestCount) {
    const mixed = peft > 0 ? ` (with ${peft} lora_A/lora_B tensors, as diffusers' SD/SDXL converter leaves them)` : '';
    return {
      format: 'diffusers',
      evidence: `format diffusers: ${diffusers} of ${total} LoRA tensors use ${STYLE_WORDS.diffusers}${mixed}`,
    };
  }
  return { format: best, evidence: `format ${best}: ${bestCount} of ${total} LoRA tensors use ${STYLE_WORDS[best]}` };
}
