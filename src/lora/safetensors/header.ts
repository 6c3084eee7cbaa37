/**
 * Strict safetensors header parsing: the 8-byte length, the JSON header, and the layout checks the
 * reference Rust reader performs (huggingface/safetensors `tensor.rs`; CONTRACTS.md §3.1).
 * Nothing here touches tensor data: callers hand in the header bytes and the file size.
 */
import { LoraloopError } from '../../core/errors.js';
import { dtypeBits } from './dtypes.js';

/** The reference reader refuses headers larger than this (`MAX_HEADER_SIZE`). */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor as the header describes it. Offsets are relative to the start of the data section. */
export interface TensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Element count (1 for a scalar with shape `[]`). */
  elements: number;
  begin: number;
  end: number;
}

/** A header that passed every layout check. */
export interface ParsedHeader {
  /** Tensors in header (JSON key) order. */
  tensors: TensorEntry[];
  /** The `__metadata__` map (empty when absent). */
  metadata: Record<string, string>;
  /** N, the JSON header length in bytes. */
  headerBytes: number;
  /** Total file size in bytes. */
  fileBytes: number;
  /** Absolute file offset of the data section (8 + N). */
  dataStart: number;
  /** Size of the data section in bytes. */
  dataBytes: number;
}

const GENERIC_HINT = 'Check that this is a complete .safetensors file; download or export it again if it was cut short.';

function bad(message: string, hint: string = GENERIC_HINT, details?: Record<string, unknown>): LoraloopError {
  return new LoraloopError('BAD_SAFETENSORS', message, { hint, category: 'user', details });
}

/**
 * Reads N from the first 8 bytes and checks it against the file size.
 * N is a u64, so it is read as a BigInt: a garbage length must be reported, not wrapped.
 */
export function readHeaderLength(first8: Buffer, fileBytes: number): number {
  if (fileBytes < 8 || first8.length < 8) {
    throw bad(
      `File is ${fileBytes} bytes long; a safetensors file starts with an 8-byte header length, so this is empty or truncated.`,
    );
  }
  const n = first8.readBigUInt64LE(0);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw bad(
      `Header length field says ${n} bytes, over the 100,000,000-byte limit safetensors readers accept.`,
      'This is probably not a .safetensors file (or its first 8 bytes are corrupt); check the file type.',
      { header_bytes: n.toString() },
    );
  }
  if (8n + n > BigInt(fileBytes)) {
    throw bad(
      `Header length field says ${n} bytes, but the file is only ${fileBytes} bytes, so the header runs past the end of the file.`,
      'The file is truncated or is not a .safetensors file; download or export it again.',
      { header_bytes: Number(n), file_bytes: fileBytes },
    );
  }
  if (n < 2n) {
    throw bad(`Header length field says ${n} bytes, too short for a JSON object.`);
  }
  return Number(n);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

function isUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Parses and validates the JSON header.
 * @param header exactly the N header bytes (file bytes 8 .. 8+N)
 * @param fileBytes size of the whole file, so offsets can be checked against the data section
 */
export function parseHeader(header: Buffer, fileBytes: number): ParsedHeader {
  const headerBytes = header.length;
  const dataStart = 8 + headerBytes;
  const dataBytes = fileBytes - dataStart;
  if (header[0] !== 0x7b) {
    const first = header[0] ?? 0;
    throw bad(
      `Header does not start with '{' (first byte is 0x${first.toString(16).padStart(2, '0')}), so it is not a JSON object.`,
      'This is not a valid .safetensors file; re-save it with the safetensors library.',
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(header);
  } catch (cause) {
    throw new LoraloopError('BAD_SAFETENSORS', 'Header is not valid UTF-8.', {
      hint: 'Re-save the file with the safetensors library.',
      category: 'user',
      cause,
    });
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new LoraloopError('BAD_SAFETENSORS', `Header is not valid JSON (${why}).`, {
      hint: GENERIC_HINT,
      category: 'user',
      cause,
    });
  }
  if (!isRecord(root)) {
    throw bad(`Header is ${describe(root)}, not a JSON object.`, 'Re-save the file with the safetensors library.');
  }

  let metadata: Record<string, string> = {};
  const tensors: TensorEntry[] = [];
  for (const name of Object.keys(root)) {
    const value = root[name];
    if (name === '__metadata__') {
      metadata = parseMetadata(value);
      continue;
    }
    tensors.push(parseEntry(name, value));
  }

  checkDuplicates(text, tensors.length);
  checkTiling(tensors, dataBytes);
  return { tensors, metadata, headerBytes, fileBytes, dataStart, dataBytes };
}

function parseMetadata(value: unknown): Record<string, string> {
  if (value === null) return {};
  if (!isRecord(value)) {
    throw bad(
      `__metadata__ is ${describe(value)}, but it must be an object of string values.`,
      'Re-save the file with a flat string-to-string metadata map.',
    );
  }
  const out: Array<[string, string]> = [];
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (typeof v !== 'string') {
      throw bad(
        `__metadata__ value for "${key}" is ${describe(v)}, but safetensors metadata values must be strings.`,
        'Re-save the file with every metadata value converted to a string (JSON-encode nested values).',
      );
    }
    out.push([key, v]);
  }
  // fromEntries defines own properties, so a key such as "__proto__" stays data, not a prototype.
  return Object.fromEntries(out);
}

