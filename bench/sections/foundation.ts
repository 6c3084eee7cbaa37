import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { loadCoinCatalogue } from '../../src/cover/coins/catalogue.js';
import { createCoinDetector } from '../../src/cover/coins/detect.js';
import { createCoverRenderer } from '../../src/cover/render/renderer.js';
import { median, percentile, timeIt, type BenchSection } from '../lib.js';

const repoRoot = resolve(import.meta.dirname, '..', '..', '..');

export const foundationBench: BenchSection = async (report) => {
  // Render: median and p95 at 1200x630, against encoding a flat PNG of the same size in the same run.
  const renderer = createCoverRenderer();
  const titles = ['Solana ETF inflows hit $1B', 'Bitcoin slides below $60K as miners sell', 'Ethereum Pectra upgrade goes live on mainnet', 'XRP jumps after court ruling'];
  const coins = [{ symbol: 'SOL', name: 'Solana' }, { symbol: 'BTC', name: 'Bitcoin' }, { symbol: 'ETH', name: 'Ethereum' }, { symbol: 'XRP', name: 'XRP' }];
  for (let i = 0; i < 5; i++) await renderer.render({ title: titles[0]!, width: 1200, height: 630, seed: i, coin: coins[0]! });
  const renderTimes: number[] = [];
  for (let i = 0; i < 60; i++) {
    renderTimes.push(await timeIt(() => renderer.render({ title: titles[i % 4]!, width: 1200, height: 630, seed: 1000 + i, coin: coins[i % 4]! })));
  }
  const floorTimes: number[] = [];
  for (let i = 0; i < 60; i++) {
    floorTimes.push(
      await timeIt(() => sharp({ create: { width: 1200, height: 630, channels: 3, background: { r: i, g: 40, b: 90 } } }).png().toBuffer()),
    );
  }
  const rm = median(renderTimes);
  const fm = median(floorTimes);
  report.add({ section: 'render', name: 'render 1200x630 median', value: rm, unit: 'ms', target: '<= 80 ms' });
  report.add({ section: 'render', name: 'render 1200x630 p95', value: percentile(renderTimes, 95), unit: 'ms' });
  report.add({ section: 'render', name: 'floor: encode flat 1200x630 PNG median', value: fm, unit: 'ms' });
  report.add({ section: 'render', name: 'render median / floor', value: rm / fm, unit: 'x' });

  // Routing throughput over the dev headlines, repeated.
  const detector = createCoinDetector(loadCoinCatalogue());
  const lines = readFileSync(join(repoRoot, '..', 'shared', 'eval', 'crypto_headlines.dev.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { title: string }).title);
  for (const l of lines) detector.detect(l);
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) {
    const n = lines.length * 40;
    const ms = await timeIt(() => {
      for (let i = 0; i < n; i++) detector.detect(lines[i % lines.length]!);
    });
    rounds.push(n / (ms / 1000));
  }
  report.add({ section: 'route', name: 'cover_route detection, headlines per second (median)', value: median(rounds), unit: '/s', target: '>= 20,000/s' });

  // MCP stdio round trip for cover_route through the built program.
  const home = mkdtempSync(join(tmpdir(), 'loraloop-bench-'));
  const bin = join(repoRoot, 'dist', 'src', 'main.js');
  const env = { ...(process.env as Record<string, string>), LORALOOP_HOME: join(home, 'data'), LORALOOP_ALLOWED_ROOTS: home, LORALOOP_LOG_LEVEL: 'error' };
  try {
    const client = new Client({ name: 'bench', version: '1' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [bin, 'mcp'], env, stderr: 'ignore' }));
    for (let i = 0; i < 20; i++) await client.callTool({ name: 'cover_route', arguments: { title: lines[i]! } });
    const rt: number[] = [];
    for (let i = 0; i < 200; i++) rt.push(await timeIt(() => client.callTool({ name: 'cover_route', arguments: { title: lines[i % lines.length]! } })));
    await client.close();
    report.add({ section: 'mcp', name: 'stdio round trip cover_route median', value: median(rt), unit: 'ms', target: '<= 5 ms' });
    report.add({ section: 'mcp', name: 'stdio round trip cover_route p95', value: percentile(rt, 95), unit: 'ms' });

    // Cold CLI: a fresh process makes a cover end to end.
    const cold: number[] = [];
    for (let i = 0; i < 5; i++) {
      cold.push(await timeIt(() => execFileSync(process.execPath, [bin, 'cover', `Solana ETF inflows hit $${i + 1}B`, '--json'], { env, cwd: home, stdio: 'pipe' })));
    }
    const nodeFloor: number[] = [];
    for (let i = 0; i < 5; i++) nodeFloor.push(await timeIt(() => execFileSync(process.execPath, ['-e', '0'], { stdio: 'pipe' })));
    report.add({ section: 'cli', name: 'cold `loraloop cover` wall time median', value: median(cold), unit: 'ms', target: '<= 1500 ms' });
    report.add({ section: 'cli', name: 'floor: bare `node -e 0` median', value: median(nodeFloor), unit: 'ms' });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
};
