/**
 * Taking `lora.safetensors` out of a Replicate trainer's weights tar (TRAINERS.md §3a: a tar of
 * `output/flux_train_replicate/` with `lora.safetensors` and `captions/`), gzip-wrapped or plain. modern-tar
 * reads it (ustar, GNU long names, pax records) in strict mode: a bad header checksum or a truncated archive
 * is refused, not half read. Only regular files are returned, and names are never used as paths on disk, so a
 * hostile archive cannot write anywhere.
 */
import { gunzipSync } from 'node:zlib';
import { unpackTar } from 'modern-tar';
import { LoraloopError } from '../../core/errors.js';

/** One regular file in the archive. */
export interface TarEntry {
  name: string;
  size: number;
  data: Buffer;
}

function bad(message: string): LoraloopError {
  return new LoraloopError('UPSTREAM_ERROR', `The weights archive is not a valid tar file: ${message}.`, {
    hint: 'Download the weights again; if it keeps failing, the trainer produced a broken archive.',
  });
}

/** Options bounding the work a hostile archive can cause. */
export interface ReadTarOptions {
  /** Largest archive accepted after decompression (default 2 GB). */
  maxBytes?: number;
  /** Only keep entries for which this returns true (others are skipped without copying). */
  filter?: (name: string) => boolean;
}

/** Every regular file in a tar (or .tar.gz) held in memory. */
export async function readTar(archive: Buffer, opts: ReadTarOptions = {}): Promise<TarEntry[]> {
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
  const keep = opts.filter;
  try {
    const entries = await unpackTar(buf, { strict: true, filter: (h) => h.type === 'file' && (!keep || keep(h.name)) });
    return entries.map(({ header, data }) => {
      const bytes = data ?? new Uint8Array(0);
      return { name: header.name, size: header.size, data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
    });
  } catch (e) {
    // modern-tar says "Invalid tar header checksum.", "Tar archive is truncated." and the like.
    const why = e instanceof Error ? e.message : String(e);
    throw bad(why.charAt(0).toLowerCase() + why.slice(1).replace(/\.$/, ''));
  }
}

/**
 * The LoRA file in a Replicate trainer's weights archive: `lora.safetensors` wherever it sits (normally
 * `output/flux_train_replicate/lora.safetensors`); else the only `.safetensors` file. Throws when absent.
 */
export async function extractLoraFromTar(archive: Buffer, opts: Omit<ReadTarOptions, 'filter'> = {}): Promise<TarEntry> {
  const files = await readTar(archive, { ...opts, filter: (n) => n.toLowerCase().endsWith('.safetensors') });
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
