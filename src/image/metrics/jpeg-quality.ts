/**
 * JPEG quality estimate from the quantisation tables (DQT), the way ImageMagick and friends do it: most
 * encoders (libjpeg, libjpeg-turbo, mozjpeg as sharp/libvips call it, Pillow, browsers) scale the
 * standard tables of the JPEG spec (Annex K) by the libjpeg quality formula. We find the quality 1..100
 * whose scaled tables are closest to the file's (log-ratio distance, luma and chroma together). For
 * encoders with their own tables (Photoshop, some cameras) the answer is the nearest equivalent quality.
 */

/** Annex K luminance table in zig-zag order (the order DQT stores it). */
const STD_LUMA = [
  16, 11, 12, 14, 12, 10, 16, 14, 13, 14, 18, 17, 16, 19, 24, 40, 26, 24, 22, 22, 24, 49, 35, 37, 29, 40, 58, 51, 61,
  60, 57, 51, 56, 55, 64, 72, 92, 78, 64, 68, 87, 69, 55, 56, 80, 109, 81, 87, 95, 98, 103, 104, 103, 62, 77, 113,
  121, 112, 100, 120, 92, 101, 103, 99,
];
/** Annex K chrominance table in zig-zag order. */
const STD_CHROMA = [
  17, 18, 18, 24, 21, 24, 47, 26, 26, 47, 99, 66, 56, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99,
];

/** libjpeg's `jpeg_quality_scaling` + `jpeg_add_quant_table` (baseline: values capped at 255). */
export function scaledTable(std: readonly number[], quality: number): number[] {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const scale = q < 50 ? Math.floor(5000 / q) : 200 - q * 2;
  return std.map((v) => Math.min(255, Math.max(1, Math.floor((v * scale + 50) / 100))));
}

/** The quantisation tables of a JPEG by table id (0 = luma, 1 = chroma usually), zig-zag order. */
export function readJpegQuantTables(bytes: Buffer): Map<number, number[]> | null {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  const tables = new Map<number, number[]>();
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) break; // lost sync: stop rather than guess
    let marker = bytes[i + 1] as number;
    while (marker === 0xff && i + 2 < bytes.length) {
      i++; // fill bytes
      marker = bytes[i + 1] as number;
    }
    i += 2;
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // no length
    if (marker === 0xd9 || marker === 0xda) break; // EOI / start of scan: all DQTs of the frame are behind us
    if (i + 2 > bytes.length) break;
    const len = bytes.readUInt16BE(i);
    const end = i + len;
    if (len < 2 || end > bytes.length) break;
    if (marker === 0xdb) {
      let p = i + 2;
      while (p < end) {
        const pqTq = bytes[p] as number;
        const precision = pqTq >> 4;
        const id = pqTq & 0x0f;
        const size = precision === 0 ? 64 : 128;
        if (p + 1 + size > end) break;
        const t: number[] = [];
        for (let k = 0; k < 64; k++) t.push(precision === 0 ? (bytes[p + 1 + k] as number) : bytes.readUInt16BE(p + 1 + k * 2));
        tables.set(id, t);
        p += 1 + size;
      }
    }
    i = end;
  }
  return tables.size > 0 ? tables : null;
}

function distance(actual: readonly number[], expected: readonly number[]): number {
  let d = 0;
  for (let k = 0; k < 64; k++) d += Math.abs(Math.log((actual[k] as number) / (expected[k] as number)));
  return d;
}

/**
 * Estimated JPEG quality (1..100), or null when the bytes are not a JPEG with quantisation tables.
 * Exact for files written with the standard tables (sharp's default output, libjpeg, Pillow).
 */
export function estimateJpegQuality(bytes: Buffer): number | null {
  const tables = readJpegQuantTables(bytes);
  if (!tables) return null;
  const luma = tables.get(0) ?? [...tables.values()][0];
  if (!luma || luma.some((v) => v <= 0)) return null;
  const chroma = tables.get(1);
  const useChroma = chroma !== undefined && chroma.every((v) => v > 0);
  let best = 0;
  let bestD = Infinity;
  // From 100 down with strict improvement: ties (tables identical across several qualities) take the highest.
  for (let q = 100; q >= 1; q--) {
    let d = distance(luma, scaledTable(STD_LUMA, q));
    if (useChroma) d += distance(chroma, scaledTable(STD_CHROMA, q));
    if (d < bestD - 1e-12) {
      bestD = d;
      best = q;
    }
  }
  return best;
}
