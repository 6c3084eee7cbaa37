import type { CoinDetector, DetectedCoin } from './coins/detect.js';
import type { ActiveLora, LoraResolver } from './lora-resolver.js';

export interface RouteResult {
  coins: DetectedCoin[];
  lora: ActiveLora | null;
  reasoning: string;
}

/**
 * Routing: detect the coins, then pick the LoRA: the primary coin's active LoRA if the registry has one,
 * else a multi-coin or general LoRA, else none. The reasoning says which rule decided.
 */
export function routeCover(detector: CoinDetector, loras: LoraResolver, title: string, subtitle?: string): RouteResult {
  const coins = detector.detect(title, subtitle);
  const primary = coins.filter((c) => c.primary);
  const parts: string[] = [];
  if (coins.length === 0) {
    parts.push('No specific coin found in the title, so the cover is a general crypto cover.');
  } else {
    const named = coins.map((c) => `${c.name} (${c.symbol})${c.primary ? ', primary' : ''}: ${c.evidence}`);
    parts.push(`Found ${coins.length === 1 ? 'one coin' : `${coins.length} coins`}: ${named.join('; ')}.`);
  }
  let lora: ActiveLora | null = null;
  for (const c of primary) {
    lora = loras.activeForCoin(c.symbol);
    if (lora) {
      parts.push(`Using ${lora.name} v${lora.version} at strength ${lora.strength}: it is the active LoRA for ${c.symbol}.`);
      break;
    }
  }
  if (!lora) {
    lora = loras.activeGeneral(coins.map((c) => c.symbol));
    if (lora) {
      const why = primary.length ? `no LoRA is active for ${primary.map((c) => c.symbol).join('/')}` : 'no coin-specific LoRA applies';
      parts.push(`Using the general LoRA ${lora.name} v${lora.version} at strength ${lora.strength}, since ${why}.`);
    } else {
      parts.push('No LoRA applies (the registry has none active for these coins), so generation runs without one.');
    }
  }
  return { coins, lora, reasoning: parts.join(' ') };
}
