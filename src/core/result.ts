/**
 * CommandResult is what every tool returns and every face renders:
 * `data` for programs (MCP structuredContent, `--json`), `reasoning` for people and models.
 */
export interface CommandResult<T = unknown> {
  success: boolean;
  data: T;
  reasoning: string;
  /** Files a face may show (MCP image content, Slack uploads). Not part of `data`. */
  artifacts?: Artifact[];
}

export interface Artifact {
  kind: 'image';
  path: string;
  mime_type: string;
}

/** The `data` of a failed CommandResult. */
export interface FailureData {
  error: { code: string; category: string; message: string; hint?: string };
  [key: string]: unknown;
}

export function ok<T>(data: T, reasoning: string, artifacts?: Artifact[]): CommandResult<T> {
  return artifacts ? { success: true, data, reasoning, artifacts } : { success: true, data, reasoning };
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
