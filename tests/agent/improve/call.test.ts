/**
 * Tool-to-tool calls are typed by the called tool's schemas: the input is checked when it compiles (the
 * `@ts-expect-error` lines fail `npm run typecheck` if a wrong argument ever compiles), and the data is the
 * tool's output. At run time a failure keeps the tool's code and sentence.
 */
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import { callTool, callToolOk, type ToolInput, type ToolOutput } from '../../../src/agent/improve/call.js';
import { isLoraloopError } from '../../../src/core/errors.js';
import { makeTestApp } from '../../support/app.js';

describe('typed tool-to-tool calls', () => {
  const t = makeTestApp();
  afterAll(() => t.dispose());

  it('returns the output of the tool it calls, typed by its output schema', async () => {
    const routed = await callToolOk(t.app.context(), 'cover_route', { title: 'Solana ETF inflows hit a record' });
    expectTypeOf(routed).toEqualTypeOf<ToolOutput<'cover_route'>>();
    expect(routed.coins.map((c) => c.symbol)).toContain('SOL');
  });

  it('turns a failure into a LoraloopError with the tool code and sentence', async () => {
    const r = await callTool(t.app.context(), 'lora_status', { lora_id: 'no-such-lora' });
    expect(r).toMatchObject({ success: false, error: { code: 'NOT_FOUND' } });
    const thrown = await callToolOk(t.app.context(), 'lora_status', { lora_id: 'no-such-lora' }).catch((e: unknown) => e);
    expect(isLoraloopError(thrown) && thrown.code).toBe(r.success ? 'no failure' : r.error.code);
    expect((thrown as Error).message).toBe(`lora_status: ${r.success ? '' : r.error.message}`);
  });

  it('refuses wrong arguments at compile time', () => {
    expectTypeOf<{ titel: string }>().not.toMatchTypeOf<ToolInput<'cover_generate'>>();
    expectTypeOf<{ title: string; size: '640x480' }>().not.toMatchTypeOf<ToolInput<'cover_generate'>>();
    expectTypeOf<{ title: string; size: '1024x1024' }>().toMatchTypeOf<ToolInput<'cover_generate'>>();
    const wrong = () =>
      // @ts-expect-error cover_route has no `headline`; its input is `title`.
      callTool(t.app.context(), 'cover_route', { headline: 'x' });
    const unknown = () =>
      // @ts-expect-error there is no tool called cover_paint.
      callTool(t.app.context(), 'cover_paint', {});
    void [wrong, unknown]; // never run: the compiler is the judge here
  });
});
