/**
 * LoRA inspection from a .safetensors header: format, base model, rank, alpha, targets, trigger words.
 * A file is never read whole: 8 bytes, then the N header bytes, then only the few bytes of each
 * `.alpha` scalar (positioned reads, merged when close together).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { LoraloopError } from '../../core/errors.js';
import { collectKeyStats, decideFormat, mode, type AlphaRef, type KeyStats } from './analyze.js';
import { decideArchitecture } from './architecture.js';
import { decodeScalar } from './dtypes.js';
import { parseHeader, readHeaderLength, type ParsedHeader } from './header.js';
import { jsonObject, parseJsonMetadata, readTagFrequency, topTags, triggerWords } from './metadata.js';
import type { LoraComponent, LoraInspection } from './schema.js';

export type { LoraInspection } from './schema.js';

/** Alpha reads closer than this are merged into one read. */
const MERGE_GAP_BYTES = 64 * 1024;
/** ...as long as the merged read stays this small. */
const MAX_MERGED_READ = 1024 * 1024;

/** Inspects a LoRA held in memory (e.g. a downloaded file). */
export function inspectSafetensorsBuffer(buf: Buffer): LoraInspection {
  const n = readHeaderLength(buf.subarray(0, 8), buf.length);
  const header = parseHeader(buf.subarray(8, 8 + n), buf.length);
  const stats = collectKeyStats(header);
  const alphas = stats.alphas.map((a) => decodeScalar(buf, a.offset, a.dtype) ?? Number.NaN);
  return assemble(header, stats, alphas);
}

/** Inspects a LoRA file on disk, reading only its header and alpha scalars. */
export async function inspectSafetensorsFile(path: string): Promise<LoraInspection> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (cause) {
    throw openError(path, cause);
  }
  try {
    const info = await fh.stat();
    if (!info.isFile()) {
      throw new LoraloopError('INVALID_INPUT', `${path} is not a regular file.`, { hint: 'Give the path of a .safetensors file.' });
    }
    const size = info.size;
    const first = await readAt(fh, 0, Math.min(8, size));
    const n = readHeaderLength(first, size);
    const header = parseHeader(await readAt(fh, 8, n), size);
    const stats = collectKeyStats(header);
    const alphas = await readAlphas(fh, stats.alphas);
    return assemble(header, stats, alphas);
  } catch (e) {
    if (e instanceof LoraloopError) throw e;
    throw openError(path, e);
  } finally {
    await fh.close();
  }
}

function openError(path: string, cause: unknown): LoraloopError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') {
    return new LoraloopError('NOT_FOUND', `No file at ${path}.`, { hint: 'Check the path to the .safetensors file.', cause });
  }
  return new LoraloopError('INVALID_INPUT', `Cannot read ${path} (${code ?? (cause instanceof Error ? cause.message : 'unknown error')}).`, {
    hint: 'Give the path of a readable .safetensors file.',
    cause,
  });
}

/** Reads exactly `length` bytes at `position`; a short read means the file changed under us. */
async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) {
      throw new LoraloopError('BAD_SAFETENSORS', `File ended at byte ${position + done} while reading ${length} bytes at ${position}.`, {
        hint: 'The file is truncated or was modified while being read; try again once it is complete.',
      });
    }
    done += bytesRead;
  }
  return buf;
}

/** Positioned reads of the alpha scalars, merging neighbours so hundreds of alphas cost a few reads. */
async function readAlphas(fh: FileHandle, refs: AlphaRef[]): Promise<number[]> {
  const values = new Array<number>(refs.length).fill(Number.NaN);
  const order = refs.map((_, i) => i).sort((a, b) => (refs[a] as AlphaRef).offset - (refs[b] as AlphaRef).offset);
  let i = 0;
  while (i < order.length) {
    const startRef = refs[order[i] as number] as AlphaRef;
    const start = startRef.offset;
    let end = start + startRef.length;
    let j = i + 1;
    while (j < order.length) {
      const next = refs[order[j] as number] as AlphaRef;
      const nextEnd = next.offset + next.length;
      if (next.offset - end > MERGE_GAP_BYTES || nextEnd - start > MAX_MERGED_READ) break;
      end = Math.max(end, nextEnd);
      j++;
    }
    const chunk = await readAt(fh, start, end - start);
    for (let k = i; k < j; k++) {
      const idx = order[k] as number;
      const ref = refs[idx] as AlphaRef;
      values[idx] = decodeScalar(chunk, ref.offset - start, ref.dtype) ?? Number.NaN;
    }
    i = j;
  }
  return values;
}

