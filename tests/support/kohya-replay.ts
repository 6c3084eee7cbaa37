/**
 * A stand-in for sd-scripts that replays what the real program printed (tests/fixtures/real-upstream,
 * sd-scripts @48d368f training SD 1.5 with loraloop's arguments) instead of inventing output. Run as
 * LORALOOP_KOHYA_CMD = `node --import tsx tests/support/kohya-replay.ts`.
 *
 * What it keeps from the recording: stdout and stderr byte for byte (the `\r` tqdm redraws, rich log columns,
 * a bar and a log record sharing a line, `model saved.` on stderr), with the recorded output folder and name
 * replaced by this run's `--output_dir` / `--output_name`; and the trained file's header (792 tensors, their
 * dtypes and shapes, every ss_* / modelspec.* value). Only the order between the two streams is rebuilt (the
 * recording kept them apart): stdout's `saving checkpoint:` lines are lined up with stderr's save-time
 * `Failed to get git commit` records, which sd-scripts prints while saving. As in sd-scripts' save_model, the
 * `saving checkpoint:` line is printed before the file exists.
 *
 * With `--network_weights` (a resumed stage) the file is loaded as networks/lora.py does (load_state_dict with
 * strict=False): a missing file or a tensor of another shape ends the run with a traceback; every stage replays the
 * same recorded run.
 *
 * KOHYA_REPLAY_RUN `sd15-staged` | `sdxl-staged` replays instead the later recordings of loraloop's own kohya backend
 * driving sd-scripts for SD 1.5 and SDXL with a resumed stage (kohya-replay-staged.ts says how).
 *
 * Environment: KOHYA_REPLAY_RUN `seed` (default) | `quality`; KOHYA_REPLAY_NAN_AT=N prints `avr_loss=nan` from
 * step N on (the real bar format, the failure of kohya-ss/sd-scripts#2137) and then keeps running slowly like
 * the real program would; KOHYA_REPLAY_CHUNK_MS delay between writes (default 2).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isStagedRun, loadWeights, replayStaged, tensorsOf } from './kohya-replay-staged.js';
import { buildSafetensors } from './safetensors.js';
import { sd15, type RealLoraHeader } from './real-upstream.js';

const runEnv = process.env['KOHYA_REPLAY_RUN'] ?? 'seed';
// replayStaged ends the process with the recorded exit code.
if (isStagedRun(runEnv)) await replayStaged(runEnv, process.argv.slice(2));
const run = runEnv === 'quality' ? 'quality' : 'seed';
const nanAt = process.env['KOHYA_REPLAY_NAN_AT'] ? Number(process.env['KOHYA_REPLAY_NAN_AT']) : undefined;
const chunkMs = Number(process.env['KOHYA_REPLAY_CHUNK_MS'] ?? '2');

const arg = (name: string): string | undefined => {
  const hit = process.argv.slice(2).find((a) => a.startsWith(`--${name}=`));
  return hit?.slice(name.length + 3);
};
const outputDir = arg('output_dir');
const outputName = arg('output_name');
if (!outputDir || !outputName) {
  process.stderr.write('train_network.py: error: --output_dir and --output_name are required by this replay\n');
  process.exit(2);
}

const header: RealLoraHeader = sd15.header(run);

// A resumed stage (`--network_weights`): train_network.py loads that LoRA before training (strict=False), so a missing
// file or a tensor of another shape ends the run; this recording printed nothing about it (it was not resumed).
const weights = arg('network_weights');
if (weights !== undefined) loadWeights(weights, header);
// `/tmp/probe/run/train_seed/output-1/probe_seed.safetensors` -> folder and name of the recorded run.
const recordedDir = path.posix.dirname(header.file);
const recordedName = path.posix.basename(header.file, '.safetensors');
const rewrite = (text: string): string => text.split(`${recordedDir}/${recordedName}`).join(`${outputDir}/${outputName}`);

function withNan(text: string): string {
  if (nanAt === undefined) return text;
  return text.replace(/(steps:[^\r\n]*?\| (\d+)\/\d+ \[[^\]]*?avr_loss=)([^,\]\s]+)/g, (m, head: string, step: string) =>
    Number(step) >= nanAt ? `${head}nan` : m,
  );
}

const stdout = rewrite(sd15.kohya(run, 'stdout'));
const stderr = withNan(rewrite(sd15.kohya(run, 'stderr')));

/** Cut `text` before every match of `re` (global). */
function cutBefore(text: string, re: RegExp): string[] {
  const parts: string[] = [];
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index === undefined || m.index === 0) continue;
    parts.push(text.slice(last, m.index));
    last = m.index;
  }
  parts.push(text.slice(last));
  return parts;
}

const outParts = cutBefore(stdout, /^saving checkpoint: /gm);
const errParts = cutBefore(stderr, /(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d )?WARNING {2}Failed to get git commit/g);
if (outParts.length !== errParts.length) {
  process.stderr.write(`kohya-replay: ${outParts.length} stdout parts but ${errParts.length} stderr parts\n`);
  process.exit(3);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const write = (stream: NodeJS.WriteStream, text: string) => new Promise<void>((r) => (text ? stream.write(text, () => r()) : r()));

/** Write in pieces that cut lines and bars anywhere, as pipes deliver them. */
async function dribble(stream: NodeJS.WriteStream, text: string): Promise<void> {
  for (let i = 0; i < text.length; i += 700) {
    await write(stream, text.slice(i, i + 700));
    await sleep(chunkMs);
    if (nanAt !== undefined && /avr_loss=nan/.test(text.slice(0, i + 700))) await sleep(50); // diverged runs go on, slowly
  }
}

async function main(): Promise<void> {
  mkdirSync(outputDir as string, { recursive: true });
  let lora: Buffer | undefined;
  for (let i = 0; i < outParts.length; i++) {
    const out = outParts[i] ?? '';
    const saved = /^saving checkpoint: (.+)$/m.exec(out)?.[1];
    const savedAt = saved ? out.indexOf('\n', out.indexOf('saving checkpoint: ')) + 1 : 0;
    // stdout up to and including `saving checkpoint: X`, then the file, then the rest (removals, next epoch).
    await dribble(process.stdout, out.slice(0, savedAt));
    if (saved) {
      await sleep(150); // the real save takes a while after the line is printed
      lora ??= buildSafetensors(tensorsOf(header, 1), header.metadata);
      writeFileSync(saved, lora);
    }
    for (const m of out.slice(savedAt).matchAll(/^removing old checkpoint: (.+)$/gm)) if (m[1]) rmSync(m[1], { force: true });
    await dribble(process.stdout, out.slice(savedAt));
    await dribble(process.stderr, errParts[i] ?? '');
  }
}

void main();
