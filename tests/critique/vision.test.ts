import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIEmulator, type OpenAIEmulator } from '../emulators/openai.js';
import { makeTestApp } from '../support/app.js';
import { wrongLogoCover } from './helpers.js';
import { dataOf } from '../support/result.js';

const findings = (over: Record<string, unknown> = {}): string =>
  JSON.stringify({ coin_seen: 'SOL', right_coin: true, wrong_logos: [], garbled_text: false, style_ok: true, issues: [], score: 0.9, ...over });

describe('vision critic through the openai SDK', () => {
  let emu: OpenAIEmulator;
  let t: ReturnType<typeof makeTestApp>;
  let coverId: string;
  beforeAll(async () => {
    emu = await startOpenAIEmulator({ apiKey: 'sk-test' });
    t = makeTestApp({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: emu.baseUrl, LORALOOP_VISION_MODEL: 'emu-vision' });
    const made = await t.app.tools.execute('cover_generate', { title: 'Solana ETF inflows hit $1B', seed: 3 }, t.app.context());
    coverId = dataOf<{ cover_id: string }>(made).cover_id;
  });
  afterAll(async () => {
    await t.dispose();
    await emu.close();
  });

  it('sends the cover as an image with a JSON schema and combines the findings', async () => {
    emu.push({ content: findings() });
    const before = emu.requests.length;
    const r = await t.app.tools.execute('cover_critique', { cover_id: coverId, expect: { style: 'dark and minimal' } }, t.app.context());
    expect(r.success).toBe(true);
    const d = dataOf(r) as { score: number; metric_score: number; vision: { status: string; model: string; findings: { coin_seen: string } }; disagreements: string[] };
    expect(d.vision).toMatchObject({ status: 'ok', model: 'emu-vision', findings: { coin_seen: 'SOL' } });
    expect(d.disagreements).toEqual([]);
    expect(d.score).toBeCloseTo(0.6 * d.metric_score + 0.4 * 0.9, 3);
    const req = emu.requests[before]!;
    expect(req.model).toBe('emu-vision');
    expect(req.images).toHaveLength(1);
    expect(req.images[0]!.mime).toBe('image/jpeg');
    expect(req.images[0]!.bytes!.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(req.text).toContain('Expected coin: SOL');
    expect(req.text).toContain('Solana ETF inflows hit $1B');
    expect(req.text).toContain('dark and minimal');
    const rf = req.body.response_format as { type: string; json_schema: { schema: { required: string[] } } };
    expect(rf.type).toBe('json_schema');
    expect(rf.json_schema.schema.required).toContain('wrong_logos');
  });

  it('states a disagreement when the model sees another coin on a cover the metric critic passed', async () => {
    emu.push({ content: '```json\n' + findings({ coin_seen: 'BTC', right_coin: false, issues: ['The logo is Bitcoin\'s.'], score: 0.2 }) + '\n```' });
    const r = await t.app.tools.execute('cover_critique', { cover_id: coverId }, t.app.context());
    const d = dataOf(r) as { score: number; metric_score: number; disagreements: string[] };
    expect(d.metric_score).toBeGreaterThan(0.8);
    expect(d.disagreements).toHaveLength(1);
    expect(d.disagreements[0]).toMatch(/metric critic passed it .* vision critic objects: it sees BTC instead of SOL/);
    expect(d.score).toBeLessThanOrEqual(0.3);
    expect(r.reasoning).toContain('Logo: the metric critic passed it');
  });

  it('states the opposite disagreement on a wrong-logo cover the model calls right', async () => {
    const wrong = await wrongLogoCover(t.app, { symbol: 'BTC', name: 'Bitcoin' });
    emu.push({ content: findings() });
    const r = await t.app.tools.execute('cover_critique', { cover_id: wrong.id }, t.app.context());
    const d = dataOf(r) as { score: number; disagreements: string[] };
    expect(d.disagreements[0]).toMatch(/metric critic failed it .*holds the BTC logo.* vision critic sees the right coin/);
    expect(d.score).toBeLessThanOrEqual(0.3);
  });

  it('retries a 429 and falls back to the metric critic when the model keeps failing', async () => {
    emu.push({ status: 429, error: { message: 'slow down' }, headers: { 'retry-after': '0' } }, { content: findings() });
    const before = emu.requests.length;
    const ok = await t.app.tools.execute('cover_critique', { cover_id: coverId }, t.app.context());
    expect(dataOf<{ vision: { status: string } }>(ok).vision.status).toBe('ok');
    expect(emu.requests.length - before).toBe(2);

    emu.push(
      { status: 500, error: { message: 'boom' }, headers: { 'retry-after': '0' } },
      { status: 500, error: { message: 'boom' }, headers: { 'retry-after': '0' } },
      { status: 500, error: { message: 'boom' }, headers: { 'retry-after': '0' } },
    );
    const r = await t.app.tools.execute('cover_critique', { cover_id: coverId }, t.app.context());
    expect(r.success).toBe(true);
    const d = dataOf(r) as { score: number; metric_score: number; vision: { status: string; note: string } };
    expect(d.vision.status).toBe('failed');
    expect(d.vision.note).toMatch(/500/);
    expect(d.score).toBe(d.metric_score);
    expect(r.reasoning).toMatch(/vision critic failed .*metric critic decided alone/);
  });

  it('treats an answer outside the schema as a failed vision critique, not as findings', async () => {
    emu.push({ content: JSON.stringify({ verdict: 'looks great' }) });
    const r = await t.app.tools.execute('cover_critique', { cover_id: coverId }, t.app.context());
    expect(dataOf<{ vision: { status: string; note: string } }>(r).vision).toMatchObject({ status: 'failed' });
    expect(dataOf<{ vision: { note: string } }>(r).vision.note).toMatch(/findings schema/);
  });
});
