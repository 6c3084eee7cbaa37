/**
 * Shot types read from the pixels: the one entry point the analysis and the local captioner use.
 */
import type { PeopleDetector, RgbImage } from './detector.js';
import { classifyShot, type ShotType } from './shot.js';

export type { PeopleDetector } from './detector.js';
export { shotCategories, type ShotType } from './shot.js';

/** Asset types whose images are not of people (the detector is not run on them). */
const NOT_PEOPLE = new Set(['icons', 'logo', 'coin']);

/** Whether pixel shot typing applies to a set of this asset type. */
export const shotTypingApplies = (assetType: string): boolean => !NOT_PEOPLE.has(assetType);

/**
 * Detect and classify one image. `img` is the small decode the analysis already made (256 px long side):
 * the models work at 256 px (BlazeFace) and 192 px (MoveNet), so a larger input would only add a second decode.
 */
export async function shotFromPixels(detector: PeopleDetector, img: RgbImage): Promise<ShotType> {
  const detection = await detector.detect(img);
  const n = img.width * img.height;
  const grey = new Uint8Array(n);
  const d = img.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) grey[i] = (0.299 * (d[j] as number) + 0.587 * (d[j + 1] as number) + 0.114 * (d[j + 2] as number) + 0.5) | 0;
  return classifyShot(detection, { data: grey, width: img.width, height: img.height });
}

/**
 * The shot in caption words: "close-up, one person, face centred, plain background". Nothing when nobody was
 * found: a missed person would make "no people" a false statement in a training caption.
 */
export function shotWords(s: ShotType): string[] {
  if (s.people === 0) return [];
  const out: string[] = [];
  if (s.framing) out.push(s.framing);
  out.push(s.people === 1 ? 'one person' : s.people === 2 ? 'two people' : 'group of people');
  if (s.facePosition) out.push(s.facePosition === 'centred' ? 'face centred' : s.facePosition === 'high' || s.facePosition === 'low' ? `face ${s.facePosition} in frame` : `face on the ${s.facePosition}`);
  if (s.occlusion) out.push('partially hidden');
  out.push(s.complexBackground ? 'busy background' : 'plain background');
  return out;
}
