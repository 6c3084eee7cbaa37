import { z } from 'zod';
import { runCoverAgent } from '../make.js';
import { coverSizeSchema } from '../../cover/sizes.js';
import { checkSchema } from '../../tools/cover_critique.js';
import { coinSchema, loraRefSchema, paletteSchema } from '../../tools/schemas.js';
import { defineTool } from '../../tools/types.js';

const trailStepSchema = z.object({
  step: z.number().int().describe('1-based position in the trail.'),
  planner: z.enum(['rules', 'llm']).describe('Which planner took the step.'),
  action: z.string().describe('parse, route, generate, critique, decide, model, fallback or finish.'),
  tool: z.string().optional().describe('The tool called, if any.'),
  input: z.record(z.string(), z.unknown()).optional().describe('The tool input as sent.'),
  ok: z.boolean().describe('Whether the step succeeded.'),
  summary: z.string().describe('What happened and why, in one sentence.'),
  cover_id: z.string().optional().describe('The cover the step made or judged.'),
  score: z.number().optional().describe('The critic score, for critique steps.'),
  elapsed_ms: z.number().describe('Milliseconds since the run started.'),
});

export const coverMakeTool = defineTool({
  name: 'cover_make',
  title: 'Make a cover (agent)',
  description:
    'The make-a-cover agent: from "make a Solana cover: <headline>" (or a title) it detects the coin, routes to the LoRA, generates, critiques, and regenerates with a new seed, style or LoRA strength while the score is under the threshold, within a budget of attempts and seconds. Returns the best cover and the whole trail of decisions. planner "rules" (default) is deterministic; "llm" lets the configured model choose the tool calls.',
  input: z.object({
    request: z.string().max(2000).optional().describe('Free text such as "make a Solana cover: Solana ETF inflows hit $1B" (the headline after a colon or in quotes).'),
    title: z.string().max(2000).optional().describe('The headline, instead of a request.'),
    subtitle: z.string().max(2000).optional().describe('Optional smaller line under the title.'),
    budget: z
      .object({
        attempts: z.number().int().min(1).max(10).optional().describe('Most covers to make (default 4).'),
        seconds: z.number().int().min(5).max(900).optional().describe('Time budget in seconds (default 120); the attempt running when it ends is finished.'),
      })
      .optional()
      .describe('Limits of the run.'),
    planner: z.enum(['rules', 'llm']).default('rules').describe('rules: the built-in deterministic planner; llm: the model at OPENAI_BASE_URL (LORALOOP_LLM_MODEL) calls the tools.'),
    size: coverSizeSchema.optional(),
    backend: z.enum(['local', 'comfyui', 'replicate']).optional().describe('Who makes the picture (default local); LoRA strength changes apply to comfyui and replicate.'),
    threshold: z.number().min(0).max(1).optional().describe('Score at which a cover is good enough (default 0.8).'),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional().describe('Seed of the first attempt (later ones step from it); omit for fresh seeds.'),
  }),
  output: z.object({
    cover_id: z.string().describe('The best cover.'),
    path: z.string().describe('Its PNG.'),
    score: z.number().describe('Its critic score, 0..1.'),
    attempts: z.number().int().describe('How many covers were made.'),
    planner: z.enum(['rules', 'llm']).describe('The planner that ran.'),
    title: z.string().describe('The title given to cover_generate.'),
    coin: z.object({ symbol: z.string().describe('Ticker.'), name: z.string().describe('Name.') }).nullable().describe('The coin the request is for.'),
    threshold: z.number().describe('The score aimed for.'),
    met_threshold: z.boolean().describe('Whether the best cover reached it.'),
    stopped_because: z.string().describe('Why the agent stopped.'),
    checks: z.array(checkSchema).describe('The best cover\'s checks.'),
    trail: z.array(trailStepSchema).describe('Every decision and tool call, in order.'),
    palette: paletteSchema.nullable().optional().describe('The best cover\'s palette.'),
    lora: loraRefSchema.nullable().optional().describe('The LoRA the best cover was made with, or null.'),
    style: z.string().nullable().optional().describe('The best cover\'s background style.'),
    seed: z.number().int().nullable().optional().describe('The best cover\'s seed; pass it to cover_generate to reproduce it.'),
    coins: z.array(coinSchema).optional().describe('Coins detected in the best cover\'s title, primary first.'),
    contrast: z.number().nullable().optional().describe('WCAG contrast ratio of the best cover\'s title against what is behind it.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  longRunning: true,
  worker: true,
  async handler(ctx, input) {
    const total = input.budget?.attempts ?? 4;
    let made = 0;
    const r = await runCoverAgent(ctx.services, ctx.tools, input, {
      signal: ctx.signal,
      face: ctx.face,
      onStep: (st) => {
        if (st.action === 'generate' && st.ok) made++;
        ctx.progress({ progress: Math.min(made, total), total, message: st.summary.slice(0, 120) });
      },
    });
    // The data says how the best cover looks, so a result (a chat message, the cover studio view) can show it without another call.
    return r;
  },
});
