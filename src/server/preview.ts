import sharp from 'sharp';

/** Longest side of an inline preview: enough to judge a cover, small enough not to flood a model's context. */
export const PREVIEW_MAX_PX = 512;
/** Aim for previews at or under this size; quality steps down until they fit. */
export const PREVIEW_MAX_BYTES = 100 * 1024;

/** A small WebP preview of an image file (at most 512 px on its longest side, about 100 KB at most). */
export async function makePreview(path: string): Promise<{ data: Buffer; mimeType: 'image/webp' }> {
  const base = sharp(path, { failOn: 'error' }).rotate().resize(PREVIEW_MAX_PX, PREVIEW_MAX_PX, { fit: 'inside', withoutEnlargement: true });
  let data = Buffer.alloc(0);
  for (const quality of [80, 65, 50, 35]) {
    data = await base.clone().webp({ quality, effort: 2 }).toBuffer();
    if (data.length <= PREVIEW_MAX_BYTES) break;
  }
  return { data, mimeType: 'image/webp' };
}
