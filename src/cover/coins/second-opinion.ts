/**
 * An optional second opinion from an OpenAI-compatible model, for headlines the rules are unsure about.
 *
 * The rules decide alone whenever they are sure (no doubts): the model is never called then. When a common-word name
 * ("Harmony", "Optimism", "Metal") stood in the title without proof either way, the model is asked about those names
 * only. It can add a doubted coin; it cannot remove a coin the rules found, nor add one nobody doubted, so a model
 * that answers nonsense changes nothing. Any failure (no answer, bad JSON, an endpoint error) keeps the rules'
 * answer and logs a warning to stderr: the second opinion is never required.
 *
 * The `openai` package is imported on first use only, so a cold `loraloop cover` does not pay for it.
 */
import type OpenAI from 'openai';
import { z } from 'zod';
import type { Logger } from '../../core/logger.js';
import { prompt } from '../../prompts/load.js';
import type { CoinAnalysis, DetectedCoin, Doubt } from './detect.js';

/** The chat part of an OpenAI client (the real `openai` SDK's shape). */
export type ChatClient = Pick<OpenAI, 'chat'>;

/** Settles the doubts of one analysed headline. */
export interface CoinSecondOpinion {
  /** The model that answers, for reasoning text. */
  readonly model: string;
  /** Coins confirmed among `analysis.doubts`; [] when none is or when the model could not be asked. */
  confirm(title: string, subtitle: string | undefined, analysis: CoinAnalysis): Promise<Doubt[]>;
}

/** Options for {@link createCoinSecondOpinion}. */
export interface CoinSecondOpinionOptions {
  /** OPENAI_API_KEY. */
  apiKey: string;
  /** OPENAI_BASE_URL (including /v1); OpenAI's own when absent. */
  baseUrl?: string;
  /** LORALOOP_LLM_MODEL. */
  model: string;
  fetch?: typeof fetch;
  logger?: Logger;
  /** A ready client (tests, a shared one); otherwise one is made from apiKey/baseUrl on first use. */
  client?: ChatClient;
  /** One question should not hold a cover up for long (default 15 s, one retry). */
  timeoutMs?: number;
}

const answerSchema = z.object({ coins: z.array(z.string().trim().min(1).max(20)).max(20) });

/** Parse the model's reply: JSON, possibly in a ```json fence or with text around it. */
export function parseSecondOpinion(reply: string): string[] | undefined {
  const body = /\{[\s\S]*\}/.exec(reply)?.[0];
  if (!body) return undefined;
  try {
    const parsed = answerSchema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data.coins.map((c) => c.replace(/^\$/, '').toUpperCase()) : undefined;
  } catch {
    return undefined;
  }
}

export function createCoinSecondOpinion(opts: CoinSecondOpinionOptions): CoinSecondOpinion {
  let client: ChatClient | undefined = opts.client;
  const getClient = async (): Promise<ChatClient> => {
    if (client) return client;
    const { openAIClient } = await import('../../clients/openai.js');
    client = openAIClient({ apiKey: opts.apiKey, baseUrl: opts.baseUrl, fetch: opts.fetch, maxRetries: 1, timeoutMs: opts.timeoutMs ?? 15_000 });
    return client;
  };
  return {
    model: opts.model,
    async confirm(title, subtitle, analysis) {
      if (analysis.doubts.length === 0) return []; // the rules are sure: no call
      const doubts = analysis.doubts.filter((d, i, all) => all.findIndex((x) => x.symbol === d.symbol) === i);
      const text = prompt('coin_second_opinion', {
        title,
        subtitle: subtitle ? `Subtitle: ${subtitle}` : '',
        found: analysis.coins.length ? analysis.coins.map((c) => `${c.symbol} (${c.name})`).join(', ') : 'none',
        doubts: doubts.map((d) => `- ${d.symbol}: "${d.text}" could mean ${d.name} (${d.why})`).join('\n'),
      });
      try {
        const res = await (await getClient()).chat.completions.create({
          model: opts.model,
          temperature: 0,
          messages: [{ role: 'user', content: text }],
        });
        const said = parseSecondOpinion(res.choices[0]?.message?.content ?? '');
        if (!said) {
          opts.logger?.warn('coin second opinion: the model did not answer in the asked JSON; keeping the rules\' answer');
          return [];
        }
        return doubts.filter((d) => said.includes(d.symbol));
      } catch (e) {
        opts.logger?.warn('coin second opinion failed; keeping the rules\' answer', {
          error: e instanceof Error ? e.message.slice(0, 200) : String(e),
        });
        return [];
      }
    },
  };
}

/** Add the confirmed coins to the rules' list: after the rules' coins, primary only when the rules found none. */
export function mergeConfirmed(coins: readonly DetectedCoin[], confirmed: readonly Doubt[], model: string): DetectedCoin[] {
  const out = [...coins];
  const leadless = !coins.some((c) => c.primary);
  confirmed.forEach((d, i) => {
    if (out.some((c) => c.symbol === d.symbol)) return;
    const primary = leadless && i === 0;
    out.push({
      symbol: d.symbol,
      name: d.name,
      primary,
      evidence: `"${d.text}" (${d.why}; confirmed by the second opinion of ${model})${primary ? '; primary: first coin confirmed' : ''}`,
    });
  });
  return out.sort((a, b) => Number(b.primary) - Number(a.primary));
}
