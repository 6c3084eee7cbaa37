import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startOpenAIEmulator, type OpenAIEmulator } from './openai.js';

describe('OpenAI-compatible emulator (real openai SDK)', () => {
  let emu: OpenAIEmulator;
  let client: OpenAI;
  beforeEach(async () => {
    emu = await startOpenAIEmulator({ apiKey: 'sk-emu' });
    client = new OpenAI({ apiKey: 'sk-emu', baseURL: emu.baseUrl, maxRetries: 0 });
  });
  afterEach(async () => emu.close());

  it('replays tool calls, then text, and records the tools and messages it was sent', async () => {
    emu.push({ tool_calls: [{ name: 'cover_route', arguments: { title: 'Solana ETF' } }] }, { content: 'Done.' });
    const tools = [{ type: 'function' as const, function: { name: 'cover_route', parameters: { type: 'object', properties: { title: { type: 'string' } } } } }];
    const first = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'make a Solana cover' }], tools });
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type === 'function' ? JSON.parse(call.function.arguments) : null).toEqual({ title: 'Solana ETF' });
    const second = await client.chat.completions.create({
      model: 'm',
      messages: [
        { role: 'user', content: 'make a Solana cover' },
        { role: 'assistant', content: null, tool_calls: first.choices[0]!.message.tool_calls! },
        { role: 'tool', tool_call_id: call!.id, content: '{"coin":"SOL"}' },
      ],
      tools,
    });
    expect(second.choices[0]?.message.content).toBe('Done.');
    expect(emu.requests).toHaveLength(2);
    expect(emu.requests[0]?.tools[0]).toMatchObject({ function: { name: 'cover_route' } });
    expect(emu.requests[1]?.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
  });

  it('streams text turns and decodes image_url data URLs', async () => {
    emu.push({ content: 'a long streamed answer about an image' });
    const stream = await client.chat.completions.create({
      model: 'm',
      stream: true,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${Buffer.from('PNGDATA').toString('base64')}` } }] }],
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('a long streamed answer about an image');
    expect(emu.requests[0]?.images[0]).toMatchObject({ mime: 'image/png' });
    expect(emu.requests[0]?.images[0]?.bytes?.toString()).toBe('PNGDATA');
    expect(emu.requests[0]?.text).toBe('what is this?');
  });

  it('answers scripted errors and a wrong key like the real API', async () => {
    emu.push({ status: 429, error: { message: 'slow down', type: 'rate_limit_error' }, headers: { 'retry-after': '1' } });
    await expect(client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 429 });
    const wrong = new OpenAI({ apiKey: 'sk-other', baseURL: emu.baseUrl, maxRetries: 0 });
    await expect(wrong.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 401 });
    // Script exhausted without a responder: 500.
    await expect(client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 500 });
  });

  it('asks the responder once the script is used up', async () => {
    await emu.close();
    emu = await startOpenAIEmulator({ respond: (req, i) => ({ content: `echo ${i}: ${req.text}` }) });
    client = new OpenAI({ apiKey: 'any', baseURL: emu.baseUrl, maxRetries: 0 });
    const r = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.choices[0]?.message.content).toBe('echo 0: hi');
  });
});
