/**
 * Every input loraloop sends to Replicate, held to the input schemas the models publish in their public source
 * (tests/fixtures/replicate/published-input-schemas.json: replicate/flux-fine-tuner train.py and predict.py,
 * replicate/cog-flux predict.py DevLoraPredictor), and the live-schema check that warns, never fails, when a
 * version's openapi_schema differs. Driven through the official `replicate` client against the emulator.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { createLogger, type Logger } from '../../src/core/logger.js';
import { createReplicateBackend } from '../../src/cover/backends/replicate.js';
import { createReplicateClient } from '../../src/clients/replicate.js';
import { inputProblems, readInputSchema, type InputSchema } from '../../src/clients/replicate-schema.js';
import { getPreset, PRESET_NAMES } from '../../src/lora/training/presets.js';
import { replicateParamsSchema } from '../../src/lora/training/params.js';
import { startReplicateEmulator, type ReplicateEmulator } from '../emulators/replicate.js';
import { makeTestApp } from '../support/app.js';
import { callOk, seedProject } from '../lora/training/helpers.js';
import { dataOf } from '../support/result.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const published = JSON.parse(readFileSync(path.resolve(here, '../fixtures/replicate/published-input-schemas.json'), 'utf8')) as {
  models: Record<string, { source: { repository: string; commit: string; path: string }; input_schema: 'Input' | 'TrainingInput'; openapi_schema: unknown }>;
};
const schemaOf = (model: string): InputSchema => {
  const m = published.models[model];
  const s = m && readInputSchema(m.openapi_schema, m.input_schema);
  if (!s) throw new Error(`no published schema for ${model}`);
  return s;
};

const VERSION = 'b'.repeat(64);
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A logger that keeps its warnings (and says nothing). */
function recordingLogger(): { logger: Logger; warnings: Array<{ msg: string; fields: Record<string, unknown> }> } {
  const warnings: Array<{ msg: string; fields: Record<string, unknown> }> = [];
  const write = (line: string) => {
    const rec = JSON.parse(line) as { level: string; msg: string } & Record<string, unknown>;
    if (rec.level === 'warn') warnings.push({ msg: rec.msg, fields: rec });
  };
  return { logger: createLogger({ level: 'warn', write }), warnings };
}

async function generation(logger?: Logger) {
  const emu = await startReplicateEmulator({
    models: [
      { owner: 'loraloop', name: 'solana-lora', versions: [VERSION], openapiSchema: published.models['trained-version']?.openapi_schema },
      { owner: 'black-forest-labs', name: 'flux-dev-lora', official: true },
    ],
  });
  cleanups.push(() => emu.close());
  const client = createReplicateClient({ baseUrl: emu.url, apiKey: emu.token, retry: { sleep: async () => {} } });
  const backend = createReplicateBackend({
    client,
    pollIntervalMs: 5,
    waitSeconds: 1,
    ...(logger ? { logger } : {}),
    resolveLora: async (name) =>
      name === 'solana-lora'
        ? { version: `loraloop/solana-lora:${VERSION}`, weights_url: null }
        : name === 'flat-style'
          ? { version: null, weights_url: 'https://example.invalid/flat.safetensors' }
          : undefined,
  });
  return { emu, backend };
}

const cover = { prompt: 'SOLTOK, a coin', width: 1200, height: 630, seed: 42, steps: 28, cfg: 3.5 };
const lastInput = (emu: ReplicateEmulator) => emu.state.predictions.at(-1)?.input ?? {};

describe('the published schemas (public source) take every input loraloop sends', () => {
  it('names its sources', () => {
    for (const m of Object.values(published.models)) expect(m.source.commit).toMatch(/^[0-9a-f]{40}$/);
  });

  it('ostris/flux-dev-lora-trainer: every trainer param users may set, and every preset, is a TrainingInput of the right type', () => {
    const schema = schemaOf('ostris/flux-dev-lora-trainer');
    for (const key of Object.keys(replicateParamsSchema.shape)) expect(schema.inputs[key], key).toBeDefined();
    for (const name of PRESET_NAMES) {
      const input = { ...getPreset(name).replicate, input_images: 'https://api.replicate.com/v1/files/x', trigger_word: 'sks brand', autocaption: false };
      expect(inputProblems(input, schema), name).toEqual([]);
    }
  });

  it('black-forest-labs/flux-dev-lora: a weights-only LoRA run sends aspect_ratio/megapixels/guidance, not a custom size', async () => {
    const { emu, backend } = await generation();
    const out = await backend.generate({ ...cover, loras: [{ name: 'flat-style', strength: 0.6 }] });
    const input = lastInput(emu);
    expect(inputProblems(input, schemaOf('black-forest-labs/flux-dev-lora'))).toEqual([]);
    expect(input).toMatchObject({ aspect_ratio: '16:9', megapixels: '1', guidance: 3.5, lora_weights: 'https://example.invalid/flat.safetensors', lora_scale: 0.6 });
    expect(input).not.toHaveProperty('width');
    expect(out.warnings).toContain('The Replicate LoRA runner makes fixed sizes: asked for 1200x630, it makes 1344x768 (aspect_ratio 16:9, megapixels 1).');
    // What loraloop sent before this check existed: refused by the published schema (a custom aspect ratio does not exist there).
    expect(inputProblems({ prompt: 'x', aspect_ratio: 'custom', width: 1200, height: 640, guidance_scale: 3.5 }, schemaOf('black-forest-labs/flux-dev-lora'))).toEqual([
      'input "aspect_ratio" = "custom" is not one of "1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"',
      expect.stringMatching(/^input "width" is not an input of this model/),
      expect.stringMatching(/^input "height" is not an input of this model/),
      expect.stringMatching(/^input "guidance_scale" is not an input of this model/),
    ]);
  });

  it('a trained version (flux-fine-tuner predict.py): custom size, guidance_scale, lora_scale and extra_lora', async () => {
    const { emu, backend } = await generation();
    await backend.generate({ ...cover, loras: [{ name: 'solana-lora', strength: 0.8 }, { name: 'flat-style', strength: 0.5 }] });
    const input = lastInput(emu);
    expect(inputProblems(input, schemaOf('trained-version'))).toEqual([]);
    expect(input).toMatchObject({ aspect_ratio: 'custom', width: 1200, height: 624, guidance_scale: 3.5, lora_scale: 0.8, extra_lora: 'https://example.invalid/flat.safetensors' });
  });
});

