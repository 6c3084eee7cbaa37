import type { CoinAnalysis, CoinDetector, DetectedCoin } from './coins/detect.js';
import { mergeConfirmed, type CoinSecondOpinion } from './coins/second-opinion.js';
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
export function routeCover(detector: CoinDetector, loras: LoraResolver, title: string, subtitle?: string): Promise<RouteResult> {
  return routeAnalysis(detector.analyse(title, subtitle), loras);
}

async function routeAnalysis(analysis: CoinAnalysis, loras: LoraResolver): Promise<RouteResult> {
  const routed = await routeCoins(analysis.coins, loras);
  if (analysis.doubts.length === 0) return routed;
  // Say what was left out and why, so a person can see a near miss ("Harmony" without crypto context).
  const left = analysis.doubts.map((d) => `"${d.text}" as ${d.name} (${d.symbol}): ${d.why}`).join('; ');
  return { ...routed, reasoning: `${routed.reasoning} Not counted: ${left}.` };
}

/**
 * routeCover with the optional second opinion: when the rules are unsure about a common-word name and a model is
 * configured, the model settles those names (and only those). When the rules are sure, or no model is configured,
 * this is exactly routeCover and makes no call.
 */
export async function routeCoverChecked(
  detector: CoinDetector,
  loras: LoraResolver,
  title: string,
  subtitle: string | undefined,
  secondOpinion: CoinSecondOpinion | undefined,
): Promise<RouteResult> {
  const analysis = detector.analyse(title, subtitle);
  if (!secondOpinion || analysis.doubts.length === 0) return routeAnalysis(analysis, loras);
  const confirmed = await secondOpinion.confirm(title, subtitle, analysis);
  const asked = analysis.doubts.map((d) => `"${d.text}"`).join(', ');
  const note = confirmed.length
    ? `The rules were unsure about ${asked}; a second opinion (${secondOpinion.model}) confirmed ${confirmed.map((d) => d.symbol).join(', ')}.`
    : `The rules were unsure about ${asked}; the second opinion (${secondOpinion.model}) added no coin.`;
  const routed = await routeCoins(mergeConfirmed(analysis.coins, confirmed, secondOpinion.model), loras);
  return { ...routed, reasoning: `${note} ${routed.reasoning}` };
}

async function routeCoins(coins: DetectedCoin[], loras: LoraResolver): Promise<RouteResult> {
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
    lora = await loras.activeForCoin(c.symbol);
    if (lora) {
      parts.push(`Using ${lora.name} v${lora.version} at strength ${lora.strength}: it is the active LoRA for ${c.symbol}.`);
      break;
    }
  }
  if (!lora) {
    lora = await loras.activeGeneral(coins.map((c) => c.symbol));
    if (lora) {
      const why = primary.length ? `no LoRA is active for ${primary.map((c) => c.symbol).join('/')}` : 'no coin-specific LoRA applies';
      parts.push(`Using the general LoRA ${lora.name} v${lora.version} at strength ${lora.strength}, since ${why}.`);
    } else {
      parts.push('No LoRA applies (the registry has none active for these coins), so generation runs without one.');
    }
  }
  return { coins, lora, reasoning: parts.join(' ') };
}
