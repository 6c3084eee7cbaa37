import { randomInt } from 'node:crypto';
import { copyFileSync } from 'node:fs';
import { LoraloopError } from '../core/errors.js';
import type { PathGuard } from '../core/paths.js';
import type { Store } from '../store/index.js';
import type { CoverRecord } from '../store/repos/covers.js';
import { readStoredBlob } from '../store/stored-blob.js';
import type { CoinCatalogue } from './coins/catalogue.js';
import type { CoinDetector } from './coins/detect.js';
import type { CoinSecondOpinion } from './coins/second-opinion.js';
import type { LoraResolver } from './lora-resolver.js';
import { coinRefFor } from './coin-ref.js';
import type { CoverRenderer, RenderOutput } from './render/renderer.js';
import { routeCoverChecked, type RouteResult } from './route.js';

/** How many recent covers of the same coin the variety engine steers away from. */
export const VARIETY_WINDOW = 24;
export const MAX_TITLE_CHARS = 300;

/** What making a cover needs: routing (coins, LoRAs), the renderer, the stored logos, covers and blobs, the allowed roots. */
export interface MakeCoverDeps {
  coins: { detector: CoinDetector; catalogue: CoinCatalogue; secondOpinion?: CoinSecondOpinion | undefined };
  loraResolver: LoraResolver;
  renderer: CoverRenderer;
  store: Pick<Store, 'logos' | 'covers' | 'blobs'>;
  paths: PathGuard;
}

export interface CoverRequest {
  title: string;
  subtitle?: string | undefined;
  width: number;
  height: number;
  seed?: number | undefined;
  out?: string | undefined;
  style?: string | undefined;
  /** An image from a generation backend to compose on instead of a generated background. */
  background?: Buffer | undefined;
  backend?: string;
  checkpoint?: string | null;
  loras?: Array<{ name: string; version?: number; strength: number }>;
  batch_id?: string | null;
  meta?: Record<string, unknown>;
  /** Use this routing instead of routing the title again (the caller already routed). */
  route?: RouteResult;
}

export interface CoverMade {
  record: CoverRecord;
  route: RouteResult;
  render: RenderOutput;
  out_path: string | null;
}

/** Check a title before any work; long or empty titles get a sentence that says what to do. */
export function validateTitle(title: string): string {
  const t = title.replace(/\s+/g, ' ').trim();
  if (t === '') {
    throw new LoraloopError('INVALID_INPUT', 'The title is empty.', { hint: 'Pass the article headline as the title.' });
  }
  if ([...t].length > MAX_TITLE_CHARS) {
    throw new LoraloopError('INVALID_INPUT', `The title is ${[...t].length} characters long; covers take at most ${MAX_TITLE_CHARS}.`, {
      hint: 'Shorten it to the headline and put the rest in the subtitle.',
    });
  }
  return t;
}

/**
 * Make one finished cover: route the title, render (or compose on a backend image) with the correct logo,
 * store the PNG as a blob, then the record (never a record before its blob), and copy to `out` if asked.
 */
export async function makeCover(s: MakeCoverDeps, req: CoverRequest): Promise<CoverMade> {
  const title = validateTitle(req.title);
  const subtitle = req.subtitle?.replace(/\s+/g, ' ').trim() || undefined;
  if (subtitle && [...subtitle].length > MAX_TITLE_CHARS) {
    throw new LoraloopError('INVALID_INPUT', `The subtitle is longer than ${MAX_TITLE_CHARS} characters.`, { hint: 'Shorten the subtitle.' });
  }
  const outPath = req.out ? await s.paths.resolve(req.out, { forWrite: true }) : null;
  const route = req.route ?? (await routeCoverChecked(s.coins.detector, s.loraResolver, title, subtitle, s.coins.secondOpinion));
  const primary = route.coins.find((c) => c.primary) ?? null;
  const userLogo = primary ? await s.store.logos.get(primary.symbol) : undefined;
  // An explicit seed makes the cover a pure function of its inputs (reproducible); without one, the variety
  // engine steers the palette away from the recent covers of the same coin.
  const recent = req.seed === undefined ? (await s.store.covers.recent(VARIETY_WINDOW, primary?.symbol ?? null)).map((c) => c.palette) : [];
  const seed = req.seed ?? randomInt(0, 2 ** 31 - 1);
  const render = await s.renderer.render({
    title,
    ...(subtitle ? { subtitle } : {}),
    width: req.width,
    height: req.height,
    seed,
    coin: primary ? coinRefFor(primary, s.coins.catalogue) : null,
    ...(userLogo ? { userLogo: await readStoredBlob(s.store.blobs, { sha256: userLogo.blob_sha256, path: userLogo.blob_path }) } : {}),
    recentPalettes: recent,
    ...(req.style ? { style: req.style } : {}),
    ...(req.background ? { background: req.background } : {}),
  });
  const blob = await s.store.blobs.put(render.png, 'png');
  const record = await s.store.covers.insert({
    title,
    subtitle: subtitle ?? null,
    coins: route.coins.map((c) => ({ symbol: c.symbol, name: c.name, primary: c.primary })),
    primary_symbol: primary?.symbol ?? null,
    lora: route.lora ? { name: route.lora.name, version: route.lora.version, strength: route.lora.strength } : null,
    seed,
    width: render.width,
    height: render.height,
    style: render.style,
    palette: render.palette,
    logo: render.logo,
    text_box: render.text_box,
    backend: req.backend ?? 'local',
    checkpoint: req.checkpoint ?? null,
    loras: req.loras ?? (route.lora ? [{ name: route.lora.name, version: route.lora.version, strength: route.lora.strength }] : []),
    batch_id: req.batch_id ?? null,
    blob_sha256: blob.sha256,
    blob_path: blob.path,
    meta: { contrast: render.contrast, warnings: render.warnings, ...(req.meta ?? {}) },
  });
  if (outPath) copyFileSync(blob.path, outPath);
  return { record, route, render, out_path: outPath };
}
