import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp } from '../support/app.js';
import { connectMcpClient } from '../support/mcp.js';

const FIXTURES = new URL('../../../shared/fixtures/images/', import.meta.url).pathname;

let t: ReturnType<typeof makeTestApp>;
let client: Client;
let dir: string;

beforeAll(async () => {
  t = makeTestApp();
  dir = mkdtempSync(join(tmpdir(), 'loraloop-mcp-lora-'));
  for (const f of ['Landscape_1.jpg', 'flowers.jpeg', 'truncated.jpg']) cpSync(join(FIXTURES, f), join(dir, f));
  client = await connectMcpClient(t.app, 'lora-contract-test');
});
afterAll(async () => {
  await client.close();
  await t.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('MCP contract: lora_create, lora_upload_images, lora_list', () => {
  let loraId: string;

  it('lists the LoRA tools with schemas and annotations', async () => {
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((x) => [x.name, x]));
    for (const name of ['lora_create', 'lora_upload_images', 'lora_list', 'lora_activate', 'lora_delete', 'lora_inspect', 'lora_import', 'dataset_export']) {
      expect(byName.has(name), name).toBe(true);
    }
    expect(byName.get('lora_create')?.inputSchema.required).toEqual(expect.arrayContaining(['name', 'base_model', 'asset_type', 'trigger_word']));
    expect(byName.get('lora_delete')?.annotations?.destructiveHint).toBe(true);
    expect(byName.get('lora_list')?.annotations?.readOnlyHint).toBe(true);
  });

  it('lora_create returns the lora_id in structuredContent and the next step in text', async () => {
    const r = await client.callTool({
      name: 'lora_create',
      arguments: { name: 'eth-coin', base_model: 'flux', asset_type: 'coin', trigger_word: 'ohwx eth', coins: ['ETH'] },
    });
    expect(r.isError).toBeFalsy();
    const sc = r.structuredContent as { lora_id: string; status: string; coins: string[] };
    expect(sc.lora_id).toMatch(/^lora_/);
    expect(sc).toMatchObject({ status: 'created', coins: ['ETH'] });
    expect((r.content as Array<{ text: string }>)[0]?.text).toMatch(/^Created new LoRA project\. Add 40-60 training images\./);
    loraId = sc.lora_id;
  });

  it('a duplicate name is an isError result naming the conflict', async () => {
    const r = await client.callTool({ name: 'lora_create', arguments: { name: 'eth-coin', base_model: 'flux', asset_type: 'coin', trigger_word: 'x' } });
    expect(r.isError).toBe(true);
    expect((r.content as Array<{ text: string }>)[0]?.text).toMatch(/already exists.*CONFLICT/);
  });

  it('lora_upload_images returns one result per image, sends progress, and the batch survives a broken file', async () => {
    const progress: number[] = [];
    const r = await client.callTool(
      {
        name: 'lora_upload_images',
        arguments: {
          lora_id: loraId,
          images: [
            { path: join(dir, 'Landscape_1.jpg'), caption: 'a mountain lake at dawn with the coin logo' },
            { path: join(dir, 'truncated.jpg') },
            { path: join(dir, 'flowers.jpeg'), tags: ['flowers'] },
          ],
        },
      },
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect(r.isError).toBeFalsy();
    const sc = r.structuredContent as { results: Array<{ ok: boolean; error_code?: string; caption_status?: string }>; added: number; failed: number };
    expect(sc.results.map((x) => x.ok)).toEqual([true, false, true]);
    expect(sc.results[1]?.error_code).toBe('UNSUPPORTED_IMAGE');
    expect(sc.results.map((x) => x.caption_status)).toEqual(['ok', undefined, 'pending']);
    expect(sc).toMatchObject({ added: 2, failed: 1 });
    expect(progress.at(-1)).toBe(3);
    expect((r.content as Array<{ text: string }>)[0]?.text).toMatch(/Added 2 of 3.*truncated\.jpg.*caption_write/);
  });

  it('lora_list shows the project with its image counts, filtered by coin', async () => {
    const r = await client.callTool({ name: 'lora_list', arguments: { coin: 'eth' } });
    const sc = r.structuredContent as { count: number; loras: Array<{ name: string; status: string; images: unknown; versions: unknown[]; active_version: unknown }> };
    expect(sc.count).toBe(1);
    expect(sc.loras[0]).toMatchObject({ name: 'eth-coin', status: 'uploading', images: { total: 2, captioned: 1, pending: 1 }, versions: [], active_version: null });
    const none = await client.callTool({ name: 'lora_list', arguments: { coin: 'BTC' } });
    expect((none.structuredContent as { count: number }).count).toBe(0);
  });
});
