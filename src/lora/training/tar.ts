/**
 * A small, bounded tar reader (ustar, GNU long names, pax `path`/`size` records; gzip-wrapped or plain),
 * enough to take `lora.safetensors` out of a Replicate trainer's weights tar (TRAINERS.md §3a:
 * a tar of `output/flux_train_replicate/` with `lora.safetensors` and `captions/`). fflate does zip, not tar.
 * Only regular files are returned; links and devices are skipped, and names are never used as paths on
 * disk, so a hostile archive cannot write anywhere.
 */
import { gunzipSync } from 'node:zlib';
import { LoraloopError } from '../../core/errors.js';

/** One regular file in the archive. */
export interface TarEntry {
  name: string;
  size: number;
  data: Buffer;
}

const BLOCK = 512;

function bad(message: string): LoraloopError {
  return new LoraloopError('UPSTREAM_ERROR', `The weights archive is not a valid tar file: ${message}.`, {
    hint: 'Download the weights again; if it keeps failing, the trainer produced a broken archive.',
  });
}

function cstring(buf: Buffer, start: number, len: number): string {
  const slice = buf.subarray(start, start + len);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul < 0 ? slice.length : nul).toString('utf8');
}

/** Octal (space/NUL padded) or GNU base-256 numeric field. */
function numeric(buf: Buffer, start: number, len: number): number {
  const first = buf[start] ?? 0;
  if (first & 0x80) {
    let v = 0;
    for (let i = 1; i < len; i++) v = v * 256 + (buf[start + i] ?? 0);
    return v;
  }
  const s = cstring(buf, start, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw bad(`bad numeric field "${s}"`);
  return parseInt(s, 8);
}

function checksumOk(header: Buffer): boolean {
  const stored = numeric(header, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
  return sum === stored;
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number(data.subarray(i, sp).toString('ascii'));
    if (!Number.isInteger(len) || len <= 0 || i + len > data.length) break;
    const rec = data.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** Options bounding the work a hostile archive can cause. */
export interface ReadTarOptions {
  /** Largest archive accepted after decompression (default 2 GB). */
  maxBytes?: number;
  /** Only keep entries for which this returns true (others are skipped without copying). */
  filter?: (name: string) => boolean;
}

/** Every regular file in a tar (or .tar.gz) held in memory. */
export function readTar(archive: Buffer, opts: ReadTarOptions = {}): TarEntry[] {
  const maxBytes = opts.maxBytes ?? 2 * 1024 ** 3;
  let buf = archive;
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf, { maxOutputLength: maxBytes });
    } catch (e) {
      throw bad(`gzip data could not be decompressed (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  if (buf.length > maxBytes) throw bad(`it is larger than ${maxBytes} bytes`);
  const entries: TarEntry[] = [];
  let off = 0;
  let longName: string | undefined;
  let pax: Record<string, string> = {};
  while (off + BLOCK <= buf.length) {
    const header = buf.subarray(off, off + BLOCK);
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    if (!checksumOk(header)) throw bad(`header checksum mismatch at byte ${off}`);
    const type = String.fromCharCode(header[156] ?? 0);
    let size = numeric(header, 124, 12);
    if (pax['size'] !== undefined && /^\d+$/.test(pax['size'])) size = Number(pax['size']);
    const dataStart = off + BLOCK;
    const dataEnd = dataStart + size;
    if (dataEnd > buf.length) throw bad(`entry at byte ${off} runs past the end of the archive`);
    const data = buf.subarray(dataStart, dataEnd);
    off = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = cstring(data, 0, data.length);
      continue;
    }
    if (type === 'x') {
      pax = parsePax(data);
      continue;
    }
    if (type === 'g') continue;
    const magic = cstring(header, 257, 6);
    const prefix = magic.startsWith('ustar') ? cstring(header, 345, 155) : '';
    const base = cstring(header, 0, 100);
    const name = pax['path'] ?? longName ?? (prefix ? `${prefix}/${base}` : base);
    longName = undefined;
    pax = {};
    if (type !== '0' && type !== '\0' && type !== '7') continue; // only regular files
    if (opts.filter && !opts.filter(name)) continue;
    entries.push({ name, size, data: Buffer.from(data) });
  }
  return entries;
}

/**
 * The LoRA file in a Replicate trainer's weights archive: `lora.safetensors` wherever it sits (normally
 * `output/flux_train_replicate/lora.safetensors`); else the only `.safetensors` file. Throws when absent.
 */
export function extractLoraFromTar(archive: Buffer, opts: Omit<ReadTarOptions, 'filter'> = {}): TarEntry {
  const files = readTar(archive, { ...opts, filter: (n) => n.toLowerCase().endsWith('.safetensors') });
  const byName = files.filter((f) => f.name.split('/').pop() === 'lora.safetensors');
  const pick = byName[0] ?? (files.length === 1 ? files[0] : undefined);
  if (!pick) {
    throw new LoraloopError(
      'UPSTREAM_ERROR',
      files.length === 0
        ? 'The weights archive holds no .safetensors file.'
        : `The weights archive holds ${files.length} .safetensors files and none is named lora.safetensors (${files.map((f) => f.name).join(', ')}).`,
      { hint: 'Check the trainer version: ostris/flux-dev-lora-trainer writes output/flux_train_replicate/lora.safetensors.' },
    );
  }
  return pick;
}
