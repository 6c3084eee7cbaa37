import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { looksTruncated } from '../../src/image/decode.js';

const FIXTURES = new URL('../../../shared/fixtures/images/', import.meta.url).pathname;

describe('looksTruncated (names a cut-short file without relying on the decoder message)', () => {
  it('flags the truncated fixtures and none of the whole ones', () => {
    const flagged = readdirSync(FIXTURES)
      .filter((f) => /\.(jpe?g|png|webp|gif)$/i.test(f))
      .filter((f) => looksTruncated(readFileSync(join(FIXTURES, f))));
    // corrupt-header.jpg has no end either, but it is refused earlier, at the header.
    expect(flagged.sort()).toEqual(['corrupt-header.jpg', 'truncated.jpg', 'truncated.png']);
  });
});
