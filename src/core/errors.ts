/**
 * Typed errors, raised where a failure arises and turned into an exit code, an HTTP answer or an
 * MCP tool error at the edge (`src/main.ts`, each server's `_errors.ts` table, `src/http/respond.ts`
 * for the HTTP layer's own errors, the MCP tool wrappers).
 * @module
 */

/** A bad command line: unknown subcommand or flag. The CLI exits with code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A setting that failed validation at start-up. The CLI exits with code 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Machine-readable error codes shared by both servers' JSON error bodies. */
export type ErrorCode =
  | "invalid_json"
  | "invalid_request"
  | "payload_too_large"
  | "not_found"
  | "method_not_allowed"
  | "not_acceptable"
  | "unsupported_media_type"
  | "unauthorized"
  | "forbidden"
  | "rate_limited"
  | "request_timeout"
  | "too_many_connections"
  | "unavailable"
  | "provider_auth"
  | "provider_rate_limit"
  | "provider_quota"
  | "provider_bad_request"
  | "provider_unavailable"
  | "provider_timeout"
  | "provider_error"
  | "internal";

/** What an error body tells a caller about sending the request again. */
export interface RetryAdvice {
  /**
   * Whether sending the same request again may succeed without costing more than this attempt
   * did. Default: true for 503 and for 429 with `Retry-After`, false otherwise.
   */
  retryable?: boolean;
  /** Provider calls Server B made for this request, retries included. */
  attempts?: number;
}

/**
 * An error that knows the HTTP status and the JSON body it becomes.
 * @example
 * ```ts
 * throw new HttpError(400, "invalid_request", '"message" must be a non-empty string');
 * ```
 */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly advice: RetryAdvice = {},
  ) {
    super(message);
  }

  /** Whether a caller may send the request again (see {@linkcode RetryAdvice.retryable}). */
  get retryable(): boolean {
    return this.advice.retryable ??
      (this.status === 503 || (this.status === 429 && "retry-after" in this.headers));
  }

  /** The body `{error: {code, message, retryable, attempts?}}`, also sent as a stream's error event. */
  body(): { error: { code: ErrorCode; message: string; retryable: boolean; attempts?: number } } {
    const { attempts } = this.advice;
    return {
      error: {
        code: this.code,
        message: this.message,
        retryable: this.retryable,
        ...(attempts !== undefined ? { attempts } : {}),
      },
    };
  }

  /** The JSON answer {@linkcode HttpError.body} with this error's status and headers. */
  toResponse(): Response {
    return Response.json(this.body(), { status: this.status, headers: this.headers });
  }
}

/** What kind of failure a {@linkcode DomainError} is; each server's edge maps kinds to answers. */
export type DomainErrorKind = "invalid_input" | "not_found" | "unavailable";

/**
 * A failure raised by domain or storage code, free of HTTP: its public `kind` decides the HTTP
 * status or MCP tool error at the edge.
 * @example
 * ```ts
 * throw new DomainError("unavailable", "the ledger cannot record", { retryAfterSeconds: 1 });
 * ```
 */
export class DomainError extends Error {
  override name = "DomainError";
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    readonly options: { retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
  }
}

/** The ledger database cannot be opened or used at start-up. The CLI exits with code 1. */
export class StorageError extends Error {
  override name = "StorageError";
}

/** What went wrong with an AI provider call; decides retrying and the HTTP status. */
export type ProviderErrorKind =
  | "auth"
  | "rate_limit"
  | "quota"
  | "bad_request"
  | "unavailable"
  | "timeout"
  | "other";

/** A failed provider call. The message never contains a credential. */
export class ProviderError extends Error {
  override name = "ProviderError";
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    readonly options: { retryAfterMs?: number; cause?: unknown; attempts?: number } = {},
  ) {
    super(message, { cause: options.cause });
  }

  /** Whether a later attempt may succeed. */
  get retryable(): boolean {
    return this.kind === "rate_limit" || this.kind === "unavailable" || this.kind === "timeout";
  }

  /** This error, noting that Server B made `attempts` provider calls before giving up. */
  afterAttempts(attempts: number): ProviderError {
    return new ProviderError(this.kind, this.message, { ...this.options, attempts });
  }
}

/** Server A could not get an answer from Server B; the message names Server B's URL. */
export class UpstreamError extends Error {
  override name = "UpstreamError";
  constructor(message: string, readonly options: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
  }
}

/** A short, secret-free description of any thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
