/**
 * Allowed-roots guard: every file path a user or a model hands to a tool goes through here, so a tool can
 * only read (or write) inside the folders the operator allowed (`LORALOOP_ALLOWED_ROOTS`).
 *
 * Rules:
 * - A relative path is resolved against the FIRST root (the "home" folder for relative names), never
 *   against the process working directory, so the answer does not depend on where the server was started.
 * - `..` escapes are refused after normalisation (lexical check).
 * - Symlinks are followed with realpath and the real target must be inside a (realpath'd) root too;
 *   for writes the parent directory (or its nearest existing ancestor) is realpath'd, and an existing
 *   file that is a symlink must also point inside, so a write cannot land outside through a link.
 * - The returned path is the real, absolute path; callers should use it (not the user's string) so the
 *   check and the use refer to the same file.
 */
import { realpath, lstat } from 'node:fs/promises';
import path from 'node:path';
import { LoraloopError } from './errors.js';

/** Options for {@link PathGuard.resolve}. */
export interface ResolveOptions {
  /** The file must exist (default: true for reads, false when `forWrite`). Missing: NOT_FOUND. */
  mustExist?: boolean;
  /** The caller will create or overwrite the file: check the parent folder's real location. */
  forWrite?: boolean;
}

/** A guard over a fixed list of allowed folders. */
export interface PathGuard {
  /** Resolve a user-given path to a real absolute path inside the roots, or throw PATH_NOT_ALLOWED / NOT_FOUND. */
  resolve(userPath: string, opts?: ResolveOptions): Promise<string>;
  /** The allowed folders as given (absolute, normalised), first one is the base for relative paths. */
  roots: string[];
}

const HINT = 'Move the file under one of them or add its folder to LORALOOP_ALLOWED_ROOTS (":"-separated).';

/** True when `child` is `parent` or lies below it (both absolute and normalised). */
function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Create a guard. Roots are made absolute (relative roots against the process cwd, as a PATH-like
 * variable would be read). Their real paths are computed lazily on first use, so creating a guard does no I/O.
 */
export function createPathGuard(roots: string[]): PathGuard {
  const cleaned = roots.filter((r) => r.trim() !== '').map((r) => path.resolve(r));
  if (cleaned.length === 0) {
    throw new LoraloopError('CONFIG_INVALID', 'No allowed folders were configured.', {
      hint: 'Set LORALOOP_ALLOWED_ROOTS to one or more folders (":"-separated).',
    });
  }
  let realRoots: Promise<string[]> | undefined;
  // A root that does not exist (yet) still counts with its lexical path.
  const getRealRoots = (): Promise<string[]> =>
    (realRoots ??= Promise.all(cleaned.map((r) => realpath(r).catch(() => r))));

  const refuse = (userPath: string): LoraloopError =>
    new LoraloopError('PATH_NOT_ALLOWED', `${userPath} is outside the allowed folders (${cleaned.join(', ')})`, {
      hint: HINT,
      details: { path: userPath, roots: cleaned },
    });

  const checkReal = async (userPath: string, real: string): Promise<void> => {
    const rr = await getRealRoots();
    if (!rr.some((r) => isInside(r, real))) throw refuse(userPath);
  };

  /** Realpath of the nearest existing ancestor of `abs`, with the missing tail appended. */
  const realOfNearest = async (abs: string): Promise<string> => {
    const tail: string[] = [];
    let cur = abs;
    for (;;) {
      try {
        const real = await realpath(cur);
        return tail.length ? path.join(real, ...tail.reverse()) : real;
      } catch (e) {
        if (!isMissing(e)) throw e;
        const parent = path.dirname(cur);
        if (parent === cur) return abs;
        tail.push(path.basename(cur));
        cur = parent;
      }
    }
  };

  async function resolve(userPath: string, opts: ResolveOptions = {}): Promise<string> {
    if (typeof userPath !== 'string' || userPath.trim() === '' || userPath.includes('\0')) {
      throw new LoraloopError('INVALID_INPUT', 'The path is empty or contains a NUL byte.', {
        hint: 'Give a file path inside one of the allowed folders.',
      });
    }
    const forWrite = opts.forWrite ?? false;
    const mustExist = opts.mustExist ?? !forWrite;
    const base = cleaned[0] as string;
    const abs = path.resolve(base, userPath);
    // Lexical check first: refuses `../../etc/passwd` without touching the disk.
    if (!cleaned.some((r) => isInside(r, abs))) throw refuse(userPath);

    let exists = true;
    try {
      await lstat(abs);
    } catch (e) {
      if (!isMissing(e)) throw e;
      exists = false;
    }

    if (exists) {
      // Follows every symlink on the way, the final one included.
      let real: string;
      try {
        real = await realpath(abs);
      } catch (e) {
        if (!isMissing(e)) throw e;
        // A dangling symlink: where would a write go? Refuse rather than guess.
        throw new LoraloopError('NOT_FOUND', `${userPath} is a link to a file that does not exist.`, {
          hint: 'Point it at an existing file inside the allowed folders, or give the real path.',
        });
      }
      await checkReal(userPath, real);
      return real;
    }

    if (mustExist) {
      throw new LoraloopError('NOT_FOUND', `${userPath} does not exist.`, {
        hint: `Check the spelling; relative paths are read from ${base}.`,
        details: { path: userPath, resolved: abs },
      });
    }
    // Not there yet (a write target): the real location is decided by its parent folders.
    const real = await realOfNearest(abs);
    await checkReal(userPath, real);
    return real;
  }

  return { resolve, roots: cleaned };
}

/** Paths a person typed on the command line, and where they typed them. */
export interface TypedPaths {
  /** The strings exactly as typed (after the shell), e.g. `~/Desktop/x.png` or `out/cover.png`. */
  paths: readonly string[];
  /** The folder the command ran in: relative typed paths are theirs to mean from here. */
  cwd: string;
  /** The user's home folder, for `~`. */
  home: string;
}

/** `~` and `~/...` expanded against `home` (the shell does it for unquoted words, but not after `--out=`). */
export function expandHome(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

/**
 * A guard for one command typed by a person at the CLI: the paths they typed themselves are their own
 * permission (they could write there with any other program), so those resolve like any command-line tool's
 * (against their working folder, `~` expanded) without the allowed-roots check. Every other path (from a
 * model, a remote caller, a file the tool reads) still goes through `base`. Only the CLI face builds one;
 * MCP, Slack, the agent and the nightly run never do, so the roots rule stays for them.
 */
export function trustTypedPaths(base: PathGuard, typed: TypedPaths): PathGuard {
  const own = new Set(typed.paths);
  async function resolveTyped(userPath: string, opts: ResolveOptions = {}): Promise<string> {
    if (!own.has(userPath) || userPath.trim() === '' || userPath.includes('\0')) return base.resolve(userPath, opts);
    const forWrite = opts.forWrite ?? false;
    const mustExist = opts.mustExist ?? !forWrite;
    const abs = path.resolve(typed.cwd, expandHome(userPath, typed.home));
    try {
      return await realpath(abs);
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
    if (mustExist) {
      throw new LoraloopError('NOT_FOUND', `${userPath} does not exist.`, { hint: `Check the spelling; it was read from ${typed.cwd}.`, details: { path: userPath, resolved: abs } });
    }
    const parent = await realpath(path.dirname(abs)).catch(() => path.dirname(abs));
    return path.join(parent, path.basename(abs));
  }
  return { resolve: resolveTyped, roots: base.roots };
}
