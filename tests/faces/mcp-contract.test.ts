import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { makeTestApp } from '../support/app.js';
import { connectMcpClient } from '../support/mcp.js';

let t: ReturnType<typeof makeTestApp>;
let client: Client;

beforeAll(async () => {
  t = makeTestApp();
  client = await connectMcpClient(t.app, 'contract-test');
});
afterAll(async () => {
  await client.close();
  await t.dispose();
});

describe('MCP tool contract', () => {
  it('lists every registry tool with input and output schemas, descriptions and annotations', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((x) => x.name);
    expect(names).toEqual(expect.arrayContaining(['cover_route', 'cover_generate', 'logo_register']));
    expect(names).toHaveLength(t.app.tools.list().length);
    for (const tool of tools) {
      expect(tool.description, tool.name).toBeTruthy();
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.outputSchema?.type, tool.name).toBe('object');
      expect(tool.annotations, tool.name).toBeDefined();
      // Every field is described: the schema is the API documentation clients and models read.
      for (const [field, schema] of Object.entries(tool.inputSchema.properties ?? {})) {
        expect((schema as { description?: string }).description, `${tool.name}.${field}`).toBeTruthy();
      }
      for (const [field, schema] of Object.entries(tool.outputSchema?.properties ?? {})) {
        expect((schema as { description?: string }).description, `${tool.name} output ${field}`).toBeTruthy();
      }
    }
  });

  it('cover_route returns structured coins and reasoning text', async () => {
    const r = await client.callTool({ name: 'cover_route', arguments: { title: 'Solana ETF inflows hit $1B as Bitcoin stalls' } });
    expect(r.isError).toBeFalsy();
    const data = r.structuredContent as { coins: Array<{ symbol: string; primary: boolean }>; lora: unknown };
    expect(data.coins[0]).toMatchObject({ symbol: 'SOL', primary: true });
    expect(data.coins.map((c) => c.symbol)).toContain('BTC');
    expect(data.lora).toBeNull();
    const text = (r.content as Array<{ type: string; text?: string }>)[0]!;
    expect(text.type).toBe('text');
    expect(text.text).toContain('Solana');
  });

  it('cover_generate returns the cover as image content plus its path, and structured data that validates', async () => {
    const r = await client.callTool({ name: 'cover_generate', arguments: { title: 'Solana ETF inflows hit $1B', seed: 7 } });
    expect(r.isError).toBeFalsy();
    const content = r.content as Array<{ type: string; data?: string; mimeType?: string; text?: string }>;
    const img = content.find((c) => c.type === 'image');
    // A small preview (never the full PNG): at most 512 px and about 100 KB, so it cannot flood a model's context.
    expect(img?.mimeType).toBe('image/webp');
    const preview = Buffer.from(img!.data!, 'base64');
    const meta = await sharp(preview).metadata();
    expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(512);
    expect(preview.length).toBeLessThanOrEqual(100 * 1024);
    // The full-size file is a resource link the client can read.
    const link = (r.content as Array<{ type: string; uri?: string; mimeType?: string }>).find((c) => c.type === 'resource_link');
    expect(link?.uri).toMatch(/^loraloop:\/\/artifacts\/[\w-]+\/[\w.%-]+\.png$/);
    expect(link?.mimeType).toBe('image/png');
    const read = await client.readResource({ uri: link!.uri! });
    const blob = (read.contents[0] as { blob?: string }).blob!;
    expect((await sharp(Buffer.from(blob, 'base64')).metadata()).width).toBe(1200);
    const data = r.structuredContent as { path: string; width: number; height: number; logo: { symbol: string; source: string } };
    expect(content.some((c) => c.type === 'text' && c.text?.includes(data.path))).toBe(true);
    expect(data).toMatchObject({ width: 1200, height: 630, logo: { symbol: 'SOL', source: 'icon-set' } });
  });

  it('bad input is an isError result that names the field, not a protocol error', async () => {
    const r = await client.callTool({ name: 'cover_generate', arguments: { title: 'x', size: '640x480' } });
    expect(r.isError).toBe(true);
    const text = (r.content as Array<{ text: string }>)[0]!.text;
    expect(text).toContain('size');
    const empty = await client.callTool({ name: 'cover_generate', arguments: { title: '   ' } });
    expect(empty.isError).toBe(true);
    expect((empty.content as Array<{ text: string }>)[0]!.text).toMatch(/empty/i);
  });

  it('sends progress notifications when the caller asks for them', async () => {
    const seen: number[] = [];
    await client.callTool({ name: 'cover_generate', arguments: { title: 'Ethereum gas fees fall' } }, {
      onprogress: (p) => seen.push(p.progress),
    });
    expect(seen.length).toBeGreaterThan(0);
  });
});
