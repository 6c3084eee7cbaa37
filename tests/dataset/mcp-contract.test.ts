import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMcpServer } from '../../src/faces/mcp/server.js';
import { makeTestApp } from '../support/app.js';
import { makeProject } from './helpers.js';

let t: ReturnType<typeof makeTestApp>;
let client: Client;
let loraId: string;

beforeAll(async () => {
  t = makeTestApp();
  const p = await makeProject(t.app, join(t.home, 'in'), { name: 'hero' }, [
    ...Array.from({ length: 3 }, (_, i) => ({ name: `full-${i}.png`, seed: 40 + i, caption: `zxq, full-body, standing, pose ${i}`, width: 800, height: 1400 })),
    { name: 'close.png', seed: 50, tags: ['close-up'], width: 1024, height: 1024 },
  ]);
  loraId = p.lora_id;
  const { server } = createMcpServer(t.app);
  const [a, b] = InMemoryTransport.createLinkedPair();
  client = new Client({ name: 'dataset-contract-test', version: '1.0.0' });
  await Promise.all([server.connect(a), client.connect(b)]);
});
afterAll(async () => {
  await client.close();
  await t.dispose();
});

describe('MCP contract: caption and dataset tools', () => {
  it('lists the five tools with described input fields, output schemas and annotations', async () => {
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((x) => [x.name, x]));
    for (const name of ['caption_write', 'caption_lint', 'dataset_analyze', 'dataset_rebalance', 'dataset_report']) {
      const tool = byName.get(name);
      expect(tool, name).toBeDefined();
      expect(tool?.outputSchema, name).toBeDefined();
      for (const [field, schema] of Object.entries((tool?.inputSchema.properties ?? {}) as Record<string, { description?: string }>)) {
        expect(schema.description, `${name}.${field}`).toBeTruthy();
      }
    }
    expect(byName.get('dataset_analyze')?.annotations?.readOnlyHint).toBe(true);
    expect(byName.get('caption_lint')?.annotations?.readOnlyHint).toBe(true);
    expect(byName.get('dataset_rebalance')?.inputSchema.required).toEqual(expect.arrayContaining(['lora_id', 'strategy']));
  });

  it('caption_write, caption_lint and dataset_analyze answer with structuredContent and a next step', async () => {
    const w = await client.callTool({ name: 'caption_write', arguments: { lora_id: loraId } });
    expect(w.isError).toBeFalsy();
    expect(w.structuredContent).toMatchObject({ captioner: 'local', captioned: 1, skipped: 3 });
    const l = await client.callTool({ name: 'caption_lint', arguments: { lora_id: loraId } });
    expect(l.isError).toBeFalsy();
    expect(l.structuredContent).toMatchObject({ captions: 4 });
    const a = await client.callTool({ name: 'dataset_analyze', arguments: { lora_id: 'hero' } });
    expect(a.isError).toBeFalsy();
    const data = a.structuredContent as { images: number; categories: Record<string, { count: number }>; volume_level: string };
    expect(data.images).toBe(4);
    expect(data.categories['full-body']?.count).toBe(3);
    expect(data.volume_level).toBe('too_few');
    const text = (a.content as Array<{ type: string; text?: string }>).map((c) => c.text ?? '').join(' ');
    expect(text).toMatch(/dataset_rebalance/);
  });

  it('dataset_rebalance and dataset_report results pass the clients\' output schema check', async () => {
    const r = await client.callTool({ name: 'dataset_rebalance', arguments: { lora_id: loraId, strategy: 'augment', targets: { 'medium shot': [20, 40], 'full-body': [20, 40] } } });
    expect(r.isError).toBeFalsy();
    expect((r.structuredContent as { derivations: unknown[] }).derivations.length).toBeGreaterThan(0);
    const rep = await client.callTool({ name: 'dataset_report', arguments: { lora_id: loraId, out: join(t.home, 'report') } });
    expect(rep.isError).toBeFalsy();
    expect(rep.structuredContent).toMatchObject({ html_path: join(t.home, 'report', 'report.html'), thumbnails: 4 });
    const bad = await client.callTool({ name: 'dataset_analyze', arguments: { lora_id: loraId, targets: { 'close-up': [40, 20] } } });
    expect(bad.isError).toBe(true);
  });

  it('reports an unknown project as an isError result with the code and a hint', async () => {
    const r = await client.callTool({ name: 'dataset_rebalance', arguments: { lora_id: 'nope', strategy: 'repeats' } });
    expect(r.isError).toBe(true);
    const text = (r.content as Array<{ type: string; text?: string }>).map((c) => c.text ?? '').join(' ');
    expect(text).toMatch(/lora_list/);
  });
});
