import type { App } from '../../src/app.js';
import type { CoverRecord } from '../../src/store/repos/covers.js';

/**
 * A cover for a Solana article whose logo box holds another coin's logo: rendered by the real renderer
 * with `drawn` as the coin, then stored as if routing had picked SOL (what a logo mix-up would look like).
 */
export async function wrongLogoCover(app: App, drawn: { symbol: string; name: string }, seed = 11): Promise<CoverRecord> {
  const s = app.services;
  const out = await s.renderer.render({ title: 'Solana ETF inflows hit $1B', width: 1200, height: 630, seed, coin: drawn });
  const blob = await s.store.blobs.put(out.png, 'png');
  return s.store.covers.insert({
    title: 'Solana ETF inflows hit $1B',
    subtitle: null,
    coins: [{ symbol: 'SOL', name: 'Solana', primary: true }],
    primary_symbol: 'SOL',
    lora: null,
    seed,
    width: out.width,
    height: out.height,
    style: out.style,
    palette: out.palette,
    logo: out.logo ? { ...out.logo, symbol: 'SOL' } : null,
    text_box: out.text_box,
    backend: 'local',
    checkpoint: null,
    loras: [],
    batch_id: null,
    blob_sha256: blob.sha256,
    blob_path: blob.path,
    meta: { contrast: out.contrast, warnings: out.warnings },
  });
}

/** Store a finished cover as a backend would have made it (with a LoRA and a checkpoint). */
export async function backendCover(app: App, opts: { lora: string; checkpoint: string | null; coin?: string; seed?: number }): Promise<CoverRecord> {
  const s = app.services;
  const coin = opts.coin ?? 'SOL';
  const out = await s.renderer.render({ title: `${coin} cover`, width: 512, height: 512, seed: opts.seed ?? 1, coin: { symbol: coin, name: coin } });
  const blob = await s.store.blobs.put(out.png, 'png');
  return s.store.covers.insert({
    title: `${coin} cover`,
    subtitle: null,
    coins: [{ symbol: coin, name: coin, primary: true }],
    primary_symbol: coin,
    lora: { name: opts.lora, version: 1, strength: 0.8 },
    seed: opts.seed ?? 1,
    width: out.width,
    height: out.height,
    style: out.style,
    palette: out.palette,
    logo: out.logo,
    text_box: out.text_box,
    backend: 'comfyui',
    checkpoint: opts.checkpoint,
    loras: [{ name: opts.lora, version: 1, strength: 0.8 }],
    batch_id: null,
    blob_sha256: blob.sha256,
    blob_path: blob.path,
    meta: { contrast: out.contrast, warnings: out.warnings },
  });
}
