import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { buildKohyaArgs, errorTextFromTail, splitCommandLine } from '../../../src/lora/backends/kohya.js';
import { createKohyaOutputParser, parseKohyaLine, type KohyaEvent } from '../../../src/lora/backends/kohya-output.js';
import { resolveParams } from '../../../src/lora/training/params.js';
import { extractLoraFromTar, readTar } from '../../../src/lora/training/tar.js';
import { repeatsForMix } from '../../../src/lora/training/stages.js';

describe('training parameters', () => {
  it('refuses out-of-range Replicate inputs, naming each one, and maps generic names', () => {
    const r = resolveParams('replicate', { preset: 'flux-replicate', params: { steps: 7000, lora_rank: 256, optimizer: 'sgd', resolution: '512,4096' } });
    expect(r.ok).toBe(false);
    const text = r.ok ? '' : r.problems.join('\n');
    expect(text).toMatch(/params\.steps .*3 and 6000/);
    expect(text).toMatch(/params\.lora_rank .*1 and 128/);
    expect(text).toMatch(/params\.optimizer .*adamw8bit/);
    expect(text).toMatch(/params\.resolution/);
    const ok = resolveParams('replicate', { preset: 'seed-default', params: { rank: 8, steps: 800 } });
    expect(ok.ok && ok.value.params).toEqual({ resolution: '512', batch_size: 1, steps: 800, learning_rate: 1e-4, lora_rank: 8 });
  });

  it('refuses unknown and reserved names and says what has no equivalent', () => {
    const r = resolveParams('replicate', { preset: 'flux-replicate', params: { autocaption: true, epochs: 3, network_alpha: 8, bogus: 1 } });
    expect(r.ok).toBe(false);
    const text = r.ok ? '' : r.problems.join('\n');
    expect(text).toMatch(/autocaption cannot be set/);
    expect(text).toMatch(/epochs has no equivalent .*use steps/);
    expect(text).toMatch(/network_alpha, bogus are not Replicate trainer parameters/);
  });

  it('gives kohya the quality-tuned preset and warns what Replicate cannot honour', () => {
    const k = resolveParams('kohya', { preset: 'quality-tuned' });
    expect(k.ok && k.value.params).toMatchObject({
      network_dim: 64, network_alpha: 32, learning_rate: 8e-5, lr_scheduler: 'cosine_with_restarts', lr_warmup_steps: 100,
      min_snr_gamma: 5, noise_offset: 0.05, gradient_checkpointing: true, mixed_precision: 'fp16', gradient_accumulation_steps: 2,
      color_aug: false, flip_aug: false,
    });
    const r = resolveParams('replicate', { preset: 'quality-tuned' });
    expect(r.ok && r.value.warnings.join(' ')).toMatch(/min_snr_gamma=5 is not available on replicate/);
    const bad = resolveParams('kohya', { preset: 'seed-default', params: { lr_scheduler: 'warp', network_dim: 0, resolution: 500 } });
    expect(bad.ok ? [] : bad.problems).toHaveLength(3);
  });
});

