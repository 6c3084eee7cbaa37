/** The CLI's per-command guard: only the exact strings a person typed skip the allowed-roots rule. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPathGuard, expandHome, trustTypedPaths } from '../../src/core/paths.js';

const base = mkdtempSync(join(tmpdir(), 'typed-paths-'));
const roots = join(base, 'roots');
const cwd = join(base, 'cwd');
const home = join(base, 'home');
for (const d of [roots, cwd, home]) mkdirSync(d);
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('trustTypedPaths', () => {
  const guard = trustTypedPaths(createPathGuard([roots]), { paths: ['~/x.png', 'rel/y.png', '/etc/hostname'], cwd, home });

  it('resolves typed paths from the working folder with ~ expanded, outside the roots', async () => {
    expect(await guard.resolve('~/x.png', { forWrite: true })).toBe(join(home, 'x.png'));
    expect(await guard.resolve('rel/y.png', { forWrite: true })).toBe(join(cwd, 'rel', 'y.png'));
    expect(expandHome('~', home)).toBe(home);
    expect(expandHome('a/~/b', home)).toBe('a/~/b');
  });

  it('still refuses any other path outside the roots, and reads need the file', async () => {
    await expect(guard.resolve(join(home, 'other.png'), { forWrite: true })).rejects.toMatchObject({ code: 'PATH_NOT_ALLOWED' });
    await expect(guard.resolve('~/x.png')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // Relative paths that were not typed keep resolving against the first root.
    expect(await guard.resolve('z.png', { forWrite: true })).toBe(join(roots, 'z.png'));
  });
});
