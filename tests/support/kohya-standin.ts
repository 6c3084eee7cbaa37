/**
 * A stand-in for kohya sd-scripts `train_network.py` (TRAINERS.md §3b-3d), run as LORALOOP_KOHYA_CMD =
 * `node --import tsx tests/support/kohya-standin.ts`. It reads the real arguments and dataset_config.toml,
 * counts images x num_repeats, prints real-format output and writes real .safetensors files with kohya keys and
 * ss_* metadata per saved epoch and at the end. Streams as real sd-scripts uses them (tests/fixtures/real-upstream):
 * stdout gets the start summary, `epoch e/E`, `saving checkpoint: <path>` (before the file is written),
 * `removing old checkpoint: <path>` and, for a resumed stage, `load network weights from <path>: <info>`; stderr
 * gets the tqdm `steps:` bar redrawn with `\r` and rich log records (`INFO     model saved.   train_network.py:1729`).
 * `--network_weights` is loaded as networks/lora.py does (load_state_dict with strict=False): a missing file or
 * a tensor of another shape ends the run with a traceback, other names are only reported.
 *
 * Modes (environment):
 * - KOHYA_STANDIN_MODE: `ok` (default) | `nan` (avr_loss goes nan at KOHYA_STANDIN_NAN_AT and the run keeps
 *   going, slowly, like kohya-ss/sd-scripts#2137) | `crash` (a Python traceback after the first epoch, exit 1)
 * - KOHYA_STANDIN_STEP_MS: delay per step (default 15)
 * - KOHYA_STANDIN_NAN_AT: the step where the loss goes nan (default 3)
 * - KOHYA_STANDIN_PIDFILE: write our pid there (tests check the process was killed)
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'smol-toml';
import { buildKohyaFluxLora, buildKohyaSd15Lora, buildKohyaSdxlLora } from './safetensors.js';

const args = new Map<string, string | true>();
for (const a of process.argv.slice(2)) {
  const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
  if (m?.[1]) args.set(m[1], m[2] ?? true);
}
const str = (k: string): string | undefined => {
  const v = args.get(k);
  return typeof v === 'string' ? v : undefined;
};
const num = (k: string): number | undefined => (str(k) !== undefined ? Number(str(k)) : undefined);

const mode = process.env['KOHYA_STANDIN_MODE'] ?? 'ok';
const stepMs = Number(process.env['KOHYA_STANDIN_STEP_MS'] ?? '15');
const nanAt = Number(process.env['KOHYA_STANDIN_NAN_AT'] ?? '3');
if (process.env['KOHYA_STANDIN_PIDFILE']) writeFileSync(process.env['KOHYA_STANDIN_PIDFILE'], String(process.pid));

const BLUE = '\x1b[34m';
const RESET = '\x1b[0m';
const info = (msg: string) => process.stderr.write(`${BLUE}INFO${RESET}     ${msg}\n`);
/** A rich log record as sd-scripts prints it into a pipe: time column, level, message, then the source column. */
const rich = (msg: string, source: string) => process.stderr.write(`${' '.repeat(20)}INFO     ${msg.padEnd(30)}${source}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function die(lines: string[]): never {
  process.stderr.write(`Traceback (most recent call last):\n  File "train_network.py", line 1115, in <module>\n    trainer.train(args)\n${lines.join('\n')}\n`);
  process.exit(1);
}

const configPath = str('dataset_config');
const outputDir = str('output_dir');
const outputName = str('output_name') ?? 'last';
if (!configPath || !existsSync(configPath)) die([`FileNotFoundError: [Errno 2] No such file or directory: '${configPath ?? ''}'`]);
if (!outputDir) die(['ValueError: output_dir is required']);
const weights = str('network_weights');
if (weights && !existsSync(weights)) die([`FileNotFoundError: [Errno 2] No such file or directory: '${weights}'`]);

interface Subset {
  image_dir: string;
  num_repeats?: number;
}
const config = parse(readFileSync(configPath, 'utf8')) as {
  general?: { caption_extension?: string; keep_tokens?: number; flip_aug?: boolean; color_aug?: boolean; shuffle_caption?: boolean };
  datasets?: Array<{ resolution?: number; batch_size?: number; subsets?: Subset[] }>;
};
const dataset = config.datasets?.[0];
if (!dataset?.subsets?.length) die(["voluptuous.error.MultipleInvalid: required key not provided @ data['datasets'][0]['subsets']"]);
const captionExt = str('caption_extension') ?? config.general?.caption_extension ?? '.caption';

let trainImages = 0;
const tagFrequency: Record<string, Record<string, number>> = {};
const datasetDirs: Record<string, { n_repeats: number; img_count: number }> = {};
for (const [i, s] of dataset.subsets.entries()) {
  if (!existsSync(s.image_dir)) die([`voluptuous.error.MultipleInvalid: not a valid value @ data['datasets'][0]['subsets'][${i}]['image_dir']`]);
  const images = readdirSync(s.image_dir).filter((f) => /\.(jpe?g|png|webp)$/i.test(f));
  const repeats = s.num_repeats ?? 1;
  trainImages += images.length * repeats;
  const dirName = path.basename(s.image_dir);
  datasetDirs[dirName] = { n_repeats: repeats, img_count: images.length };
  const freq: Record<string, number> = {};
  for (const img of images) {
    const cap = path.join(s.image_dir, img.replace(/\.[^.]+$/, captionExt));
    if (!existsSync(cap)) continue;
    for (const tag of readFileSync(cap, 'utf8').split(',').map((t) => t.trim()).filter(Boolean)) freq[tag] = (freq[tag] ?? 0) + 1;
  }
  tagFrequency[dirName] = freq;
}
const batch = dataset.batch_size ?? num('train_batch_size') ?? 1;
const batchesPerEpoch = Math.max(1, Math.ceil(trainImages / batch));
const maxSteps = num('max_train_steps');
const epochs = num('max_train_epochs') ?? Math.max(1, Math.ceil((maxSteps ?? 1600) / batchesPerEpoch));
const totalSteps = num('max_train_epochs') !== undefined ? epochs * batchesPerEpoch : (maxSteps ?? 1600);
const saveEvery = num('save_every_n_epochs');
const saveLast = num('save_last_n_epochs');
const dim = num('network_dim') ?? 4;
const alpha = num('network_alpha') ?? 1;
/** Python's str(float), as kohya writes numbers into ss_* metadata (8e-05, 0.0001, 1.0). */
function pyFloat(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : n < 0 ? '-inf' : 'nan';
  if (n !== 0 && (Math.abs(n) < 1e-4 || Math.abs(n) >= 1e16)) {
    const [m, e] = n.toExponential().split('e');
    const exp = Number(e);
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return Number.isInteger(n) ? `${n}.0` : String(n);
}
const lr = pyFloat(Number(str('learning_rate') ?? '2e-06'));
const module = str('network_module') ?? 'networks.lora';
const base = str('pretrained_model_name_or_path') ?? '';

function metadata(step: number, epoch: number): Record<string, string> {
  return {
    ss_session_id: String(process.pid),
    ss_training_started_at: String(Math.floor(Date.now() / 1000)),
    ss_output_name: outputName,
    ss_learning_rate: lr,
    ss_network_dim: String(dim),
    ss_network_alpha: String(alpha),
    ss_network_module: module,
    ss_num_train_images: String(trainImages),
    ss_num_batches_per_epoch: String(batchesPerEpoch),
    ss_num_epochs: String(epochs),
    ss_max_train_steps: String(totalSteps),
    ss_steps: String(step),
    ss_epoch: String(epoch),
    ss_sd_model_name: path.basename(base),
    ss_mixed_precision: str('mixed_precision') ?? 'no',
    ss_lr_scheduler: str('lr_scheduler') ?? 'constant',
    ss_keep_tokens: String(config.general?.keep_tokens ?? 0),
    ss_flip_aug: String(config.general?.flip_aug ?? false),
    ss_color_aug: String(config.general?.color_aug ?? false),
    ss_resolution: String(dataset?.resolution ?? 512),
    ss_tag_frequency: JSON.stringify(tagFrequency),
    ss_dataset_dirs: JSON.stringify(datasetDirs),
  };
}

function buildLora(step: number, epoch: number): Buffer {
  const opts = { rank: dim, alpha, sample: true, seed: step + epoch, metadata: metadata(step, epoch) };
  return module === 'networks.lora_flux' ? buildKohyaFluxLora(opts) : /xl/i.test(base) ? buildKohyaSdxlLora(opts) : buildKohyaSd15Lora(opts);
}

function writeLora(file: string, step: number, epoch: number): void {
  writeFileSync(file, buildLora(step, epoch));
}

function shapes(bytes: Buffer): Map<string, number[]> {
  const n = Number(bytes.readBigUInt64LE(0));
  const h = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { shape?: number[] }>;
  return new Map(Object.entries(h).filter(([k]) => k !== '__metadata__').map(([k, v]) => [k, v.shape ?? []]));
}

/** What networks/lora.py `load_weights` answers (load_state_dict(strict=False)), printed after `load network weights from`. */
function loadWeights(file: string): string {
  const got = shapes(readFileSync(file));
  const want = shapes(buildLora(0, 0));
  const size = (s: number[]) => `torch.Size([${s.join(', ')}])`;
  const bad = [...want].filter(([k, v]) => got.has(k) && String(got.get(k)) !== String(v));
  if (bad.length) {
    die([
      'RuntimeError: Error(s) in loading state_dict for LoRANetwork:',
      ...bad.map(([k, v]) => `\tsize mismatch for ${k}: copying a param with shape ${size(got.get(k) ?? [])} from checkpoint, the shape in current model is ${size(v)}.`),
    ]);
  }
  const missing = [...want.keys()].filter((k) => !got.has(k));
  const unexpected = [...got.keys()].filter((k) => !want.has(k));
  const list = (ks: string[]) => `[${ks.map((k) => `'${k}'`).join(', ')}]`;
  return missing.length || unexpected.length ? `_IncompatibleKeys(missing_keys=${list(missing)}, unexpected_keys=${list(unexpected)})` : '<All keys matched successfully>';
}

function clock(s: number): string {
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = String(Math.floor((t % 3600) / 60)).padStart(2, '0');
  const ss = String(t % 60).padStart(2, '0');
  return h ? `${h}:${m}:${ss}` : `${m}:${ss}`;
}

function bar(step: number, loss: string | undefined): string {
  const frac = step / totalSteps;
  const cells = Math.floor(frac * 10);
  const pct = String(Math.floor(frac * 100)).padStart(3, ' ');
  if (step === 0) return `steps: ${pct}%|${' '.repeat(10)}| 0/${totalSteps} [00:00<?, ?it/s]`;
  const perStep = Math.max(stepMs, 1) / 1000;
  return `steps: ${pct}%|${'█'.repeat(cells).padEnd(10, ' ')}| ${step}/${totalSteps} [${clock(step * perStep)}<${clock((totalSteps - step) * perStep)}, ${(1 / perStep).toFixed(2)}it/s${loss ? `, avr_loss=${loss}` : ''}]`;
}

async function main(): Promise<void> {
  if (weights) process.stdout.write(`load network weights from ${weights}: ${loadWeights(weights)}\n`);
  process.stdout.write('running training / 学習開始\n');
  process.stdout.write(`  num train images * repeats / 学習画像の数×繰り返し回数: ${trainImages}\n`);
  process.stdout.write(`  num batches per epoch / 1epochのバッチ数: ${batchesPerEpoch}\n`);
  process.stdout.write(`  num epochs / epoch数: ${epochs}\n`);
  process.stdout.write(`  batch size per device / バッチサイズ: ${batch}\n`);
  process.stdout.write(`  total optimization steps / 学習ステップ数: ${totalSteps}\n`);
  process.stderr.write(`\r${bar(0, undefined)}`);
  const saved: string[] = [];
  let step = 0;
  for (let e = 1; e <= epochs && step < totalSteps; e++) {
    process.stdout.write(`\nepoch ${e}/${epochs}\n`);
    info(`epoch is incremented. current_epoch: ${e - 1}, epoch: ${e}`);
    for (let b = 0; b < batchesPerEpoch && step < totalSteps; b++) {
      step++;
      await sleep(stepMs);
      const bad = mode === 'nan' && step >= nanAt;
      const loss = bad ? 'nan' : (0.12 - 0.04 * (step / totalSteps)).toFixed(4);
      process.stderr.write(`\r${bar(step, loss)}`);
      if (bad) await sleep(200); // keeps running on nan, as #2137 did; only a watcher stops it
    }
    if (mode === 'crash') {
      process.stderr.write('\n');
      die(['  File "library/train_util.py", line 5521, in get_optimizer', 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB']);
    }
    if (saveEvery && e % saveEvery === 0 && e < epochs) {
      const file = path.join(outputDir as string, `${outputName}-${String(e).padStart(6, '0')}.safetensors`);
      process.stdout.write(`\n\nsaving checkpoint: ${file}\n`);
      writeLora(file, step, e);
      saved.push(file);
      if (saveLast && saved.length > saveLast) {
        const old = saved.shift() as string;
        process.stdout.write(`removing old checkpoint: ${old}\n`);
        rmSync(old, { force: true });
      }
    }
  }
  const final = path.join(outputDir as string, `${outputName}.safetensors`);
  process.stdout.write(`\n\nsaving checkpoint: ${final}\n`);
  writeLora(final, step, epochs);
  rich('model saved.', 'train_network.py:1729');
  process.stderr.write('\n');
}

void main();
