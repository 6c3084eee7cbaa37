import type { ErrorCategory } from './errors.js';

/**
 * CommandResult is what every tool returns and every face renders. A success carries `data` for programs
 * (MCP structuredContent, `--json`); a failure carries `error` instead. Both carry `reasoning` for people
 * and models. Narrow on `success` before reading either.
 */
export type CommandResult<T = unknown> = Success<T> | Failure;

export interface Success<T> {
  success: true;
  data: T;
  reasoning: string;
  /** Files a face may show or link (MCP image content and resource links, Slack uploads). Not part of `data`. */
  artifacts?: Artifact[];
  /** The next step a person or model should take, when there is an obvious one (also in `reasoning`). */
  next?: string;
}

export interface Failure {
  success: false;
  error: ResultError;
  reasoning: string;
}

/** Why a tool failed: a LoraloopError's code, category, sentence and hint. */
export interface ResultError {
  code: string;
  category: ErrorCategory;
  message: string;
  hint?: string;
}

/**
 * A file a tool made or named. `image` artifacts get an inline preview where a face can show one; every
 * artifact gets a `loraloop://` URI and, on the HTTP face, a signed download URL.
 */
export interface Artifact {
  kind: 'image' | 'file';
  /** The file; for a stored blob, the path its writer recorded (that host's), which other hosts do not read. */
  path: string;
  mime_type: string;
  /** Short label for clients (defaults to the file name). */
  title?: string;
  /** Set when the file is a stored blob (a cover, a LoRA file): every host reads it by this hash, not by `path`. */
  sha256?: string;
}

export function ok<T>(data: T, reasoning: string, artifacts?: Artifact[], next?: string): Success<T> {
  const r: Success<T> = { success: true, data, reasoning };
  if (artifacts?.length) r.artifacts = artifacts;
  if (next) r.next = next;
  return r;
}

export function failure(code: string, message: string, options: { category?: ErrorCategory; hint?: string } = {}): Failure {
  const error: ResultError = { code, category: options.category ?? 'user', message };
  if (options.hint) error.hint = options.hint;
  return { success: false, error, reasoning: options.hint ? `${message} ${options.hint}` : message };
}

/**
 * What `data` is on the wire (CLI `--json`, the agent's tool messages, stored call jobs): a failure's error
 * travels as `data.error`, so scripts read one shape for both outcomes.
 */
export function wireData(r: CommandResult): unknown {
  return r.success ? r.data : { error: r.error };
}
