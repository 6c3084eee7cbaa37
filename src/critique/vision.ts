/**
 * The vision critic: an OpenAI-compatible vision model looks at the cover and answers structured findings
 * (the prompt is src/prompts/critique_*.txt). Structured output is asked for with a JSON schema made from
 * the same zod schema that parses the answer, so a model that ignores the schema is caught, not trusted.
 */
import sharp from 'sharp';
import { z } from 'zod';
import { createOpenAIClient, describeOpenAIError, type OpenAIDeps } from '../clients/openai.js';
import { prompt } from '../prompts/load.js';

export const visionFindingsSchema = z.object({
  coin_seen: z.string().nullable().describe('Ticker of the main coin logo on the cover, or null when there is none.'),
  right_coin: z.boolean().describe('True when the main logo is the expected coin\'s.'),
  wrong_logos: z.array(z.string()).describe('Tickers of any other coin logos visible in the picture.'),
  garbled_text: z.boolean().describe('True when any text is misspelled, unreadable, melted or cut off.'),
  style_ok: z.boolean().describe('True when the cover fits the style brief (true without a brief).'),
  issues: z.array(z.string()).describe('One short sentence per problem; empty when there is none.'),
  score: z.number().min(0).max(1).describe('Overall verdict, 0 unusable .. 1 publish as is.'),
});
export type VisionFindings = z.infer<typeof visionFindingsSchema>;

/** What the vision critic did: findings, or why there are none. */
export type VisionOutcome =
  | { status: 'ok'; model: string; findings: VisionFindings }
  | { status: 'skipped'; reason: string }
  | { status: 'failed'; error: string };

/** The brief the model checks against. */
export interface VisionBrief {
  coin: string | null;
  title: string | null;
  style: string | null;
}

/** Long side of the image sent to the model: enough to read a headline and tell logos apart. */
const SEND_SIZE = 768;

/** JSON in a reply, tolerating ```json fences some compatible servers add around it. */
function jsonOf(text: string): unknown {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text);
  return JSON.parse((fenced?.[1] ?? text).trim());
}

/** Ask the configured vision model about a cover. Never throws: failures become `{status: 'failed'}`. */
export async function visionCritique(s: OpenAIDeps, png: Buffer, brief: VisionBrief, signal?: AbortSignal): Promise<VisionOutcome> {
  const model = s.config.openai.visionModel;
  try {
    const client = createOpenAIClient(s, { purpose: 'The vision critic' });
    const jpeg = await sharp(png).resize(SEND_SIZE, SEND_SIZE, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 85 }).toBuffer();
    const schema = z.toJSONSchema(visionFindingsSchema) as Record<string, unknown>;
    delete schema.$schema;
    const res = await client.chat.completions.create(
      {
        model,
        temperature: 0,
        messages: [
          { role: 'system', content: prompt('critique_system') },
          {
            role: 'user',
            content: [
              {
                type: 'text',
                text: prompt('critique_user', {
                  coin: brief.coin ?? 'none (a general crypto cover: no specific coin logo should dominate)',
                  title: brief.title ?? '(unknown)',
                  style: brief.style ?? '(none)',
                }),
              },
              { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${jpeg.toString('base64')}`, detail: 'high' } },
            ],
          },
        ],
        response_format: { type: 'json_schema', json_schema: { name: 'cover_findings', strict: true, schema } },
      },
      signal ? { signal } : undefined,
    );
    const text = res.choices[0]?.message.content ?? '';
    let raw: unknown;
    try {
      raw = jsonOf(text);
    } catch {
      return { status: 'failed', error: `the vision model did not answer JSON (${JSON.stringify(text.slice(0, 80))})` };
    }
    const parsed = visionFindingsSchema.safeParse(raw);
    if (!parsed.success) {
      return { status: 'failed', error: `the vision model's answer does not match the findings schema (${parsed.error.issues.map((i) => i.path.join('.') || 'root').join(', ')})` };
    }
    const f = parsed.data;
    return {
      status: 'ok',
      model,
      findings: { ...f, coin_seen: f.coin_seen ? f.coin_seen.toUpperCase() : null, wrong_logos: f.wrong_logos.map((w) => w.toUpperCase()) },
    };
  } catch (e) {
    const d = describeOpenAIError(e);
    return { status: 'failed', error: d.message };
  }
}
