import { mkdtemp, mkdir, writeFile, symlink, rm, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPathGuard } from '../../src/core/paths.js';
import { LoraloopError } from '../../src/core/errors.js';

let base: string;
let rootA: string;
let rootB: string;
let outside: string;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return e instanceof LoraloopError ? e.code : `other: ${String(e)}`;
  }
}

beforeAll(async () => {
  base = await realpath(await mkdtemp(path.join(tmpdir(), 'loraloop-paths-')));
  rootA = path.join(base, 'a');
  rootB = path.join(base, 'b');
  outside = path.join(base, 'secret');
  await mkdir(path.join(rootA, 'photos'), { recursive: true });
  await mkdir(rootB);
  await mkdir(outside);
  await writeFile(path.join(rootA, 'photos', 'cat.jpg'), 'x');
  await writeFile(path.join(rootB, 'dog.png'), 'x');
  await writeFile(path.join(outside, 'passwd'), 'x');
  await symlink(path.join(outside, 'passwd'), path.join(rootA, 'link-out.jpg'));
  await symlink(path.join(rootB, 'dog.png'), path.join(rootA, 'link-in.png'));
  await symlink(outside, path.join(rootA, 'dir-out'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('createPathGuard', () => {
  it('resolves relative paths against the first root and absolute paths in any root', async () => {
    const g = createPathGuard([rootA, rootB]);
    expect(await g.resolve('photos/cat.jpg')).toBe(path.join(rootA, 'photos', 'cat.jpg'));
    expect(await g.resolve(path.join(rootB, 'dog.png'))).toBe(path.join(rootB, 'dog.png'));
    expect(g.roots).toEqual([rootA, rootB]);
  });

  it('refuses .. escapes with a message naming the roots and what to do', async () => {
    const g = createPathGuard([rootA]);
    const err = await g.resolve('../secret/passwd').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoraloopError);
    const le = err as LoraloopError;
    expect(le.code).toBe('PATH_NOT_ALLOWED');
    expect(le.message).toBe(`../secret/passwd is outside the allowed folders (${rootA})`);
    expect(le.hint).toContain('LORALOOP_ALLOWED_ROOTS');
    expect(await codeOf(g.resolve('/etc/passwd'))).toBe('PATH_NOT_ALLOWED');
    expect(await codeOf(g.resolve('photos/../../secret/passwd'))).toBe('PATH_NOT_ALLOWED');
  });

  it('refuses symlinks whose target is outside, accepts ones pointing into another root', async () => {
    const g = createPathGuard([rootA, rootB]);
    expect(await codeOf(g.resolve('link-out.jpg'))).toBe('PATH_NOT_ALLOWED');
    expect(await codeOf(g.resolve('dir-out/passwd'))).toBe('PATH_NOT_ALLOWED');
    expect(await g.resolve('link-in.png')).toBe(path.join(rootB, 'dog.png'));
    // Only root A allowed: the link into B is now outside.
    expect(await codeOf(createPathGuard([rootA]).resolve('link-in.png'))).toBe('PATH_NOT_ALLOWED');
  });

  it('says NOT_FOUND for a missing file inside a root', async () => {
    const g = createPathGuard([rootA]);
    const err = (await g.resolve('photos/nope.jpg').catch((e: unknown) => e)) as LoraloopError;
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain('photos/nope.jpg');
  });

  it('for writes, checks the real parent folder: new files inside pass, writes through an outside link fail', async () => {
    const g = createPathGuard([rootA]);
    expect(await g.resolve('exports/new/bundle.zip', { forWrite: true })).toBe(
      path.join(rootA, 'exports', 'new', 'bundle.zip'),
    );
    expect(await codeOf(g.resolve('dir-out/new.txt', { forWrite: true }))).toBe('PATH_NOT_ALLOWED');
    expect(await codeOf(g.resolve('link-out.jpg', { forWrite: true }))).toBe('PATH_NOT_ALLOWED');
    expect(await codeOf(g.resolve('missing.txt', { forWrite: true, mustExist: true }))).toBe('NOT_FOUND');
  });

  it('refuses empty paths and refuses to be built without roots', async () => {
    expect(await codeOf(createPathGuard([rootA]).resolve(''))).toBe('INVALID_INPUT');
    expect(() => createPathGuard([])).toThrow(LoraloopError);
  });
});
