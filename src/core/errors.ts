/**
 * Typed errors. Every error loraloop raises carries a stable `code` (for scripts and tests),
 * a `category` (whose fault it is: the user's input, our system, or a third-party service),
 * and optionally a `hint` that says what to do next.
 */
export type ErrorCategory = 'user' | 'system' | 'third-party';

/** Stable error codes. Add new ones here so they stay unique and greppable. */
export const ErrorCodes = {
  // user input
  INVALID_INPUT: 'INVALID_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  PATH_NOT_ALLOWED: 'PATH_NOT_ALLOWED',
  URL_NOT_ALLOWED: 'URL_NOT_ALLOWED',
  UNSUPPORTED_IMAGE: 'UNSUPPORTED_IMAGE',
  IMAGE_TOO_LARGE: 'IMAGE_TOO_LARGE',
  DUPLICATE_IMAGE: 'DUPLICATE_IMAGE',
  BAD_SAFETENSORS: 'BAD_SAFETENSORS',
  UNKNOWN_TOOL: 'UNKNOWN_TOOL',
  USAGE: 'USAGE',
  // configuration
  CONFIG_INVALID: 'CONFIG_INVALID',
  NOT_CONFIGURED: 'NOT_CONFIGURED',
  // system
  STORE_ERROR: 'STORE_ERROR',
  INTERNAL: 'INTERNAL',
  TIMEOUT: 'TIMEOUT',
  CANCELED: 'CANCELED',
  LEASE_HELD: 'LEASE_HELD',
  // third party
  UPSTREAM_ERROR: 'UPSTREAM_ERROR',
  UPSTREAM_RATE_LIMITED: 'UPSTREAM_RATE_LIMITED',
  UPSTREAM_UNREACHABLE: 'UPSTREAM_UNREACHABLE',
  JOB_FAILED: 'JOB_FAILED',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes] | (string & {});

export interface LoraloopErrorOptions {
  category?: ErrorCategory;
  hint?: string;
  cause?: unknown;
  /** Extra machine-readable facts (never secrets). */
  details?: Record<string, unknown>;
}

const defaultCategory: Record<string, ErrorCategory> = {
  STORE_ERROR: 'system',
  INTERNAL: 'system',
  TIMEOUT: 'system',
  CANCELED: 'system',
  LEASE_HELD: 'system',
  CONFIG_INVALID: 'user',
  NOT_CONFIGURED: 'user',
  UPSTREAM_ERROR: 'third-party',
  UPSTREAM_RATE_LIMITED: 'third-party',
  UPSTREAM_UNREACHABLE: 'third-party',
  JOB_FAILED: 'third-party',
};

export class LoraloopError extends Error {
  readonly code: ErrorCode;
  readonly category: ErrorCategory;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: LoraloopErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LoraloopError';
    this.code = code;
    this.category = options.category ?? defaultCategory[code] ?? 'user';
    this.hint = options.hint;
    this.details = options.details;
  }

  /** One sentence a person or a model can act on: what went wrong, then what to do. */
  toSentence(): string {
    return this.hint ? `${this.message} ${this.hint}` : this.message;
  }
}

export function isLoraloopError(e: unknown): e is LoraloopError {
  return e instanceof LoraloopError;
}