function parseEntry(name: string, value: unknown): TensorEntry {
  if (!isRecord(value)) throw bad(`Tensor "${name}" is described by ${describe(value)}, not an object.`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string') throw bad(`Tensor "${name}" has no string "dtype".`);
  const bits = dtypeBits(dtype);
  if (bits === undefined) {
    throw bad(
      `Tensor "${name}" has unknown dtype "${dtype}".`,
      'Known dtypes are F16, BF16, F32, F64, I8..I64, U8..U64, BOOL, C64 and the F8/F6/F4 variants; re-save the file with a current safetensors writer.',
    );
  }
  if (!Array.isArray(shape) || !shape.every(isUint)) {
    throw bad(`Tensor "${name}" has an invalid shape ${JSON.stringify(shape)}; it must be a list of non-negative integers.`);
  }
  let elements = 1;
  for (const d of shape) elements *= d;
  if (!Number.isSafeInteger(elements * bits)) {
    throw bad(`Tensor "${name}" has shape ${JSON.stringify(shape)}, too large to be real.`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !isUint(offsets[0]) || !isUint(offsets[1])) {
    throw bad(`Tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}; expected [begin, end].`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw bad(`Tensor "${name}" has data_offsets [${begin}, ${end}] that end before they begin.`);
  if ((elements * bits) % 8 !== 0) {
    throw bad(`Tensor "${name}" (${dtype} ${JSON.stringify(shape)}) does not fill a whole number of bytes.`);
  }
  const expected = (elements * bits) / 8;
  if (end - begin !== expected) {
    throw bad(
      `Tensor "${name}" spans ${end - begin} bytes, but ${dtype} ${JSON.stringify(shape)} needs ${expected} bytes.`,
      'The header does not match the data; re-save the file with the safetensors library.',
    );
  }
  return { name, dtype, shape: shape as number[], elements, begin, end };
}

/**
 * Tensors must tile the data section from 0 to its end with no gap and no overlap.
 * Writers emit offsets in order, so we only pay for a sort when they are not.
 */
function checkTiling(tensors: TensorEntry[], dataBytes: number): void {
  let ordered = tensors;
  for (let i = 1; i < tensors.length; i++) {
    const prev = tensors[i - 1] as TensorEntry;
    const cur = tensors[i] as TensorEntry;
    if (cur.begin < prev.begin || (cur.begin === prev.begin && cur.end < prev.end)) {
      ordered = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
      break;
    }
  }
  let cursor = 0;
  let previous: TensorEntry | undefined;
  for (const t of ordered) {
    if (t.begin < cursor) {
      throw bad(
        `Tensors "${previous?.name}" and "${t.name}" overlap: "${t.name}" begins at data byte ${t.begin}, before "${previous?.name}" ends at ${cursor}.`,
        'The header is corrupt; re-save the file with the safetensors library.',
      );
    }
    if (t.begin > cursor) {
      throw bad(
        `Gap in the data section: bytes ${cursor}..${t.begin} belong to no tensor (before "${t.name}").`,
        'The header is corrupt; re-save the file with the safetensors library.',
      );
    }
    cursor = t.end;
    previous = t;
  }
  if (cursor > dataBytes) {
    throw bad(
      `Tensor "${previous?.name}" ends at data byte ${cursor}, past the end of the file (the data section holds ${dataBytes} bytes): the file is truncated.`,
    );
  }
  if (cursor < dataBytes) {
    throw bad(
      `The data section has ${dataBytes - cursor} bytes after the last tensor that belong to no tensor.`,
      'The header does not cover the whole file; re-save the file with the safetensors library.',
    );
  }
}

/**
 * JSON.parse keeps the last of duplicate keys silently. Counting `"data_offsets"` is a native-speed
 * scan; only when the count exceeds the tensors we saw do we run the exact top-level key scanner.
 */
function checkDuplicates(text: string, tensorCount: number): void {
  let count = 0;
  for (let i = text.indexOf('"data_offsets"'); i !== -1; i = text.indexOf('"data_offsets"', i + 14)) count++;
  if (count <= tensorCount) return;
  const dup = findDuplicateTopLevelKey(text);
  if (dup !== undefined) {
    throw bad(
      `Header lists the key "${dup}" more than once.`,
      'Duplicate tensor names are not allowed; re-save the file with the safetensors library.',
    );
  }
}

/** Walks the JSON text and returns the first top-level key that occurs twice. */
export function findDuplicateTopLevelKey(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  let inString = false;
  let expectKey = false;
  let keyStart = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped char
      else if (c === 0x22) {
        inString = false;
        if (keyStart >= 0) {
          const key = JSON.parse(text.slice(keyStart, i + 1)) as string;
          if (seen.has(key)) return key;
          seen.add(key);
          keyStart = -1;
        }
      }
      continue;
    }
    if (c === 0x22) {
      inString = true;
      if (depth === 1 && expectKey) {
        keyStart = i;
        expectKey = false;
      }
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    } else if (c === 0x2c && depth === 1) {
      expectKey = true;
    }
  }
  return undefined;
}
