/**
 * The staged recordings' replay (tests/fixtures/real-upstream/sd-scripts-48d368f-staged: real sd-scripts
 * `train_network.py` for SD 1.5 and `sdxl_train_network.py` for SDXL, two stages each, driven by loraloop's own
 * kohya backend on a GPU). Used by kohya-replay.ts when KOHYA_REPLAY_RUN is `sd15-staged` or `sdxl-staged`.
 *
 * A run with `--network_weights` replays the recorded resumed stage, one without it the first stage (the weights
 * are loaded as networks/lora.py does: see loadWeights). What it
 * keeps from the recording: every chunk of stdout and stderr as loraloop's pipes delivered it, in the recorded
 * order across both streams and with the recorded pauses scaled down (KOHYA_REPLAY_TIME_SCALE, default 0.01: the
 * real minute of model loading before the first bar becomes 0.6 s), the recorded output folder, name and
 * network_weights path replaced by this run's, the exit code, and each saved file's header (tensor names,
 * dtypes, shapes and every ss_* / modelspec.* value of that very file). As in sd-scripts, a file is written
 * after its `saving checkpoint:` line and before the next bar.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildSafetensors, encodeScalar, numberToHalf, type TensorSpec } from './safetensors.js';
import { kohyaStaged, type KohyaStagedRecording, type RealLoraHeader } from './real-upstream.js';

export const STAGED_RUNS = ['sd15-staged', 'sdxl-staged'] as const;
export type StagedRun = (typeof STAGED_RUNS)[number];

export function isStagedRun(run: string): run is StagedRun {
  return (STAGED_RUNS as readonly string[]).includes(run);
}

/**
 * Small finite fp16 values (a real LoRA's weights are near zero); alphas carry ss_network_alpha. The values come
 * from one seeded pool copied across each tensor: an SDXL LoRA holds 14 million of them.
 */
export function tensorsOf(h: RealLoraHeader, seed: number): TensorSpec[] {
  const alpha = Number(h.metadata['ss_network_alpha'] ?? '1');
  const pool = Buffer.alloc(8192 * 2);
  let x = (seed * 7919) >>> 0 || 1;
  for (let k = 0; k < pool.length / 2; k++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    pool.writeUInt16LE(numberToHalf((x / 2 ** 32 - 0.5) * 0.02), k * 2);
  }
  return Object.entries(h.tensors)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, t], i) => {
      if (name.endsWith('.alpha')) return { name, dtype: t.dtype, shape: t.shape, data: encodeScalar(alpha, 'F16') };
      const data = Buffer.alloc(t.shape.reduce((a, b) => a * b, 1) * 2);
      // Start each tensor elsewhere in the pool so that no two tensors hold the same bytes.
      for (let at = 0, from = ((i * 2654435761) >>> 0) % (pool.length / 2) * 2; at < data.length; from = 0) at += pool.copy(data, at, from);
      return { name, dtype: t.dtype, shape: t.shape, data };
    });
}

/**
 * `--network_weights` as networks/lora.py loads it (`load_state_dict(weights, False)`): a missing file or a tensor
 * of another shape ends the run with a traceback; other names are only reported. Returns what sd-scripts prints
 * after `load network weights from <path>: `.
 */
