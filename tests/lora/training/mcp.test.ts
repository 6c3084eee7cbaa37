import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp } from '../../support/app.js';
import { connectMcpClient } from '../../support/mcp.js';
import { KOHYA_STANDIN_CMD, seedProject } from './helpers.js';

let t: ReturnType<typeof makeTestApp>;
let client: Client;

beforeAll(async () => {
  t = makeTestApp(
    { LORALOOP_KOHYA_CMD: `env KOHYA_STANDIN_STEP_MS=60 ${KOHYA_STANDIN_CMD}`, LORALOOP_KOHYA_BASE_MODEL: '/models/sd15.safetensors' },
    { trainingOptions: { pollIntervalMs: 50, leaseTtlMs: 3000, scanIntervalMs: 500 } },
  );
  client = await connectMcpClient(t.app, 'training-test');
});
afterAll(async () => {
  await client.close();
  await t.dispose();
});

describe('training over MCP', () => {
  it('lora_train answers at once with a job id; a waiting lora_status sends progress notifications', async () => {
    const loraId = await seedProject(t.app, { name: 'mcp-sd15', base_model: 'sd15', images: 2 });
    const train = await client.callTool({ name: 'lora_train', arguments: { lora_id: loraId, backend: 'kohya', params: { epochs: 4 } } });
    expect(train.isError).toBeFalsy();
    const jobId = (train.structuredContent as { job_id: string }).job_id;
    expect(jobId).toMatch(/^job_/);
    const notes: Array<{ progress: number; total?: number; message?: string }> = [];
    const status = await client.callTool(
      { name: 'lora_status', arguments: { job_id: jobId, wait_seconds: 60 } },
      { onprogress: (p) => notes.push(p), timeout: 90_000 },
    );
    expect(status.structuredContent).toMatchObject({ status: 'ready', progress: 1, version: 1, done: true });
    expect(notes.length).toBeGreaterThan(2);
    const values = notes.map((n) => n.progress);
    expect(values).toEqual([...values].sort((a, b) => a - b)); // progress only goes up
    expect(notes.some((n) => /% done step \d+\/8/.test(n.message ?? ''))).toBe(true);
  });

  it('a refused training is an isError result that says what to fix', async () => {
    const loraId = await seedProject(t.app, { name: 'mcp-bad', base_model: 'sd15', images: 1 });
    const r = await client.callTool({ name: 'lora_train', arguments: { lora_id: loraId, backend: 'kohya', params: { network_dim: 5000 } } });
    expect(r.isError).toBe(true);
    expect(JSON.stringify(r.content)).toMatch(/network_dim must be between 1 and 1024/);
  });
});
