/**
 * The whole nightly run against the Replicate emulator: gather (a feed served on 127.0.0.1, uploads,
 * ratings), retrain, evaluate with the real critic, promote or keep; lease contention; dry run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { trainedSetKey } from '../../../src/agent/improve/curate.js';
import { createToolEvaluator } from '../../../src/agent/improve/evaluate.js';
import { startReplicateEmulator, type ReplicateEmulator } from '../../emulators/replicate.js';
import { call, callOk, dumpDb, improveApp, trainedProject, upload, type Degrade, type RunData } from './helpers.js';
import { dataOf, errorOf } from '../../support/result.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../shared/fixtures/images');

let emu: ReplicateEmulator;
let server: Server;
let feedUrl = '';
const disposers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  emu = await startReplicateEmulator();
  server = createServer((req, res) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.url === '/feed.xml') {
      res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(`<?xml version="1.0"?><rss version="2.0"><channel><title>Desk</title>
        <item><title>Solana DEX volume doubles in a week</title><link>${base}/a/1</link><enclosure url="${base}/img/Landscape_4.jpg" type="image/jpeg" length="1"/></item>
        <item><title>Solana validators approve a fee change</title><link>${base}/a/2</link><enclosure url="${base}/img/Landscape_5.jpg" type="image/jpeg" length="1"/></item>
      </channel></rss>`);
      return;
    }
    const m = /^\/img\/([A-Za-z0-9_]+\.jpg)$/.exec(req.url ?? '');
    if (m?.[1]) {
      res.writeHead(200, { 'content-type': 'image/jpeg' }).end(readFileSync(path.join(FIXTURES, m[1])));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  feedUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/feed.xml`;
});
afterAll(async () => {
  await emu.close();
  await new Promise<void>((r) => server.close(() => r()));
});
afterEach(async () => {
  while (disposers.length) await disposers.pop()?.();
});

async function rateCovers(app: Parameters<typeof callOk>[0]): Promise<{ good: string; bad: string }> {
  const good = await callOk<{ cover_id: string; lora: { name: string } | null }>(app, 'cover_generate', { title: 'Solana ETF inflows hit $1B', seed: 11 });
  expect(good.lora?.name).toBe('sol-covers');
  const bad = await callOk<{ cover_id: string }>(app, 'cover_generate', { title: 'Solana price slides as memecoins cool', seed: 12 });
  await callOk(app, 'cover_rate', { cover_id: good.cover_id, stars: 5, comment: 'publish as is' });
  await callOk(app, 'cover_rate', { cover_id: bad.cover_id, stars: 1, comment: 'muddy' });
  return { good: good.cover_id, bad: bad.cover_id };
}

describe('improve_run (nightly) against the Replicate emulator', () => {
  it('gathers, retrains, evaluates and promotes a better candidate; keeps v1 for rollback; the next run has nothing to do', async () => {
    const degrade: Degrade = { versions: new Set([1]) }; // v1's covers come out blurred: the candidate should win
    const t = improveApp(emu, degrade, { LORALOOP_ALLOW_PRIVATE_URLS: '1', LORALOOP_FEEDS: feedUrl });
    disposers.push(t.dispose);
    const app = t.app;
    const loraId = await trainedProject(app);
    const before = emu.state.trainings.length;
    await upload(app, loraId, 2);
    const covers = await rateCovers(app);

    const r = await call<RunData>(app, 'improve_run', {});
    expect(r.success, r.reasoning).toBe(true);
    const run = dataOf(r);
    expect(run.feeds).toEqual([{ source: feedUrl, added: 2, would_add: 0, error: null }]);
    expect(run.new_ratings).toBe(2);
    const sol = run.loras.find((l) => l.lora_id === loraId);
    expect(sol?.positives_added).toBe(1);
    // 2 uploads + 2 feed images + 1 well-rated cover = 5 changes: the threshold max(5, 10% of 3).
    expect(sol?.change).toMatchObject({ changed: 5, threshold: 5 });
    expect(sol).toMatchObject({ outcome: 'promoted', current_version: 1, candidate_version: 2 });
    expect(sol?.verdict?.candidate).toBeGreaterThan(sol?.verdict?.current ?? 1);
    expect(sol?.samples).toHaveLength(6);
    expect(emu.state.trainings.length - before).toBe(1);
    // The training got the new set: 3 + 2 + 2 + 1 images.
    expect(emu.state.trainings.at(-1)?.sim.imageCount).toBe(8);
    // Promoted, with v1 kept for rollback.
    const lora = await app.services.store.loras.get(loraId);
    expect(lora?.active_version).toBe(2);
    expect((await app.services.store.loras.listVersions(loraId)).map((v) => [v.version, v.status])).toEqual([
      [1, 'ready'],
      [2, 'ready'],
    ]);
    // The well-rated cover is a training image now; the badly rated one is not.
    const sources = (await app.services.store.loras.listImages(loraId)).map((i) => i.source);
    expect(sources).toContain((await app.services.store.covers.get(covers.good))?.blob_path);
    expect(sources).not.toContain((await app.services.store.covers.get(covers.bad))?.blob_path);
    expect(await app.services.store.kv.get<string[]>(trainedSetKey(loraId))).toHaveLength(8);
    // The report shows both versions side by side with the scores and the decision.
    expect(run.report_path && existsSync(run.report_path)).toBe(true);
    const html = readFileSync(run.report_path ?? '', 'utf8');
    expect(html).toContain('current v1');
    expect(html).toContain('candidate v2');
    expect(html.match(/<img /g)?.length).toBe(6);
    expect(html).toContain('promoted');
    for (const src of [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1] ?? '')) expect(existsSync(path.resolve(path.dirname(run.report_path ?? ''), src))).toBe(true);
    expect(r.reasoning).toMatch(/sol-covers: v2 promoted over v1/);

    // improve_status shows it.
    const st = await callOk<{ runs: Array<{ run_id: string; status: string; loras: Array<{ name: string; outcome: string }> }>; lease: unknown }>(app, 'improve_status', {});
    expect(st.runs[0]).toMatchObject({ run_id: run.run_id, status: 'succeeded', loras: [{ name: 'sol-covers', outcome: 'promoted' }] });
    expect(st.lease).toBeNull();

    // Nothing new: the next run retrains nothing and collects nothing twice.
    const again = await callOk<RunData>(app, 'improve_run', {});
    expect(again.feeds[0]?.added).toBe(0);
    expect(again.loras.find((l) => l.lora_id === loraId)).toMatchObject({ outcome: 'unchanged', change: { changed: 0 } });
    expect(emu.state.trainings.length - before).toBe(1);
  }, 120_000);

  it('does not promote a candidate that scores worse: v1 stays active, v2 is rejected', async () => {
    const degrade: Degrade = { versions: new Set([2]) }; // the candidate's covers come out blurred
    const t = improveApp(emu, degrade);
    disposers.push(t.dispose);
    const app = t.app;
    const loraId = await trainedProject(app);
    await upload(app, loraId, 5);
    const run = await callOk<RunData>(app, 'improve_run', { loras: ['sol-covers'] });
    const sol = run.loras[0];
    expect(sol).toMatchObject({ outcome: 'kept', current_version: 1, candidate_version: 2 });
    expect(sol?.verdict?.promote).toBe(false);
    expect(sol?.verdict?.delta).toBeLessThan(0);
    // The candidate's blurred covers failed the critic's sharpness check.
    expect(sol?.samples.filter((s) => s.role === 'candidate').every((s) => s.score < 1)).toBe(true);
    expect((await app.services.store.loras.get(loraId))?.active_version).toBe(1);
    expect((await app.services.store.loras.getVersion(loraId, 2))?.status).toBe('rejected');
    // "Activate the latest ready version" does not pick the rejected candidate.
    const act = await callOk<{ active_version: number }>(app, 'lora_activate', { lora_id: loraId });
    expect(act.active_version).toBe(1);
  }, 120_000);

  it('with the production evaluator and the local renderer (which cannot draw with a LoRA), nothing is promoted and the candidate waits', async () => {
    // Replicate is configured here (for training), which would make the default evaluator draw on Replicate;
    // this test is about the local renderer, which ignores LoRAs.
    const t = improveApp(emu, { versions: new Set() }, {}, { evaluator: createToolEvaluator({ backend: 'local' }) });
    disposers.push(t.dispose);
    const app = t.app;
    const loraId = await trainedProject(app);
    await upload(app, loraId, 5);
    const run = await callOk<RunData>(app, 'improve_run', {});
    const sol = run.loras[0];
    expect(sol).toMatchObject({ outcome: 'kept', candidate_version: 2 });
    expect(sol?.verdict).toMatchObject({ promote: false, evaluated: false });
    expect(sol?.reason).toMatch(/did not use the candidate version for 3 of 3 covers/);
    // Real covers, judged by the real critic (by cover id).
    expect(sol?.samples.every((x) => x.score > 0 && x.path !== null)).toBe(true);
    expect((await app.services.store.loras.get(loraId))?.active_version).toBe(1);
    expect((await app.services.store.loras.getVersion(loraId, 2))?.status).toBe('candidate');
  }, 120_000);

  it('with the production evaluator on Replicate, the candidate is drawn with its own version before any promotion', async () => {
    const t = improveApp(emu, { versions: new Set() }, {}, { evaluator: createToolEvaluator() });
    disposers.push(t.dispose);
    const app = t.app;
    const loraId = await trainedProject(app);
    await upload(app, loraId, 5);
    const before = emu.state.predictions.length;
    const run = await callOk<RunData>(app, 'improve_run', {});
    const sol = run.loras[0];
    expect(sol?.candidate_version).toBe(2);
    expect(sol?.verdict?.evaluated).toBe(true);
    expect(sol?.samples.filter((x) => x.role === 'candidate').every((x) => x.applied)).toBe(true);
    // Every sample was a real prediction on the emulator, the candidate's with version 2's weights.
    const v2 = (await app.services.store.loras.getVersion(loraId, 2))!;
    const made = emu.state.predictions.slice(before);
    expect(made.length).toBe(sol!.samples.length);
    const v2hash = (v2.remote_version ?? '').split(':').pop();
    expect(v2hash).toBeTruthy();
    expect(made.filter((p) => (p as unknown as { version?: string }).version === v2hash)).toHaveLength(sol!.samples.filter((x) => x.role === 'candidate').length);
  }, 120_000);

  it('two runs at once: one retrains, the other is refused by the lease', async () => {
    const t = improveApp(emu, { versions: new Set([1]) });
    disposers.push(t.dispose);
    const app = t.app;
    const loraId = await trainedProject(app);
    await upload(app, loraId, 5);
    const before = emu.state.trainings.length;
    const [a, b] = await Promise.all([call<RunData>(app, 'improve_run', {}), call<RunData>(app, 'improve_run', {})]);
    const ok = [a, b].filter((r) => r.success);
    const refused = [a, b].filter((r) => !r.success);
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(errorOf(refused[0]!).code).toBe('LEASE_HELD');
    expect(refused[0]?.reasoning).toMatch(/Another nightly run is in progress/);
    expect(emu.state.trainings.length - before).toBe(1);
    expect((ok[0]?.data as RunData).loras[0]?.outcome).toBe('promoted');
  }, 120_000);

  it('dry run says what it would do and changes nothing', async () => {
    const t = improveApp(emu, { versions: new Set() }, { LORALOOP_ALLOW_PRIVATE_URLS: '1', LORALOOP_FEEDS: feedUrl });
    disposers.push(t.dispose);
    const app = t.app;
    const loraId = await trainedProject(app);
    await upload(app, loraId, 2);
    await rateCovers(app);
    const before = emu.state.trainings.length;
    const snapshot = dumpDb(app);
    const r = await call<RunData>(app, 'improve_run', { dry_run: true });
    expect(r.success, r.reasoning).toBe(true);
    expect(dataOf(r)).toMatchObject({ dry_run: true, run_id: null, report_path: null });
    expect(dataOf(r).feeds[0]).toMatchObject({ added: 0, would_add: 2 });
    // 2 uploads + 1 well-rated cover + 2 feed images it would collect.
    expect(dataOf(r).loras[0]).toMatchObject({ outcome: 'planned', positives_added: 1, change: { changed: 5, threshold: 5 } });
    expect(dataOf(r).loras[0]?.reason).toMatch(/would retrain on replicate/);
    expect(r.reasoning).toMatch(/^Dry run \(nothing changed\)/);
    expect(dumpDb(app)).toEqual(snapshot);
    expect(emu.state.trainings.length).toBe(before);
  }, 120_000);
});
