import type { CommandResult, ResultError } from '../../src/core/result.js';

/** The data of a result that must have succeeded; a failure fails the test with the tool's own sentence. */
export function dataOf<T>(r: CommandResult<T>): T;
export function dataOf<T>(r: CommandResult): T;
export function dataOf<T>(r: CommandResult<T>): T {
  if (!r.success) throw new Error(`expected success, got ${r.error.code}: ${r.reasoning}`);
  return r.data;
}

/** The error of a result that must have failed; a success fails the test. */
export function errorOf(r: CommandResult): ResultError {
  if (r.success) throw new Error(`expected a failure, got success: ${r.reasoning}`);
  return r.error;
}
