import { wireData, type CommandResult } from '../../core/result.js';
import type { ProgressUpdate } from '../../tools/types.js';
import type { CliIo } from './io.js';

/** Exit codes: 0 success, 1 the tool failed, 2 bad usage. */
export const EXIT_OK = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;

const USAGE_CODES = new Set(['INVALID_INPUT', 'UNKNOWN_TOOL', 'USAGE', 'CONFIG_INVALID']);

export function exitCodeFor(result: CommandResult): number {
  if (result.success) return EXIT_OK;
  return USAGE_CODES.has(result.error.code) ? EXIT_USAGE : EXIT_FAIL;
}

/** Print a result for people (reasoning, then the files) or for scripts (--json). */
export function printResult(io: CliIo, result: CommandResult, json: boolean): void {
  if (json) {
    io.stdout(JSON.stringify({ success: result.success, data: wireData(result), reasoning: result.reasoning }, null, 2) + '\n');
    return;
  }
  if (!result.success) {
    io.stderr(`error: ${result.reasoning}\n`);
    return;
  }
  io.stdout(result.reasoning + '\n');
  const data = result.data as Record<string, unknown>;
  for (const key of ['path', 'out_path', 'report_path', 'contact_sheet', 'bundle_path']) {
    const v = data[key];
    if (typeof v === 'string' && v) io.stdout(`${key.replace(/_/g, ' ')}: ${v}\n`);
  }
}

/** A one-line progress bar on stderr, redrawn in place on a terminal, silent otherwise. */
export function progressPrinter(io: CliIo): { update(p: ProgressUpdate): void; done(): void } {
  let drawn = false;
  return {
    update(p) {
      if (!io.isTty) return;
      const frac = p.total ? Math.max(0, Math.min(1, p.progress / p.total)) : undefined;
      const width = 24;
      const bar = frac === undefined ? '' : '[' + '#'.repeat(Math.round(frac * width)).padEnd(width, '.') + '] ';
      const pct = frac === undefined ? '' : `${Math.round(frac * 100)}% `;
      io.stderr(`\r\x1b[2K${bar}${pct}${p.message ?? ''}`);
      drawn = true;
    },
    done() {
      if (drawn) io.stderr('\r\x1b[2K');
      drawn = false;
    },
  };
}
