import { LoraloopError } from '../core/errors.js';
import { intakeImages, type IntakeDeps, type IntakeResult } from './intake.js';
import type { LinkSigner } from '../core/links.js';
import type { Store } from '../store/index.js';

/** Where the HTTP face takes uploads (behind a signed, single-use link). */
export const UPLOAD_PREFIX = '/uploads/';
/** Largest file one upload URL takes. */
export const MAX_UPLOAD_BYTES = 32 * 1024 * 1024;

/** Image formats the decoder takes, told from their first bytes (not from a client's Content-Type). */
export function sniffImage(b: Buffer): string | undefined {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  if (b.length >= 6 && /^GIF8[79]a$/.test(b.toString('latin1', 0, 6))) return 'image/gif';
  if (b.length >= 12 && b.toString('latin1', 4, 8) === 'ftyp' && /^(avif|avis|heic|heix|mif1)$/.test(b.toString('latin1', 8, 12))) return 'image/avif';
  if (b.length >= 4 && (b.toString('latin1', 0, 4) === 'II*\0' || b.toString('latin1', 0, 4) === 'MM\0*')) return 'image/tiff';
  return undefined;
}

export interface UploadUrl {
  upload_id: string;
  url: string;
  expires_at: string;
  max_bytes: number;
}

/** Single-use PUT URLs for a project's training images. */
export async function createUploadUrls(s: { store: Pick<Store, 'uploads'> }, links: Pick<LinkSigner, 'sign' | 'ttlSeconds'>, loraId: string, count: number): Promise<UploadUrl[]> {
  const out: UploadUrl[] = [];
  for (let i = 0; i < count; i++) {
    const slot = await s.store.uploads.create({ lora_id: loraId, max_bytes: MAX_UPLOAD_BYTES, ttlSeconds: links.ttlSeconds });
    out.push({ upload_id: slot.id, url: links.sign(`${UPLOAD_PREFIX}${slot.id}`), expires_at: slot.expires_at, max_bytes: slot.max_bytes });
  }
  return out;
}

/**
 * Take one PUT upload: the slot is taken before anything else (a second PUT to the same URL is refused even
 * while the first is still decoding), the bytes are sniffed, then they go through the same safe intake as every
 * other image. Throws a LoraloopError the HTTP face turns into a status and a sentence.
 */
export async function acceptUpload(s: IntakeDeps & { store: Pick<Store, 'uploads'> }, slotId: string, bytes: Buffer, fileName: string | undefined): Promise<IntakeResult> {
  const slot = await s.store.uploads.get(slotId);
  if (!slot) throw new LoraloopError('NOT_FOUND', 'This upload URL is unknown.', { hint: 'Ask lora_upload_urls for new upload URLs.' });
  if (!(await s.store.uploads.take(slotId))) {
    throw new LoraloopError('CONFLICT', 'This upload URL was used already or has expired; each URL takes one image.', { hint: 'Ask lora_upload_urls for new upload URLs.' });
  }
  let result: IntakeResult;
  if (bytes.length > slot.max_bytes) {
    result = { ok: false, source: `upload:${fileName ?? slotId}`, error_code: 'IMAGE_TOO_LARGE', error: `The file is ${(bytes.length / 1048576).toFixed(1)} MB; an upload may be at most ${slot.max_bytes / 1048576} MB.` };
  } else if (!sniffImage(bytes)) {
    result = { ok: false, source: `upload:${fileName ?? slotId}`, error_code: 'UNSUPPORTED_IMAGE', error: 'The uploaded bytes are not a JPEG, PNG, WebP, GIF, AVIF or TIFF image. Upload the image file itself.' };
  } else {
    const lora = await s.store.loras.find(slot.lora_id);
    if (!lora) throw new LoraloopError('NOT_FOUND', `The project ${slot.lora_id} this URL was made for is gone.`);
    const [r] = await intakeImages(s, lora, [{ data: bytes, file_name: fileName ?? `${slotId}.img` }]);
    result = r!;
  }
  await s.store.uploads.finish(slotId, result);
  return result;
}
