import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bestLogoMatch } from '../support/logo-match.js';

const bin = resolve('dist/src/main.js');
let home = '';
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'loraloop-e2e-mcp-'));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

const baseEnv = (): Record<string, string> => ({ ...(process.env as Record<string, string>), LORALOOP_HOME: join(home, "data"), LORALOOP_ALLOWED_ROOTS: home });

async function checkCover(client: Client) {
  const r = await client.callTool({ name: 'cover_generate', arguments: { title: 'Solana ETF inflows hit $1B', seed: 3 } });
  expect(r.isError).toBeFalsy();
  const data = r.structuredContent as { path: string; logo: { symbol: string; box: { x: number; y: number; width: number; height: number } } };
  const png = readFileSync(data.path);
  expect((await sharp(png).metadata()).width).toBe(1200);
  const m = await bestLogoMatch(png, data.logo.box, ['SOL', 'BTC', 'ETH', 'XRP', 'DOGE']);
  expect(m.symbol).toBe('SOL');
  expect((r.content as Array<{ type: string }>).some((c) => c.type === 'image')).toBe(true);
}

describe('MCP over stdio (spawned program)', () => {
  it('lists tools and makes a cover; stdout carries only protocol messages', async () => {
    const transport = new StdioClientTransport({ command: process.execPath, args: [bin, 'mcp'], env: baseEnv(), stderr: 'pipe' });
    const client = new Client({ name: 'e2e', version: '1' });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('cover_generate');
      await checkCover(client);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('serves a 2026-07-28 client (server/discover) on the same command, with resources', async () => {
    const transport = new StdioClientTransport({ command: process.execPath, args: [bin, 'mcp'], env: baseEnv(), stderr: 'pipe' });
    const client = new Client({ name: 'e2e-modern', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await client.connect(transport);
    try {
      expect(client.getProtocolEra()).toBe('modern');
      await checkCover(client);
      const { resources } = await client.listResources();
      expect(resources.some((r) => r.mimeType === 'image/png' && r.uri.startsWith('loraloop://artifacts/'))).toBe(true);
      // The built program serves the cover studio view (ext-apps inlined from its installed package).
      const view = (await client.readResource({ uri: 'ui://loraloop/cover-studio.html' })).contents[0] as { mimeType: string; text: string };
      expect(view.mimeType).toBe('text/html;profile=mcp-app');
      expect(view.text).toContain('const __extApps={');
    } finally {
      await client.close();
    }
  }, 60_000);
});

function startHttp(args: string[], env: Record<string, string>): Promise<{ proc: ChildProcess; url: string; stderr: () => string }> {
  return new Promise((resolveStart, reject) => {
    const proc = spawn(process.execPath, [bin, 'mcp', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolveStart({ proc, url: m[1]!, stderr: () => err });
    });
    proc.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

describe('MCP over Streamable HTTP (spawned program)', () => {
  it('requires the bearer token: 401 without it, works with it, refuses foreign Origins', async () => {
    const token = 'test-token-abcdef123456';
    const { proc, url } = await startHttp(['--http', '0'], { ...baseEnv(), LORALOOP_HTTP_TOKEN: token });
    try {
      const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
      const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
      const no = await fetch(url, { method: 'POST', headers, body: JSON.stringify(init) });
      expect(no.status).toBe(401);
      const wrong = await fetch(url, { method: 'POST', headers: { ...headers, authorization: 'Bearer nope' }, body: JSON.stringify(init) });
      expect(wrong.status).toBe(401);
      const evil = await fetch(url, { method: 'POST', headers: { ...headers, authorization: `Bearer ${token}`, origin: 'https://evil.example' }, body: JSON.stringify(init) });
      expect(evil.status).toBe(403);

      const client = new Client({ name: 'e2e-http', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
      try {
        await checkCover(client);
      } finally {
        await client.close();
      }
    } finally {
      proc.kill('SIGTERM');
    }
  }, 60_000);

  it('refuses to start without a token unless bound to loopback with --insecure-local', async () => {
    const env = baseEnv();
    delete env.LORALOOP_HTTP_TOKEN;
    const refused = await new Promise<{ code: number | null; err: string }>((res) => {
      const p = spawn(process.execPath, [bin, 'mcp', '--http', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('exit', (code) => res({ code, err }));
    });
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain('LORALOOP_HTTP_TOKEN');
    const wide = await new Promise<{ code: number | null; err: string }>((res) => {
      const p = spawn(process.execPath, [bin, 'mcp', '--http', '0', '--host', '0.0.0.0', '--insecure-local'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('exit', (code) => res({ code, err }));
    });
    expect(wide.code).not.toBe(0);
    const { proc, url } = await startHttp(['--http', '0', '--insecure-local'], env);
    try {
      const client = new Client({ name: 'e2e-local', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      const r = await client.callTool({ name: 'cover_route', arguments: { title: 'Dogecoin rallies' } });
      expect((r.structuredContent as { coins: Array<{ symbol: string }> }).coins[0]!.symbol).toBe('DOGE');
      await client.close();
    } finally {
      proc.kill('SIGTERM');
    }
  }, 60_000);
});
