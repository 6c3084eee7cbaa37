/** lora_status answers for every LoRA: a project never trained is `created`, with its image count. */
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp } from '../support/app.js';
import { connectMcpClient } from '../support/mcp.js';
import { seedProject } from './training/helpers.js';

let t: ReturnType<typeof makeTestApp>;
let client: Client;
beforeAll(async () => {
  t = makeTestApp();
  client = await connectMcpClient(t.app, 'status-created');
});
afterAll(async () => {
  await client.close();
  await t.dispose();
});

describe('lora_status on a project never trained', () => {
  it('answers status "created" with the image count and the next step, not an error (over MCP, schema-checked)', async () => {
    const loraId = await seedProject(t.app, { name: 'fresh', base_model: 'flux', images: 3 });
    const r = await client.callTool({ name: 'lora_status', arguments: { lora_id: 'fresh' } });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ lora_id: loraId, status: 'created', images: 3, job_id: null, jobs: [], done: true, progress: 0 });
    const text = (r.content as Array<{ type: string; text?: string }>).find((c) => c.type === 'text')?.text ?? '';
    expect(text).toMatch(/fresh is created and has not been trained yet: 3 training images/);
    expect(text).toMatch(/lora_train/);
  });

  it('says to add images when the new project is empty, and still refuses a project that does not exist', async () => {
    await t.app.tools.execute('lora_create', { name: 'empty', base_model: 'sdxl', asset_type: 'character', trigger_word: 'zqx person' }, t.app.context());
    const r = await t.app.tools.execute('lora_status', { lora_id: 'empty' }, t.app.context());
    expect(r).toMatchObject({ success: true, data: { status: 'created', images: 0 } });
    expect(r.reasoning).toMatch(/lora_upload_images/);
    const missing = await t.app.tools.execute('lora_status', { lora_id: 'nope' }, t.app.context());
    expect(missing).toMatchObject({ success: false, error: { code: 'NOT_FOUND' } });
  });
});
