/**
 * What the renderer needs to draw a detected coin's logo: its ticker, display name, brand colour and which icon of the
 * icon set is its own. The catalogue decides the icon (cryptocurrency-icons files are named by ticker, and many coins
 * share a ticker), so a coin the catalogue does not know, or one whose ticker belongs to another coin in the icon set,
 * gets a monogram rather than a stranger's logo. A registered logo wins over both (the renderer's `userLogo`).
 */
import type { CoinCatalogue } from './coins/catalogue.js';
import type { DetectedCoin } from './coins/detect.js';
import type { CoinRef } from './render/renderer.js';

/** The renderer's coin for a detected coin. */
export function coinRefFor(coin: Pick<DetectedCoin, 'symbol' | 'name'>, catalogue: CoinCatalogue): CoinRef {
  const entry = catalogue.bySymbol(coin.symbol);
  return {
    symbol: coin.symbol,
    name: coin.name,
    ...(entry?.brand_color ? { brand_color: entry.brand_color } : {}),
    icon: entry?.icon ?? null,
  };
}
