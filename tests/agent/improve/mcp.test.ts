/** improve_run, improve_status and dataset_collect through a real MCP client. */
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp } from '../../support/app.js';
import { connectMcpClient } from '../../support/mcp.js';

let t: ReturnType<typeof makeTestApp>;
let client: Client;

beforeAll(async () => {
  t = makeTestApp();
  client = await connectMcpClient(t.app, 'improve-contract');
});
afterAll(async () => {
  await client.close();
  await t.dispose();
});

describe('nightly-run tools over MCP', () => {
  it('improve_run (dry run) and improve_status return structured content that validates', async () => {
    const dry = await client.callTool({ name: 'improve_run', arguments: { dry_run: true } });
    expect(dry.isError).toBeFalsy();
    expect(dry.structuredContent).toMatchObject({ dry_run: true, run_id: null, loras: [] });
    const run = await client.callTool({ name: 'improve_run', arguments: {} });
    expect(run.isError).toBeFalsy();
    const runId = (run.structuredContent as { run_id: string }).run_id;
    expect(runId).toMatch(/^run_/);
    const st = await client.callTool({ name: 'improve_status', arguments: {} });
    expect(st.structuredContent).toMatchObject({ runs: [{ run_id: runId, status: 'succeeded' }], lease: null });
  });

  it('bad input and unknown projects are isError results with a sentence to act on', async () => {
    const both = await client.callTool({ name: 'dataset_collect', arguments: { feed_url: 'https://x.example/f', dir: '/tmp' } });
    expect(both.isError).toBe(true);
    expect(JSON.stringify(both.content)).toMatch(/exactly one of feed_url and dir/);
    const unknown = await client.callTool({ name: 'improve_run', arguments: { loras: ['no-such-lora'] } });
    expect(unknown.isError).toBe(true);
    expect(JSON.stringify(unknown.content)).toMatch(/No LoRA project \\"no-such-lora\\"/);
    const st = await client.callTool({ name: 'improve_status', arguments: { run_id: 'run_nope' } });
    expect(st.isError).toBe(true);
  });
});
