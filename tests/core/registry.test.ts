import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../../src/core/logger.js';
import { LoraloopError } from '../../src/core/errors.js';
import { ok } from '../../src/core/result.js';
import { canonicalToolName, createToolRegistry } from '../../src/tools/registry.js';
import { defineTool, type ToolContext } from '../../src/tools/types.js';
import { dataOf, errorOf } from '../support/result.js';

const ctx = { logger: createLogger({ level: 'silent' }), signal: new AbortController().signal, progress: () => {}, face: 'test' } as unknown as ToolContext;

const echo = defineTool({
  name: 'demo_echo',
  title: 'Echo',
  description: 'Echo',
  input: z.object({ text: z.string().min(1).describe('text') }),
  output: z.object({ text: z.string().describe('text') }),
  annotations: { readOnlyHint: true },
  async handler(_c, i) {
    if (i.text === 'boom') throw new LoraloopError('NOT_FOUND', 'No such thing.', { hint: 'Create it first.' });
    if (i.text === 'crash') throw new Error('kaput');
    if (i.text === 'wrong') return ok({ nope: 1 } as unknown as { text: string }, 'bad');
    return ok({ text: i.text }, `echoed ${i.text}`);
  },
});

describe('tool registry', () => {
  const reg = createToolRegistry([echo as never]);
  it('accepts dotted and dashed spellings', async () => {
    expect(canonicalToolName('lora.upload-images')).toBe('lora_upload_images');
    expect(dataOf(await reg.execute('demo.echo', { text: 'hi' }, ctx))).toEqual({ text: 'hi' });
  });
  it('names the bad field on invalid input', async () => {
    const r = await reg.execute('demo_echo', { text: '' }, ctx);
    expect(r.success).toBe(false);
    expect(r.reasoning).toContain('text');
    expect(errorOf(r).code).toBe('INVALID_INPUT');
  });
  it('turns typed errors into a failed result with code and hint, and crashes into INTERNAL', async () => {
    const r = await reg.execute('demo_echo', { text: 'boom' }, ctx);
    expect(r).toMatchObject({ success: false, reasoning: 'No such thing. Create it first.' });
    expect(errorOf(r).code).toBe('NOT_FOUND');
    const c = await reg.execute('demo_echo', { text: 'crash' }, ctx);
    expect(errorOf(c).code).toBe('INTERNAL');
  });
  it('refuses output that breaks the declared schema', async () => {
    const r = await reg.execute('demo_echo', { text: 'wrong' }, ctx);
    expect(r.success).toBe(false);
    expect(errorOf(r).code).toBe('INTERNAL');
  });
  it('lists known tools for an unknown name', async () => {
    const r = await reg.execute('nope', {}, ctx);
    expect(r.reasoning).toContain('demo_echo');
  });
});