describe('kohya arguments and command line', () => {
  it('splits a command line like a shell, without one', () => {
    expect(splitCommandLine(`accelerate launch --num_cpu_threads_per_process 1 "/opt/sd scripts/train_network.py" 'a b' c\\ d`)).toEqual([
      'accelerate', 'launch', '--num_cpu_threads_per_process', '1', '/opt/sd scripts/train_network.py', 'a b', 'c d',
    ]);
    expect(splitCommandLine('ssh gpu "cd /sd && python x.py" ; rm -rf /')).toEqual(['ssh', 'gpu', 'cd /sd && python x.py', ';', 'rm', '-rf', '/']);
    expect(() => splitCommandLine('python "oops')).toThrow(/unterminated/);
  });

  it('always passes caption extension and learning rate, picks the network module, resumes stages', () => {
    const args = buildKohyaArgs({
      params: { network_dim: 16, gradient_checkpointing: true, min_snr_gamma: 5 },
      baseModel: 'flux', pretrained: '/m/flux.safetensors', datasetConfig: '/d/cfg.toml', outputDir: '/o', outputName: 'sol',
      stage: { name: 's2', mix: {}, learning_rate: 5e-5, epochs: 3 }, networkWeights: '/o/s1.safetensors',
    });
    expect(args).toEqual(expect.arrayContaining([
      '--caption_extension=.txt', '--learning_rate=0.00005', '--network_module=networks.lora_flux', '--network_dim=16', '--network_alpha=16',
      '--network_weights=/o/s1.safetensors', '--max_train_epochs=3', '--save_every_n_epochs=1', '--gradient_checkpointing', '--min_snr_gamma=5',
      '--dataset_config=/d/cfg.toml', '--output_dir=/o', '--output_name=sol', '--mixed_precision=bf16',
    ]));
    expect(buildKohyaArgs({ params: {}, baseModel: 'sd15', pretrained: 'x', datasetConfig: 'c', outputDir: 'o', outputName: 'n' })).toContain('--network_module=networks.lora');
  });

  it('turns a data mix into num_repeats by share per image', () => {
    const sc = { counts: new Map([['closeup', 4], ['wide', 20]]), subsetOfCategory: new Map([['closeup', 'closeup'], ['wide', 'wide']]) };
    expect(repeatsForMix({}, sc)).toEqual({ closeup: 5, wide: 1 });
    expect(repeatsForMix({ wide: 3 }, sc)).toEqual({ closeup: 2, wide: 1 }); // 1/4 vs 3/20 -> 0.25:0.15
  });
});

describe('kohya output parser', () => {
  it('reads \\r-redrawn bars split anywhere, epochs, saves and the nan of #2137', () => {
    const p = createKohyaOutputParser();
    const text =
      'running training / 学習開始\n  total optimization steps / 学習ステップ数: 3280\n\nepoch 1/80\n' +
      '\rsteps:   0%|          | 0/3280 [00:00<?, ?it/s]' +
      '\rsteps:   1%|▋         | 40/3280 [00:49<1:06:55,  1.24s/it, avr_loss=0.0913]' +
      '\rsteps:   1%|▋         | 41/3280 [00:50<1:06:54,  1.24s/it, avr_loss=nan]' +
      '\n\x1b[34mINFO\x1b[0m     saving checkpoint: /out/sol-000001.safetensors\nmodel saved.\n';
    const events: KohyaEvent[] = [];
    for (let i = 0; i < text.length; i += 7) events.push(...p.push(text.slice(i, i + 7)));
    events.push(...p.end());
    const steps = events.filter((e) => e.type === 'steps');
    expect(steps.map((s) => s.step)).toEqual([0, 40, 41]);
    expect(steps[1]).toMatchObject({ total: 3280, loss: 0.0913, remaining_seconds: 4015, elapsed_seconds: 49 });
    expect(Number.isNaN(steps[2]?.loss)).toBe(true);
    expect(events).toContainEqual({ type: 'epoch', epoch: 1, total: 80 });
    expect(events).toContainEqual({ type: 'summary', key: 'total_steps', value: 3280 });
    expect(events).toContainEqual({ type: 'checkpoint_saved', path: '/out/sol-000001.safetensors' });
    expect(events).toContainEqual({ type: 'model_saved' });
  });

  it('reads rich log records whose source column is a terminal hyperlink (OSC 8) and bars with cursor codes', () => {
    const link = (text: string) => `\x1b]8;id=1;file:///sd-scripts/train_network.py\x1b\\${text}\x1b]8;;\x1b\\`;
    const p = createKohyaOutputParser();
    const events = [
      ...p.push(`2026-12-04 12:46:07 \x1b[34mINFO    \x1b[0m saving checkpoint: /out/sol-000002.safetensors      ${link('train_network.py:1090')}\n`),
      ...p.push(`                    \x1b[34mINFO    \x1b[0m model saved.                                           ${link('train_network.py:1729')}\n`),
      ...p.push('\x1b[?25l\rsteps:  50%|█████     | 5/10 [00:05<00:05,  1.00it/s, avr_loss=0.12]\x1b[K\n'),
    ];
    expect(events).toContainEqual({ type: 'checkpoint_saved', path: '/out/sol-000002.safetensors' });
    expect(events).toContainEqual({ type: 'model_saved' });
    expect(events.find((e) => e.type === 'steps')).toMatchObject({ step: 5, total: 10, loss: 0.12 });
  });

  it('reports a finished bar before the next redraw arrives', () => {
    const p = createKohyaOutputParser();
    const ev = p.push('\rsteps:   1%|▋ | 41/3280 [00:50<1:06:54,  1.24s/it, avr_loss=inf]');
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ type: 'steps', step: 41, loss: Infinity });
    expect(p.push('\r')).toHaveLength(0); // not reported twice
    expect(parseKohyaLine('steps:  50%|█████     | 5/10 [00:01<00:01,  3.50it/s, avr_loss=0.1, Keys Scaled=2, Average key norm=0.5]')).toMatchObject({
      postfix: { avr_loss: '0.1', 'Keys Scaled': '2', 'Average key norm': '0.5' },
    });
  });

  it('keeps the Traceback as the error text', () => {
    expect(errorTextFromTail(['loading', 'Traceback (most recent call last):', '  File "x"', 'RuntimeError: boom'])).toBe('Traceback (most recent call last):\n  File "x"\nRuntimeError: boom');
  });
});