export function loadWeights(file: string, network: RealLoraHeader): string {
  if (!existsSync(file)) fail(`Traceback (most recent call last):\nFileNotFoundError: [Errno 2] No such file or directory: '${file}'\n`);
  const raw = readFileSync(file);
  const n = Number(raw.readBigUInt64LE(0));
  const got = JSON.parse(raw.subarray(8, 8 + n).toString('utf8')) as Record<string, { shape?: number[] }>;
  delete got['__metadata__'];
  const size = (s: number[] | undefined) => `torch.Size([${(s ?? []).join(', ')}])`;
  const bad = Object.entries(network.tensors).filter(([k, t]) => got[k] && String(got[k].shape) !== String(t.shape));
  if (bad.length) {
    fail(
      'Traceback (most recent call last):\nRuntimeError: Error(s) in loading state_dict for LoRANetwork:\n' +
        bad.map(([k, t]) => `\tsize mismatch for ${k}: copying a param with shape ${size(got[k]?.shape)} from checkpoint, the shape in current model is ${size(t.shape)}.\n`).join(''),
    );
  }
  const missing = Object.keys(network.tensors).filter((k) => !(k in got));
  const unexpected = Object.keys(got).filter((k) => !(k in network.tensors));
  const list = (ks: string[]) => `[${ks.map((k) => `'${k}'`).join(', ')}]`;
  return missing.length || unexpected.length ? `_IncompatibleKeys(missing_keys=${list(missing)}, unexpected_keys=${list(unexpected)})` : '<All keys matched successfully>';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const write = (stream: NodeJS.WriteStream, text: string) => new Promise<void>((r) => (text ? stream.write(text, () => r()) : r()));

function fail(text: string, code = 1): never {
  process.stderr.write(text);
  process.exit(code);
}

/** Replay one recorded child with this run's argv. Exits with the recorded exit code. */
export async function replayStaged(run: StagedRun, argv: string[]): Promise<void> {
  const rec: KohyaStagedRecording = kohyaStaged.recording(run === 'sdxl-staged' ? 'sdxl' : 'sd15');
  const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const outputDir = arg('output_dir');
  const outputName = arg('output_name');
  if (!outputDir || !outputName) fail('train_network.py: error: --output_dir and --output_name are required by this replay\n', 2);
  const weights = arg('network_weights');
  const child = weights === undefined ? 0 : 1;
  const recDir = kohyaStaged.arg(rec, child, 'output_dir') ?? '';
  const recName = kohyaStaged.arg(rec, child, 'output_name') ?? '';
  const recWeights = kohyaStaged.arg(rec, child, 'network_weights');

  // A resumed stage loads the file before anything is trained (the network is the one the first stage saved).
  let loaded: string | undefined;
  if (weights !== undefined) {
    const firstFinal = rec.headers.find((h) => h.file === recWeights);
    if (!firstFinal) fail(`kohya-replay: the recording has no header for ${String(recWeights)}\n`, 3);
    loaded = loadWeights(weights, firstFinal);
  }

  const rewrite = (text: string): string => {
    let out = text.split(`${recDir}/${recName}`).join(`${outputDir}/${outputName}`);
    if (recWeights && weights) out = out.split(`${recWeights}: <All keys matched successfully>`).join(`${weights}: ${loaded}`);
    return out;
  };
  // This stage's recorded files by what follows the output name (`-000001.safetensors`, `.safetensors`).
  const headers = new Map(
    rec.headers.filter((h) => path.posix.dirname(h.file) === recDir).map((h) => [path.posix.basename(h.file).slice(recName.length), h]),
  );
  const scale = Number(process.env['KOHYA_REPLAY_TIME_SCALE'] ?? '0.01');
  const chunks = rec.chunks.filter((c) => c.child === child);
  const started = rec.spawns[child]?.t ?? 0;
  let last = started;
  let stdoutTail = '';
  let data: TensorSpec[] | undefined;
  for (const c of chunks) {
    await sleep(Math.max(1, (c.t - last) * scale));
    last = c.t;
    const text = rewrite(c.text);
    if (c.stream === 'stderr') {
      await write(process.stderr, text);
      continue;
    }
    await write(process.stdout, text);
    const lines = (stdoutTail + text).split('\n');
    stdoutTail = lines.pop() ?? '';
    for (const line of lines) {
      const saved = /^saving checkpoint: (.+)$/.exec(line)?.[1];
      const removed = /^removing old checkpoint: (.+)$/.exec(line)?.[1];
      if (removed) rmSync(removed, { force: true });
      if (!saved) continue;
      const h = headers.get(path.basename(saved).slice(outputName.length));
      if (!h) fail(`kohya-replay: no recorded header for ${saved}\n`, 3);
      await sleep(20); // the real save happens after the line is printed
      data ??= tensorsOf(h, child + 1);
      writeFileSync(saved, buildSafetensors(data, h.metadata));
    }
  }
  const exit = rec.exits.find((e) => e.child === child);
  process.exit(exit?.code ?? 0);
}
