import { describe, expect, it } from 'vitest';
import { LoraloopError } from '../../../src/core/errors.js';
import type { FetchLike } from '../../../src/core/retry.js';
import {
  createReplicateClient,
  isTerminal,
  parseModelRef,
  parseTrainingProgress,
} from '../../../src/clients/replicate.js';

describe('parseTrainingProgress', () => {
  const bar = (n: number, total: number, rest: string) => `flux_train_replicate:  ${Math.round((100 * n) / total)}%|█   | ${n}/${total} [${rest}]`;

  it('reads the documented ai-toolkit bar', () => {
    expect(parseTrainingProgress('flux_train_replicate:  10%|█   | 100/1000 [01:23<11:07, 1.35it/s, lr: 4.0e-04 loss: 3.456e-01]')).toEqual({
      step: 100,
      total: 1000,
      progress: 0.1,
      loss: 0.3456,
      lr: 0.0004,
    });
  });

  it('takes the last redraw when tqdm rewrites the line with \\r', () => {
    const logs = [
      'Starting train job',
      `${bar(0, 500, '00:00<?, ?it/s')}\r${bar(100, 500, '01:10<04:40, 1.42it/s, lr: 1.0e-04 loss: 4.100e-01')}\r${bar(250, 500, '02:56<02:56, 1.42it/s, lr: 1.0e-04 loss: 3.900e-01')}`,
    ].join('\n');
    expect(parseTrainingProgress(logs)).toMatchObject({ step: 250, total: 500, progress: 0.5, loss: 0.39 });
  });

  it('ignores preprocessing bars and returns null before training starts', () => {
    const logs = 'Extracting input_images.zip\nCaching latents to disk: 100%|██████████| 12/12 [00:03<00:00,  3.91it/s]\nloaded 12/12 images\n';
    expect(parseTrainingProgress(logs)).toBeNull();
    expect(parseTrainingProgress(`${logs}${bar(0, 1000, '00:00<?, ?it/s')}`)).toEqual({ step: 0, total: 1000, progress: 0, loss: null, lr: null });
    // A preprocessing bar printed after the training bar does not hide it.
    expect(parseTrainingProgress(`${bar(40, 1000, '00:30<12:00, 1.33it/s')}\nCaching latents to disk: 100%|█| 3/3`)?.step).toBe(40);
  });

  it('survives ANSI colour codes, a cut-off last redraw, s/it rates and nan loss', () => {
    expect(parseTrainingProgress('\x1b[32mflux_train_replicate:  50%|█████     | 5/10 [00:10<00:10,  2.00s/it, lr: 4.0e-04 loss: nan]\x1b[0m')).toMatchObject({
      step: 5,
      loss: Number.NaN,
    });
    expect(parseTrainingProgress(`${bar(10, 100, '00:07<01:03, 1.4it/s')}\rflux_train_replicate:  20%|██  | 20/100 [00:14<00:5`)).toMatchObject({ step: 20, loss: null });
    // Cursor hiding and erase-line codes as tqdm writes them to a terminal, a window title (OSC) before the bar.
    expect(parseTrainingProgress('\x1b]0;training\x07\x1b[?25l\rflux_train_replicate:  30%|███ | 30/100 [00:20<00:47, 1.5it/s, lr: 4.0e-04 loss: 3.1e-01]\x1b[K')).toMatchObject({
      step: 30,
      loss: 0.31,
      lr: 0.0004,
    });
  });
});

describe('isTerminal', () => {
  it('treats aborted as terminal, unlike the official client wait()', () => {
    expect(['succeeded', 'failed', 'canceled', 'aborted'].every(isTerminal)).toBe(true);
    expect(['starting', 'processing', 'queued'].some(isTerminal)).toBe(false);
  });
});

describe('parseModelRef', () => {
  it('splits owner/name[:version] and names the expected form on errors', () => {
    expect(parseModelRef('ostris/flux-dev-lora-trainer:abc123')).toEqual({ owner: 'ostris', name: 'flux-dev-lora-trainer', version: 'abc123' });
    expect(parseModelRef('acme/brand')).toEqual({ owner: 'acme', name: 'brand', version: undefined });
    expect(() => parseModelRef('just-a-name')).toThrow(/owner\/name/);
  });
});

describe('createReplicateClient', () => {
  function recording(): { fetch: FetchLike; seen: Array<{ url: string; auth: string | null }> } {
    const seen: Array<{ url: string; auth: string | null }> = [];
    return {
      seen,
      fetch: async (input, init) => {
        seen.push({ url: String(input instanceof Request ? input.url : input), auth: new Headers(init?.headers).get('authorization') });
        return new Response('{"results":[],"next":null,"previous":null}', { status: 200, headers: { 'content-type': 'application/json' } });
      },
    };
  }

  it('joins routes under the /v1 base and reads the key lazily, at each request', async () => {
    const net = recording();
    let key: string | undefined = undefined;
    const client = createReplicateClient({ baseUrl: 'http://api.test/v1/', apiKey: () => key, fetch: net.fetch });
    await expect(client.trainings.list()).rejects.toMatchObject({ code: 'NOT_CONFIGURED' });
    expect(net.seen).toHaveLength(0);
    key = 'r8_later';
    await client.trainings.list();
    expect(net.seen).toEqual([{ url: 'http://api.test/v1/trainings', auth: 'Bearer r8_later' }]);
  });

  it('never sends the token to another host (output files)', async () => {
    const net = recording();
    const client = createReplicateClient({ baseUrl: 'http://api.test/v1', apiKey: 'r8_secret', fetch: net.fetch });
    await client.fetch('https://replicate.delivery/xyz/out-0.png');
    expect(net.seen).toEqual([{ url: 'https://replicate.delivery/xyz/out-0.png', auth: null }]);
  });

  it('refuses a base URL that is not http(s) at construction', () => {
    expect(() => createReplicateClient({ baseUrl: 'ftp://x/v1' })).toThrow(LoraloopError);
  });
});