describe('tar reader', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'loraloop-tar-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes lora.safetensors out of a GNU tar with long names, gzip or not', async () => {
    const root = path.join(dir, 'src');
    const deep = path.join(root, 'output', 'flux_train_replicate', 'x'.repeat(120));
    mkdirSync(deep, { recursive: true });
    const payload = Buffer.alloc(1500, 7);
    writeFileSync(path.join(root, 'output', 'flux_train_replicate', 'lora.safetensors'), payload);
    writeFileSync(path.join(deep, 'caption.txt'), 'a photo of TOK');
    const tarFile = path.join(dir, 'w.tar');
    execFileSync('tar', ['-cf', tarFile, '-C', root, 'output']);
    const plain = readFileSync(tarFile);
    const names = (await readTar(plain)).map((e) => e.name);
    expect(names).toContain(`output/flux_train_replicate/${'x'.repeat(120)}/caption.txt`);
    expect((await extractLoraFromTar(plain)).data.equals(payload)).toBe(true);
    execFileSync('tar', ['-czf', `${tarFile}.gz`, '-C', root, 'output']);
    expect((await extractLoraFromTar(readFileSync(`${tarFile}.gz`))).name).toBe('output/flux_train_replicate/lora.safetensors');
    const broken = Buffer.from(plain);
    broken[100] = 0x41; // inside the first header: checksum no longer matches
    await expect(readTar(broken)).rejects.toThrow(/checksum/);
  });

  it('refuses a truncated download and broken gzip data instead of returning part of the LoRA', async () => {
    const root = path.join(dir, 'cut');
    mkdirSync(path.join(root, 'output'), { recursive: true });
    writeFileSync(path.join(root, 'output', 'lora.safetensors'), Buffer.alloc(5000, 3));
    const tarFile = path.join(dir, 'cut.tar');
    execFileSync('tar', ['-cf', tarFile, '-C', root, 'output']);
    const whole = readFileSync(tarFile);
    expect((await extractLoraFromTar(whole)).size).toBe(5000);
    const cut = whole.subarray(0, 512 * 2 + 3000); // the directory header, the file header and part of its data
    await expect(extractLoraFromTar(cut)).rejects.toThrow(/The weights archive is not a valid tar file: .*truncated/);
    const gz = gzipSync(whole);
    await expect(extractLoraFromTar(gz.subarray(0, gz.length - 40))).rejects.toThrow(/not a valid tar file: gzip data could not be decompressed/);
  });
});
