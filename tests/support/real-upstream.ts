/**
 * Reading the recorded answers of the real upstream programs (tests/fixtures/real-upstream/, see its README):
 * ComfyUI 0.3.64 and kohya sd-scripts, recorded on a GPU machine while loraloop drove them. Data only.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REAL_DIR = path.resolve(here, '../fixtures/real-upstream');
export const REAL_SD15 = path.join(REAL_DIR, 'comfyui-0.3.64-sd15');
export const REAL_SDXL_FLUX = path.join(REAL_DIR, 'comfyui-0.3.64-sdxl-flux');

/** Bytes of a fixture file (gunzipped when it ends in .gz). `name` is relative to REAL_DIR. */
export function realBytes(name: string): Buffer {
  const raw = readFileSync(path.join(REAL_DIR, name));
  return name.endsWith('.gz') ? gunzipSync(raw) : raw;
}

export function realText(name: string): string {
  return realBytes(name).toString('utf8');
}

/** Parsed JSON of a fixture. Integers past 2^53 (the seed max) lose precision here; use realText for those. */
export function realJson<T = unknown>(name: string): T {
  return JSON.parse(realText(name)) as T;
}

/** One recorded HTTP exchange (http_pre.json / http_post.json). */
export interface RecordedHttp {
  name: string;
  method: string;
  path: string;
  status: number;
  content_type: string | null;
  ms: number;
  /** The JSON answer, the text answer, or `{bytes, head}` for bodies that were not JSON (images, empty). */
  body: unknown;
}

/** One recorded WebSocket text frame, `t` seconds after the socket opened. */
export interface RecordedFrame {
  t: number;
  json: { type: string; data: Record<string, unknown> };
}

export const sd15 = {
  /** Every recorded exchange of a phase (`pre`: before the trained LoRAs were installed), or of both. */
  http: (phase?: 'pre' | 'post'): RecordedHttp[] => [
    ...(phase !== 'post' ? realJson<RecordedHttp[]>('comfyui-0.3.64-sd15/http_pre.json.gz') : []),
    ...(phase !== 'pre' ? realJson<RecordedHttp[]>('comfyui-0.3.64-sd15/http_post.json.gz') : []),
  ],
  httpNamed(name: string): RecordedHttp {
    const hit = sd15.http().find((h) => h.name === name);
    if (!hit) throw new Error(`no recorded HTTP exchange named ${name}`);
    return hit;
  },
  frames: (phase: 'pre' | 'post'): RecordedFrame[] => realJson<RecordedFrame[]>(`comfyui-0.3.64-sd15/ws_${phase}.json.gz`),
  objectInfoText: (): string => realText('comfyui-0.3.64-sd15/object_info.json.gz'),
  objectInfo: (): Record<string, unknown> => realJson('comfyui-0.3.64-sd15/object_info.json.gz'),
  basePng: (): Buffer => realBytes('comfyui-0.3.64-sd15/base.png'),
  kohya: (run: 'seed' | 'quality', stream: 'stdout' | 'stderr'): string => realText(`comfyui-0.3.64-sd15/kohya_${run}.${stream}`),
  header: (run: 'seed' | 'quality'): RealLoraHeader => realJson(`comfyui-0.3.64-sd15/header_probe_${run}.json.gz`),
};

/** One generation of the SDXL / FLUX recording: the loraloop request, its warnings and the graph loraloop built. */
export interface RecordedRequest {
  request: Record<string, unknown>;
  warnings: string[];
  workflow: Record<string, { class_type: string; inputs: Record<string, unknown> }>;
}

/** ComfyUI 0.3.64 with random-weight full-size SDXL and FLUX.1-dev files (see the README). */
export const sdxlFlux = {
  http: (): RecordedHttp[] => realJson<RecordedHttp[]>('comfyui-0.3.64-sdxl-flux/http.json.gz'),
  httpNamed(name: string): RecordedHttp {
    const hit = sdxlFlux.http().find((h) => h.name === name);
    if (!hit) throw new Error(`no recorded HTTP exchange named ${name}`);
    return hit;
  },
  frames: (): RecordedFrame[] => realJson<RecordedFrame[]>('comfyui-0.3.64-sdxl-flux/ws.json.gz'),
  objectInfoText: (): string => realText('comfyui-0.3.64-sdxl-flux/object_info.json.gz'),
  objectInfo: (): Record<string, unknown> => realJson('comfyui-0.3.64-sdxl-flux/object_info.json.gz'),
  requests: (): Record<string, RecordedRequest> => realJson('comfyui-0.3.64-sdxl-flux/requests.json'),
};

/** A trained LoRA's header as recorded: tensor names, dtypes, shapes and the ss_* / modelspec.* metadata. */
export interface RealLoraHeader {
  file: string;
  tensor_count: number;
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: string; shape: number[] }>;
}

/** One recording of sd-scripts @48d368f driven by loraloop (sd-scripts-48d368f-staged/, see the README). */
export interface KohyaStagedRecording {
  run: 'sd15' | 'sdxl';
  base_model: string;
  kohya_cmd: string;
  params: Record<string, unknown>;
  stages: Array<{ name: string; mix: Record<string, number>; learning_rate: number; epochs: number }>;
  /** Each child loraloop started (one per stage): the command and its argv. */
  spawns: Array<{ t: number; command: string; args: string[] }>;
  exits: Array<{ t: number; child: number; code: number | null; signal: string | null }>;
  /** The child's output as loraloop's pipes delivered it, both streams in arrival order; `t` in ms. */
  chunks: Array<{ t: number; child: number; stream: 'stdout' | 'stderr'; text: string }>;
  /** The job record each time it changed (sampled every 100 ms). */
  timeline: Array<{ t: number; record: { status: string; progress: number; state: Record<string, unknown> } }>;
  final_record: { status: string; progress: number; state: Record<string, unknown> };
  dataset_configs: Array<{ path: string; text: string }>;
  /** Every .safetensors the run left (epoch files and stage finals). */
  headers: Array<RealLoraHeader & { bytes: number; header_bytes: number }>;
  versions: Array<{ inspection: Record<string, unknown> }>;
}

const stagedCache = new Map<string, KohyaStagedRecording>();

/** SD 1.5 and SDXL, two stages each, the second resuming from the first (`--network_weights`). */
export const kohyaStaged = {
  dir: path.join(REAL_DIR, 'sd-scripts-48d368f-staged'),
  recording(run: 'sd15' | 'sdxl'): KohyaStagedRecording {
    const hit = stagedCache.get(run) ?? realJson<KohyaStagedRecording>(`sd-scripts-48d368f-staged/${run}.json.gz`);
    stagedCache.set(run, hit);
    return hit;
  },
  /** The value of `--name=` in a recorded child's argv. */
  arg(rec: KohyaStagedRecording, child: number, name: string): string | undefined {
    return rec.spawns[child]?.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  },
};