const COMPONENT_ORDER: LoraComponent[] = ['unet', 'transformer', 'text_encoder', 'text_encoder_2', 'text_encoder_3', 'other'];

function countsToRecord<K extends string>(map: Map<K, number>, order?: K[]): Record<string, number> {
  const keys = order ? order.filter((k) => map.has(k)) : [...map.keys()].sort();
  return Object.fromEntries(keys.map((k) => [k, map.get(k) ?? 0]));
}

/** Turns the key statistics and alpha values into the public answer. */
function assemble(header: ParsedHeader, stats: KeyStats, alphaValues: number[]): LoraInspection {
  const meta = header.metadata;
  const evidence: string[] = [];
  const warnings: string[] = [];

  const { format, evidence: formatEvidence } = decideFormat(stats);
  evidence.push(formatEvidence);

  const arch = decideArchitecture(stats, meta);
  evidence.push(...arch.evidence);
  warnings.push(...arch.warnings);

  // Rank: the first dimension of the down weights.
  const rank = mode(stats.ranks) ?? null;
  const rankKeys = [...stats.ranks.keys()];
  const rankMin = rankKeys.length ? Math.min(...rankKeys) : null;
  const rankMax = rankKeys.length ? Math.max(...rankKeys) : null;
  if (rank !== null) {
    if (rankMin === rankMax) {
      evidence.push(`rank ${rank}: all ${stats.downs} down weights have first dimension ${rank}`);
    } else {
      evidence.push(`rank ${rank}: the most common first dimension of ${stats.downs} down weights`);
      warnings.push(`Ranks are mixed (${rankMin}..${rankMax}); rank reports the most common one.`);
    }
    checkMetaNumber(meta, 'ss_network_dim', rank, 'rank', warnings);
  }

  // Alpha: decoded scalars, else alpha = rank.
  let alpha: number | null = null;
  let alphaSource: LoraInspection['alpha_source'] = 'none';
  const finite = alphaValues.filter((v) => Number.isFinite(v));
  if (finite.length > 0) {
    const hist = new Map<number, number>();
    for (const v of finite) hist.set(v, (hist.get(v) ?? 0) + 1);
    alpha = mode(hist) ?? null;
    alphaSource = 'tensors';
    const dtypes = [...new Set(stats.alphas.map((a) => a.dtype))].join('/');
    // A loop, not Math.min(...finite): spreading 100k+ values overflows the call stack.
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const v of finite) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    evidence.push(
      lo === hi
        ? `alpha ${alpha}: all ${finite.length} .alpha scalars (${dtypes}) hold ${alpha}`
        : `alpha ${alpha}: the most common of ${finite.length} .alpha scalars (${dtypes})`,
    );
    if (lo !== hi) warnings.push(`Alphas vary across modules (${lo}..${hi}); alpha reports the most common one.`);
    if (finite.length < alphaValues.length) warnings.push(`${alphaValues.length - finite.length} .alpha scalars are NaN or infinite.`);
    if (alpha !== null) checkMetaNumber(meta, 'ss_network_alpha', alpha, 'alpha', warnings);
  } else if (rank !== null) {
    alpha = rank;
    alphaSource = 'default_rank';
    evidence.push(`alpha ${rank} (= rank): no .alpha tensors, so the scale is 1.0 (ComfyUI's default; kohya treats a missing alpha as alpha = rank)`);
    const metaAlpha = Number(meta['ss_network_alpha']);
    if (meta['ss_network_alpha'] !== undefined && Number.isFinite(metaAlpha) && metaAlpha !== rank) {
      warnings.push(`Metadata ss_network_alpha=${meta['ss_network_alpha']}, but the file stores no .alpha tensors, so loaders apply scale 1.0 (alpha = rank = ${rank}).`);
    }
    const peftAlpha = peftConfigAlpha(meta);
    if (peftAlpha !== undefined && peftAlpha.alpha !== peftAlpha.r) {
      warnings.push(
        `Metadata lora_adapter_metadata declares lora_alpha=${peftAlpha.alpha} with r=${peftAlpha.r}: diffusers applies ${peftAlpha.alpha}/${peftAlpha.r}, while ComfyUI, which reads only .alpha tensors, applies 1.0.`,
      );
    }
  }
  if (stats.oddAlphas.length > 0) warnings.push(`Some .alpha tensors are not one-element float scalars and were ignored: ${stats.oddAlphas.join(', ')}.`);

  // Targets.
  const components = COMPONENT_ORDER.filter((c) => stats.modulesByComponent.has(c));
  const byComponent = countsToRecord(stats.modulesByComponent, COMPONENT_ORDER);
  const textEncoder = components.some((c) => c.startsWith('text_encoder'));
  if (stats.downs > 0) {
    evidence.push(
      `targets: ${stats.downs} adapted modules (${Object.entries(byComponent)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ')})`,
    );
  }
  if (stats.downs !== stats.ups) warnings.push(`${stats.downs} down weights but ${stats.ups} up weights: some LoRA pairs are incomplete.`);
  if (format !== 'unknown' && stats.unrecognizedCount > 0) {
    warnings.push(`${stats.unrecognizedCount} tensors match no LoRA convention, e.g. ${stats.unrecognized.map((k) => `"${k}"`).join(', ')}.`);
  }
  if (stats.lycoris > 0) warnings.push(`${stats.lycoris} LyCORIS (LoHa/LoKr/OFT) tensors are present; their rank and alpha are not decoded.`);
  if (stats.dora > 0) evidence.push(`DoRA: ${stats.dora} .dora_scale magnitude vectors`);

  // Words.
  const dirs = readTagFrequency(meta);
  const trigger = triggerWords(meta, dirs);
  evidence.push(...trigger.evidence);
  const tags = topTags(dirs, meta);

  return {
    format,
    architecture: arch.architecture,
    rank,
    rank_min: rankMin,
    rank_max: rankMax,
    alpha,
    alpha_source: alphaSource,
    scale: alpha !== null && rank !== null ? alpha / rank : null,
    targets: { components, modules: stats.downs, modules_by_component: byComponent, text_encoder: textEncoder },
    tensors: {
      count: stats.count,
      dtypes: countsToRecord(stats.dtypes),
      total_bytes: stats.bytes,
      parameters: stats.parameters,
    },
    metadata: meta,
    metadata_json: parseJsonMetadata(meta),
    trigger_words: trigger.words,
    tags,
    warnings,
    evidence,
    header_bytes: header.headerBytes,
    file_bytes: header.fileBytes,
  };
}

