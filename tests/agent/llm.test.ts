import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrailStep } from '../../src/agent/make.js';
import { startOpenAIEmulator, type OpenAIEmulator, type RecordedRequest, type ScriptedTurn } from '../emulators/openai.js';
import { makeTestApp } from '../support/app.js';
import { dataOf } from '../support/result.js';

/** The content of the last tool message the client sent. */
function lastToolResult(req: RecordedRequest): string {
  const tools = req.messages.filter((m) => m.role === 'tool');
  return String(tools[tools.length - 1]?.content ?? '');
}

const VISION_OK = JSON.stringify({ coin_seen: 'SOL', right_coin: true, wrong_logos: [], garbled_text: false, style_ok: true, issues: [], score: 0.95 });

interface MakeData {
  cover_id: string;
  score: number;
  attempts: number;
  planner: string;
  stopped_because: string;
  trail: TrailStep[];
}

describe('cover_make with the LLM planner through the openai SDK', () => {
  let emu: OpenAIEmulator;
  let t: ReturnType<typeof makeTestApp>;
  // Planner turns come from `plan`; the vision critic (same endpoint, another model) always approves.
  let plan: (req: RecordedRequest) => ScriptedTurn = () => ({ content: 'done' });
  beforeAll(async () => {
    emu = await startOpenAIEmulator({ apiKey: 'sk-agent', respond: (req) => (req.model === 'emu-vision' ? { content: VISION_OK } : plan(req)) });
    t = makeTestApp({ OPENAI_API_KEY: 'sk-agent', OPENAI_BASE_URL: emu.baseUrl, LORALOOP_LLM_MODEL: 'emu-planner', LORALOOP_VISION_MODEL: 'emu-vision' });
  });
  afterAll(async () => {
    await t.dispose();
    await emu.close();
  });

  it('recovers from an unknown tool, broken JSON and invalid arguments, makes and critiques a cover, and is held to the budget', async () => {
    const planner = (from: number) => emu.requests.slice(from).filter((r) => r.model === 'emu-planner');
    const start = emu.requests.length;
    let turn = 0;
    let coverId = '';
    plan = (req) => {
      turn++;
      const last = lastToolResult(req);
      switch (turn) {
        case 1:
          return { tool_calls: [{ name: 'lora_delete', arguments: { name: 'sol-style' } }] };
        case 2:
          return { tool_calls: [{ name: 'cover_generate', arguments: '{"title": ' }] };
        case 3:
          return { tool_calls: [{ name: 'cover_generate', arguments: { title: 42 } }] };
        case 4:
          return { tool_calls: [{ name: 'cover_generate', arguments: { title: 'Solana ETF inflows hit $1B', seed: 9 } }] };
        case 5:
          coverId = /"cover_id":"(cov_[^"]+)"/.exec(last)?.[1] ?? 'missing';
          return { tool_calls: [{ name: 'cover_critique', arguments: { cover_id: coverId, expect: { coin: 'SOL' } } }] };
        case 6:
          return { tool_calls: [{ name: 'cover_generate', arguments: { title: 'Solana ETF inflows hit $1B' } }] };
        default:
          return { content: `The best cover is ${coverId}.` };
      }
    };
    const r = await t.app.tools.execute('cover_make', { request: 'make a Solana cover: Solana ETF inflows hit $1B', planner: 'llm', budget: { attempts: 1 } }, t.app.context());
    expect(r.success).toBe(true);
    const d = dataOf<MakeData>(r);
    expect(d).toMatchObject({ planner: 'llm', attempts: 1, cover_id: coverId, stopped_because: 'the model finished' });
    expect(d.score).toBeGreaterThanOrEqual(0.8);

    const reqs = planner(start);
    expect(reqs).toHaveLength(7);
    // Only the safe subset is offered, with parameters generated from the zod schemas.
    const offered = reqs[0]!.tools.map((tl) => (tl.function as { name: string }).name).sort();
    expect(offered).toEqual(['cover_critique', 'cover_generate', 'cover_route', 'lora_list']);
    const gen = reqs[0]!.tools.find((tl) => (tl.function as { name: string }).name === 'cover_generate')!.function as { parameters: { properties: Record<string, unknown>; required: string[] } };
    expect(gen.parameters.required).toEqual(['title']);
    expect(Object.keys(gen.parameters.properties)).toContain('seed');
    // Each mistake came back as the tool's result, and the run went on.
    expect(lastToolResult(reqs[1]!)).toContain('Unknown tool \\"lora_delete\\"');
    expect(lastToolResult(reqs[2]!)).toContain('not valid JSON');
    expect(lastToolResult(reqs[3]!)).toMatch(/INVALID_INPUT: Invalid input for cover_generate: title/);
    expect(lastToolResult(reqs[5]!)).toContain('"score"');
    expect(lastToolResult(reqs[6]!)).toMatch(/Refused: the attempt budget \(1\) is used/);
    // The refused tool never ran.
    expect(d.trail.some((s) => s.tool === 'lora_delete' && s.ok)).toBe(false);

    const failedModelSteps = d.trail.filter((s) => !s.ok && s.planner === 'llm').map((s) => s.summary);
    expect(failedModelSteps.join('\n')).toMatch(/lora_delete.*not offered/);
    expect(r.reasoning).toMatch(/The model finished: The best cover is cov_/);
  });

  it('falls back to the rule planner when the model endpoint keeps failing', async () => {
    let n = 0;
    plan = () => {
      n++;
      return { status: 500, error: { message: 'overloaded' }, headers: { 'retry-after': '0' } };
    };
    const r = await t.app.tools.execute('cover_make', { request: 'make an Ethereum cover: Ethereum Pectra upgrade ships', planner: 'llm' }, t.app.context());
    expect(r.success).toBe(true);
    expect(n).toBe(3); // the SDK's two retries, then the planner gives up
    const d = dataOf<MakeData>(r);
    expect(d.attempts).toBeGreaterThanOrEqual(1);
    expect(d.trail.map((s) => s.action)).toContain('fallback');
    expect(r.reasoning).toMatch(/The model call failed: the model endpoint answered 500.*rule planner takes over/s);
  });
});
