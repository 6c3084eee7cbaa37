/**
 * composeCover: the finishing step shared by every image backend. ComfyUI and Replicate return a picture;
 * this puts the coin's logo and the title on it (resized/cropped to the target size), with the same layout,
 * logo rules and measured contrast as the local renderer.
 */
import { createCoverRenderer, type CoverRenderer, type RenderInput, type RenderOutput } from './renderer.js';

/** Everything render takes except the background, which composeCover receives as its first argument. */
export type ComposeInput = Omit<RenderInput, 'background'>;

let shared: CoverRenderer | null = null;

/**
 * Put logo and title on `background` (any format sharp decodes). Pass the app's renderer to share its
 * caches; without one, a process-wide renderer is created on first call (never at import time).
 * An undecodable background falls back to a generated one, with a warning in the output.
 */
export function composeCover(background: Buffer, input: ComposeInput, renderer?: CoverRenderer): Promise<RenderOutput> {
  const r = renderer ?? (shared ??= createCoverRenderer());
  return r.compose(background, input);
}