/** Warns when a kohya metadata number disagrees with what the weights say. */
function checkMetaNumber(meta: Record<string, string>, key: string, actual: number, what: string, warnings: string[]): void {
  const raw = meta[key];
  if (raw === undefined || raw === 'None') return;
  const value = Number(raw);
  if (Number.isFinite(value) && Math.abs(value - actual) > 1e-3 * Math.max(1, Math.abs(actual))) {
    warnings.push(`Metadata ${key}=${raw}, but the weights give ${what} ${actual}.`);
  }
}

/**
 * diffusers (>= 0.34) saves the PEFT LoraConfig as JSON under `lora_adapter_metadata`, keys optionally
 * prefixed by component (`transformer.lora_alpha`). Returns the first alpha and rank it declares.
 */
function peftConfigAlpha(meta: Record<string, string>): { alpha: number; r: number } | undefined {
  const parsed = jsonObject(meta['lora_adapter_metadata']);
  if (!parsed) return undefined;
  let alpha: number | undefined;
  let r: number | undefined;
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== 'number') continue;
    if (alpha === undefined && (k === 'lora_alpha' || k.endsWith('.lora_alpha'))) alpha = v;
    if (r === undefined && (k === 'r' || k.endsWith('.r'))) r = v;
  }
  return alpha !== undefined && r !== undefined ? { alpha, r } : undefined;
}
