/**
 * The people detector's worker thread: @vladmandic/human on TensorFlow.js's WebAssembly backend, with only
 * the two models shot typing needs (BlazeFace faces, MoveNet Lightning body keypoints),
 * loaded once from the package's own files. Inference is synchronous CPU work of tens of milliseconds per
 * image, so it runs here and the analysis thread keeps decoding and measuring meanwhile.
 *
 * Protocol: the parent posts DetectRequest messages and gets one DetectReply per request, in order.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { Human as HumanType, Config, Result } from '@vladmandic/human';
import { humanPackageDir, modelsBaseUrl, registerModelFileLoader } from './model-files.js';
import type { DetectReply, DetectRequest, NormBox, PeopleDetection } from './types.js';

/** Human's config: everything we do not use is off (each model costs load time and memory). */
function humanConfig(): Partial<Config> {
  const require = createRequire(import.meta.url);
  const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  return {
    backend: 'wasm',
    // tfjs-backend-wasm reads its .wasm files from this folder (emscripten uses fs in Node): no CDN.
    wasmPath: `${wasmDir}/`,
    modelBasePath: modelsBaseUrl(),
    debug: false,
    cacheModels: false,
    // Human is built for video: by default it reuses the last results when a frame looks like the one before.
    // Every image here is a different photo, so caching and frame skipping are off.
    cacheSensitivity: 0,
    warmup: 'none',
    filter: { enabled: false },
    gesture: { enabled: false },
    hand: { enabled: false },
    segmentation: { enabled: false },
    face: {
      enabled: true,
      detector: { rotation: false, maxDetected: 20, minConfidence: 0.35, return: false, skipFrames: 0, skipTime: 0 },
      mesh: { enabled: false },
      iris: { enabled: false },
      emotion: { enabled: false },
      description: { enabled: false },
      antispoof: { enabled: false },
      liveness: { enabled: false },
    },
    body: { enabled: true, modelPath: 'movenet-lightning.json', maxDetected: 1, minConfidence: 0.15, skipFrames: 0, skipTime: 0 },
    // CenterNet (the package's person detector) would count people seen from behind, but it runs at a fixed
    // 512x512 and costs 220-360 ms per image on this 2-core machine against ~40 ms for each of the two above:
    // people are counted from faces and the pose instead.
    object: { enabled: false },
  } as Partial<Config>;
}

let human: HumanType | null = null;

async function load(): Promise<HumanType> {
  if (human) return human;
  registerModelFileLoader(tf);
  const require = createRequire(import.meta.url);
  // The wasm build of human (the package's `exports` map does not expose it by a subpath).
  const mod = require(join(humanPackageDir(), 'dist', 'human.node-wasm.js')) as { Human: new (c: Partial<Config>) => HumanType };
  const h = new mod.Human(humanConfig());
  await h.load();
  human = h;
  return h;
}

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);
const box = (raw: readonly number[] | undefined): NormBox => ({ x: clamp01(raw?.[0] ?? 0), y: clamp01(raw?.[1] ?? 0), w: clamp01(raw?.[2] ?? 0), h: clamp01(raw?.[3] ?? 0) });

/** Human's result -> our normalised, model-independent shape. */
function toDetection(r: Result, ms: number): PeopleDetection {
  const faces = r.face.map((f) => ({ ...box(f.boxRaw), score: f.boxScore ?? f.score })).sort((a, b) => b.score - a.score);
  const b = r.body[0];
  const pose = b
    ? {
        score: b.score,
        box: box(b.boxRaw),
        keypoints: b.keypoints.map((k) => ({ part: k.part, x: k.positionRaw[0] ?? 0, y: k.positionRaw[1] ?? 0, score: k.score })),
      }
    : null;
  return { faces, pose, ms };
}

async function detect(req: DetectRequest): Promise<PeopleDetection> {
  const h = await load();
  const t0 = performance.now();
  const input = tf.tensor3d(req.data, [req.height, req.width, 3], 'int32');
  try {
    const r = await h.detect(input as unknown as Parameters<HumanType['detect']>[0]);
    if (r.error) throw new Error(r.error);
    return toDetection(r, performance.now() - t0);
  } finally {
    input.dispose();
  }
}

// One request at a time, in arrival order: the models are not re-entrant and the replies must stay ordered.
let chain: Promise<void> = Promise.resolve();
parentPort?.on('message', (req: DetectRequest) => {
  chain = chain.then(async () => {
    let reply: DetectReply;
    try {
      reply = { id: req.id, ok: true, result: await detect(req) };
    } catch (e) {
      reply = { id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) };
    }
    parentPort?.postMessage(reply);
  });
});