describe('the live openapi_schema of the version, fetched before a prediction', () => {
  it('is fetched once per model and stays quiet when our inputs fit', async () => {
    const { logger, warnings } = recordingLogger();
    const { emu, backend } = await generation(logger);
    await backend.generate({ ...cover, loras: [{ name: 'flat-style', strength: 0.6 }] });
    await backend.generate({ ...cover, seed: 43, loras: [{ name: 'flat-style', strength: 0.6 }] });
    expect(emu.state.requests.filter((r) => r.method === 'GET' && r.path === '/v1/models/black-forest-labs/flux-dev-lora')).toHaveLength(1);
    expect(warnings.map((w) => w.fields)).toEqual([]);
  });

  it('warns when an input is not in it, and still runs', async () => {
    const { logger, warnings } = recordingLogger();
    const { emu, backend } = await generation(logger);
    // The live version renamed lora_scale: what a new upload of the model could do.
    const model = emu.state.models.get('black-forest-labs/flux-dev-lora');
    const live = structuredClone(model?.openapiSchema) as { components: { schemas: { Input: { properties: Record<string, unknown> } } } };
    const props = live.components.schemas.Input.properties;
    props['lora_strength'] = props['lora_scale'];
    delete props['lora_scale'];
    if (model) model.openapiSchema = live;
    const out = await backend.generate({ ...cover, loras: [{ name: 'flat-style', strength: 0.6 }] });
    expect(out.images).toHaveLength(1);
    const problems = warnings.filter((w) => w.msg === 'Replicate input differs from the model schema').map((w) => w.fields['problem']);
    expect(problems).toEqual([expect.stringMatching(/^input "lora_scale" is not an input of this model \(it takes: .*lora_strength/)]);
    expect(warnings[0]?.fields['model']).toBe('black-forest-labs/flux-dev-lora');
  });

  it('warns about a wrong type before the model itself refuses it', async () => {
    const { logger, warnings } = recordingLogger();
    const { emu, backend } = await generation(logger);
    const model = emu.state.models.get('black-forest-labs/flux-dev-lora');
    const live = structuredClone(model?.openapiSchema) as { components: { schemas: { Input: { properties: Record<string, unknown> } } } };
    live.components.schemas.Input.properties['seed'] = { type: 'string' };
    if (model) model.openapiSchema = live;
    const err = await backend.generate({ ...cover, loras: [{ name: 'flat-style', strength: 0.6 }] }).then(() => undefined, (e: unknown) => e);
    expect(warnings.map((w) => w.fields['problem'])).toEqual(['input "seed" is integer 42, the model wants string']);
    // The check only warns: the request still went out, and the model's own validation answered.
    expect((err as { code?: string }).code).toBe('INVALID_INPUT');
    expect(emu.state.requests.some((r) => r.method === 'POST' && r.path.endsWith('/predictions'))).toBe(true);
  });

  it('the trainer: its pinned version is checked before trainings.create, and a difference is a warning', async () => {
    const emu = await startReplicateEmulator();
    cleanups.push(() => emu.close());
    const trainer = emu.state.models.get('ostris/flux-dev-lora-trainer');
    const live = structuredClone(trainer?.openapiSchema) as { components: { schemas: { TrainingInput: { properties: Record<string, unknown> } } } };
    delete live.components.schemas.TrainingInput.properties['lora_rank'];
    if (trainer) trainer.openapiSchema = live;
    const { logger, warnings } = recordingLogger();
    const t = makeTestApp(
      { REPLICATE_API_TOKEN: emu.token, REPLICATE_BASE_URL: emu.url, LORALOOP_REPLICATE_DESTINATION: `${emu.account}/brand-loras` },
      { logger, trainingOptions: { pollIntervalMs: 20, leaseTtlMs: 3000, scanIntervalMs: 500 } },
    );
    cleanups.push(t.dispose);
    const app: App = t.app;
    const loraId = await seedProject(app, { name: 'schema-flux', base_model: 'flux', images: 3 });
    const train = await callOk<{ job_id: string }>(app, 'lora_train', { lora_id: loraId, backend: 'replicate', params: { steps: 100, rank: 8 } });
    const r = await app.tools.execute('lora_status', { job_id: train.job_id, wait_seconds: 25 }, app.context());
    expect(dataOf<{ status: string }>(r).status).toBe('ready');
    expect(emu.state.requests.some((q) => q.method === 'GET' && /^\/v1\/models\/ostris\/flux-dev-lora-trainer\/versions\/[0-9a-f]{64}$/.test(q.path))).toBe(true);
    const problems = warnings.filter((w) => w.msg === 'Replicate input differs from the model schema').map((w) => w.fields['problem']);
    expect(problems).toEqual([expect.stringMatching(/^input "lora_rank" is not an input of this model/)]);
  });
});
