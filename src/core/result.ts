/**
 * CommandResult is what every tool returns and every face renders:
 * `data` for programs (MCP structuredContent, `--json`), `reasoning` for people and models.
 */
export interface CommandResult<T = unknown> {
  success: boolean;
  data: T;
  reasoning: string;
  /** Files a face may show or link (MCP image content and resource links, Slack uploads). Not part of `data`. */
  artifacts?: Artifact[];
  /** The next step a person or model should take, when there is an obvious one (also in `reasoning`). */
  next?: string;
}

/**
 * A file a tool made or named. `image` artifacts get an inline preview where a face can show one; every
 * artifact gets a `loraloop://` URI and, on the HTTP face, a signed download URL.
 */
export interface Artifact {
  kind: 'image' | 'file';
  path: string;
  mime_type: string;
  /** Short label for clients (defaults to the file name). */
  title?: string;
}

/** The `data` of a failed CommandResult. */
export interface FailureData {
  error: { code: string; category: string; message: string; hint?: string };
  [key: string]: unknown;
}

export function ok<T>(data: T, reasoning: string, artifacts?: Artifact[], next?: string): CommandResult<T> {
  const r: CommandResult<T> = { success: true, data, reasoning };
  if (artifacts?.length) r.artifacts = artifacts;
  if (next) r.next = next;
  return r;
}

export function failure(
  code: string,
  message: string,
  options: { category?: string; hint?: string; extra?: Record<string, unknown> } = {},
): CommandResult<FailureData> {
  const error: FailureData['error'] = { code, category: options.category ?? 'user', message };
  if (options.hint) error.hint = options.hint;
  return {
    success: false,
    data: { ...(options.extra ?? {}), error },
    reasoning: options.hint ? `${message} ${options.hint}` : message,
  };
}
