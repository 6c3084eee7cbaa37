import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoraloopError } from '../../../src/core/errors.js';
import { inspectSafetensorsBuffer, inspectSafetensorsFile } from '../../../src/lora/safetensors/inspect.js';
import { buildRawSafetensors, buildSafetensors, malformedSafetensors } from '../../support/safetensors.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loraloop-st-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs both entry points and returns the error each threw; both must agree. */
async function refusal(buf: Buffer, name: string): Promise<LoraloopError> {
  let fromBuffer: unknown;
  try {
    inspectSafetensorsBuffer(buf);
  } catch (e) {
    fromBuffer = e;
  }
  const path = join(dir, `${name}.safetensors`);
  await writeFile(path, buf);
  const fromFile = await inspectSafetensorsFile(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(fromBuffer).toBeInstanceOf(LoraloopError);
  expect(fromFile).toBeInstanceOf(LoraloopError);
  const a = fromBuffer as LoraloopError;
  const b = fromFile as LoraloopError;
  expect(a.code).toBe('BAD_SAFETENSORS');
  expect(b.code).toBe('BAD_SAFETENSORS');
  expect(b.message).toBe(a.message);
  expect(a.hint).toBeTruthy();
  expect(a.category).toBe('user');
  return a;
}

describe('malformed safetensors are refused with a precise BAD_SAFETENSORS error', () => {
  const cases: Array<[keyof typeof malformedSafetensors, RegExp]> = [
    ['tooShort', /3 bytes long/],
    ['truncated', /past the end of the file|truncated/],
    ['headerLengthPastEnd', /runs past the end of the file/],
    ['headerLengthOver100MB', /100000001 bytes, over the 100,000,000-byte limit/],
    ['headerLengthHuge', /18446744073709551615 bytes/],
    ['overlappingOffsets', /"a\.lora_down\.weight" and "a\.lora_up\.weight" overlap/],
    ['gapInOffsets', /Gap in the data section: bytes 16\.\.24/],
    ['offsetsPastEnd', /"a\.lora_up\.weight" ends at data byte 32, past the end of the file/],
    ['trailingBytes', /4 bytes after the last tensor/],
    ['spanMismatch', /spans 12 bytes, but F16 \[2,4\] needs 16 bytes/],
    ['unknownDtype', /unknown dtype "F12"/],
    ['headerArray', /does not start with '\{' \(first byte is 0x5b\)/],
    ['headerLeadingSpace', /does not start with '\{' \(first byte is 0x20\)/],
    ['headerNotJson', /not valid JSON/],
    ['nonStringMetadata', /__metadata__ value for "ss_network_dim" is a number/],
    ['duplicateKeys', /"a\.lora_down\.weight" more than once/],
  ];
  for (const [name, message] of cases) {
    it(name, async () => {
      const err = await refusal(malformedSafetensors[name](), name);
      expect(err.message).toMatch(message);
    });
  }

  it('refuses an unterminated object and a JSON string header', async () => {
    const err = await refusal(buildRawSafetensors('{}').fill(0x20, 8).fill(0x7b, 8, 9), 'brace-only');
    expect(err.message).toMatch(/not valid JSON/);
    const str = await refusal(buildRawSafetensors('"x"'), 'string-header');
    expect(str.message).toMatch(/does not start with '\{'/);
  });

  it('refuses a __metadata__ that is not an object, and tensor entries with bad fields', async () => {
    const meta = await refusal(buildRawSafetensors(JSON.stringify({ __metadata__: ['a'] })), 'meta-array');
    expect(meta.message).toMatch(/__metadata__ is an array/);
    const shape = await refusal(
      buildRawSafetensors(JSON.stringify({ t: { dtype: 'F16', shape: [2, -1], data_offsets: [0, 0] } })),
      'neg-shape',
    );
    expect(shape.message).toMatch(/invalid shape \[2,-1\]/);
    const offsets = await refusal(buildRawSafetensors(JSON.stringify({ t: { dtype: 'F16', shape: [1], data_offsets: [2] } })), 'bad-offsets');
    expect(offsets.message).toMatch(/invalid data_offsets \[2\]/);
  });

  it('does not treat a dtype named like an Object.prototype member as known', async () => {
    const err = await refusal(
      buildRawSafetensors(JSON.stringify({ t: { dtype: 'constructor', shape: [1], data_offsets: [0, 1] } }), Buffer.alloc(1)),
      'proto-dtype',
    );
    expect(err.message).toMatch(/unknown dtype "constructor"/);
  });
});

describe('valid layouts the format allows', () => {
  it('accepts out-of-order offsets, zero-size tensors, null metadata and space padding', () => {
    const header = JSON.stringify({
      __metadata__: null,
      'b.lora_up.weight': { dtype: 'F32', shape: [3, 1], data_offsets: [4, 16] },
      'b.lora_down.weight': { dtype: 'F32', shape: [1, 3], data_offsets: [16, 28] },
      empty: { dtype: 'F16', shape: [0, 4], data_offsets: [0, 0] },
      'b.alpha': { dtype: 'F32', shape: [], data_offsets: [0, 4] },
    });
    const buf = buildRawSafetensors(header, Buffer.concat([Buffer.from([0, 0, 0x80, 0x3f]), Buffer.alloc(24)]));
    const r = inspectSafetensorsBuffer(buf);
    expect(r.tensors.count).toBe(4);
    expect(r.alpha).toBe(1);
    expect(r.rank).toBe(1);
    expect(r.metadata).toEqual({});
    expect(r.header_bytes % 8).toBe(0);
  });

  it('keeps a "__proto__" metadata key as data', () => {
    const buf = buildRawSafetensors('{"__metadata__":{"__proto__":"x","a":"b"}}');
    const r = inspectSafetensorsBuffer(buf);
    expect(Object.keys(r.metadata).sort()).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(r.metadata)).toBe(Object.prototype);
  });

  it('inspects a 3 GiB file from its header alone (the data is never loaded)', async () => {
    // 3 GiB is past the 2 GiB that fs.readFile can load, so success proves a header-only read.
    const size = 3 * 1024 ** 3;
    const header = JSON.stringify({
      'x.lora_down.weight': { dtype: 'U8', shape: [1, size - 4], data_offsets: [0, size - 4] },
      'x.lora_up.weight': { dtype: 'U8', shape: [4, 1], data_offsets: [size - 4, size] },
    });
    const head = buildRawSafetensors(header);
    const path = join(dir, 'huge.safetensors');
    const fh = await open(path, 'w');
    await fh.write(head, 0, head.length, 0);
    await fh.truncate(head.length + size); // sparse: no disk space used
    await fh.close();
    const r = await inspectSafetensorsFile(path);
    expect(r.file_bytes).toBe(head.length + size);
    expect(r.tensors.total_bytes).toBe(size);
  });

  it('reports a missing file as NOT_FOUND and a directory as INVALID_INPUT', async () => {
    await expect(inspectSafetensorsFile(join(dir, 'nope.safetensors'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(inspectSafetensorsFile(dir)).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/not a regular file/) });
  });

  it('round-trips the writer: offsets tile the data section and bytes come back', () => {
    const data = Buffer.from([1, 2, 3, 4]);
    const buf = buildSafetensors([{ name: 'w', dtype: 'U8', shape: [2, 2], data }], { k: 'v' });
    const r = inspectSafetensorsBuffer(buf);
    expect(r.metadata).toEqual({ k: 'v' });
    expect(buf.subarray(buf.length - 4)).toEqual(data);
    expect(r.format).toBe('unknown');
  });
});
