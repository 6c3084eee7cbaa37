/**
 * The vision captioner: any OpenAI-compatible chat endpoint with image input (OPENAI_API_KEY, OPENAI_BASE_URL,
 * LORALOOP_VISION_MODEL), through the official `openai` SDK. Each image is downscaled (long side 768, JPEG)
 * and sent as a data URL, with the style guide of the project's asset type, its vocabulary and the category
 * list from the prompt files in src/prompts. The model answers JSON `{caption, categories}`; anything else
 * is still used as a plain caption, so a model that ignores the format does not lose the work.
 */
import OpenAI from 'openai';
import sharp from 'sharp';
import { z } from 'zod';
import { openAIClient } from '../../clients/openai.js';
import { LoraloopError } from '../../core/errors.js';
import { CATEGORIES, normalizeCategory } from '../analyze/taxonomy.js';
import { fillPrompt, loadPrompt } from '../../prompts/load.js';
import type { StyleGuide } from './style.js';

/** Long side of the image sent to the model: enough to read details, small enough to stay cheap. */
export const VISION_IMAGE_SIZE = 768;

/** Connection settings (config.openai plus the app's fetch). */
export interface VisionCaptionerOptions {
  apiKey: string | undefined;
  baseUrl?: string | undefined;
  model: string;
  fetch?: typeof fetch;
  /** Per-request deadline (default 60 s). */
  timeoutMs?: number;
  /** SDK retries on 429/5xx (default 2). */
  maxRetries?: number;
}

/** One image to caption. */
export interface VisionCaptionInput {
  bytes: Buffer;
  fileName: string;
  tags: string[];
  assetType: string;
  triggerWord: string;
  guide: StyleGuide;
  /** The vocabulary as a prompt line ("background" (not "backdrop"); ...). */
  vocabulary: string;
  /** Extra style instructions from the caller. */
  extra?: string;
  signal?: AbortSignal;
}

/** What the model said. */
export interface VisionCaption {
  text: string;
  categories: string[];
}

/** A captioner bound to one endpoint and model. */
export interface VisionCaptioner {
  model: string;
  caption(input: VisionCaptionInput): Promise<VisionCaption>;
}

const answerSchema = z.object({
  caption: z.string().min(1),
  categories: z.array(z.string()).optional(),
});

/** Read the model's answer: JSON (possibly in a code fence) or, failing that, the text itself. */
export function parseVisionAnswer(content: string): VisionCaption {
  const stripped = content.trim().replace(/^```(?:json)?\s*/i, '').replace(/\s*```$/, '');
  const start = stripped.indexOf('{');
  const end = stripped.lastIndexOf('}');
  if (start >= 0 && end > start) {
    try {
      const parsed = answerSchema.safeParse(JSON.parse(stripped.slice(start, end + 1)));
      if (parsed.success) {
        const known = new Set<string>(CATEGORIES);
        const categories = (parsed.data.categories ?? []).map(normalizeCategory).filter((c) => known.has(c));
        return { text: parsed.data.caption, categories: [...new Set(categories)] };
      }
    } catch {
      // not JSON after all: fall through to plain text
    }
  }
  return { text: stripped.split('\n')[0] ?? stripped, categories: [] };
}

/** Downscale to a JPEG data URL the model reads. */
export async function toDataUrl(bytes: Buffer, size = VISION_IMAGE_SIZE): Promise<string> {
  const jpeg = await sharp(bytes, { failOn: 'error' })
    .rotate()
    .resize(size, size, { fit: 'inside', withoutEnlargement: true })
    .flatten({ background: '#ffffff' })
    .jpeg({ quality: 85 })
    .toBuffer();
  return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
}

function upstreamError(e: unknown, model: string): LoraloopError {
  if (e instanceof LoraloopError) return e;
  if (e instanceof OpenAI.APIError) {
    const status = e.status;
    if (status === 401 || status === 403) {
      return new LoraloopError('NOT_CONFIGURED', `The vision endpoint refused the key (HTTP ${status}).`, {
        hint: 'Check OPENAI_API_KEY (and OPENAI_BASE_URL for a non-OpenAI endpoint).',
        cause: e,
      });
    }
    if (status === 429) return new LoraloopError('UPSTREAM_RATE_LIMITED', 'The vision endpoint is rate limiting us.', { hint: 'Wait a minute and caption the rest again.', cause: e });
    if (status === 404) {
      return new LoraloopError('UPSTREAM_ERROR', `The vision endpoint does not know the model "${model}".`, { hint: 'Set LORALOOP_VISION_MODEL to a model with image input.', cause: e });
    }
    if (status === undefined) {
      return new LoraloopError('UPSTREAM_UNREACHABLE', 'The vision endpoint could not be reached.', { hint: 'Check OPENAI_BASE_URL and the network.', cause: e });
    }
    return new LoraloopError('UPSTREAM_ERROR', `The vision endpoint answered HTTP ${status}.`, { hint: 'Try again later.', cause: e });
  }
  return new LoraloopError('UPSTREAM_ERROR', `The vision call failed (${e instanceof Error ? e.message : String(e)}).`, { cause: e });
}

/**
 * Build a vision captioner. Throws NOT_CONFIGURED naming OPENAI_API_KEY when there is no key; nothing is
 * contacted until `caption` is called.
 */
export function createVisionCaptioner(opts: VisionCaptionerOptions): VisionCaptioner {
  if (!opts.apiKey) {
    throw new LoraloopError('NOT_CONFIGURED', 'No vision model is configured.', {
      hint: 'Set OPENAI_API_KEY (and OPENAI_BASE_URL, LORALOOP_VISION_MODEL for another endpoint), or use the local captioner.',
    });
  }
  const client = openAIClient({ apiKey: opts.apiKey, baseUrl: opts.baseUrl, fetch: opts.fetch, timeoutMs: opts.timeoutMs ?? 60_000, maxRetries: opts.maxRetries ?? 2 });
  const system = loadPrompt('caption_system');
  const user = loadPrompt('caption_user');
  return {
    model: opts.model,
    async caption(input) {
      const g = input.guide;
      const systemText = fillPrompt(system, {
        asset_type: input.assetType,
        trigger_word: input.triggerWord,
        style_guide: g.guide.map((l) => `- ${l}`).join('\n'),
        example: g.example,
        vocabulary: input.vocabulary || '(none beyond plain English)',
        banned: g.banned.map((b) => `${b.phrase} (${b.why})`).join('; '),
        categories: CATEGORIES.join(', '),
      });
      const userText = fillPrompt(user, {
        file_name: input.fileName,
        tags: input.tags.length ? input.tags.join(', ') : '(none)',
        extra: input.extra ? `Extra instructions: ${input.extra}` : '',
      });
      const url = await toDataUrl(input.bytes);
      let content: string | null | undefined;
      try {
        const res = await client.chat.completions.create(
          {
            model: opts.model,
            temperature: 0.2,
            max_tokens: 300,
            messages: [
              { role: 'system', content: systemText },
              {
                role: 'user',
                content: [
                  { type: 'text', text: userText },
                  { type: 'image_url', image_url: { url, detail: 'low' } },
                ],
              },
            ],
          },
          input.signal ? { signal: input.signal } : {},
        );
        content = res.choices[0]?.message?.content;
      } catch (e) {
        throw upstreamError(e, opts.model);
      }
      if (!content || content.trim() === '') {
        throw new LoraloopError('UPSTREAM_ERROR', 'The vision model returned an empty answer.', { hint: 'Try again, or use another LORALOOP_VISION_MODEL.' });
      }
      return parseVisionAnswer(content);
    },
  };
}
