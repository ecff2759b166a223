/**
 * The one edge where any thrown value becomes an HTTP answer, and the 405 every route shares.
 * @module
 */
import {
  describeError,
  DomainError,
  type DomainErrorKind,
  type ErrorCode,
  HttpError,
  type Logger,
} from "../core/mod.ts";

const domainAnswers: Record<DomainErrorKind, [number, ErrorCode]> = {
  invalid_input: [400, "invalid_request"],
  not_found: [404, "not_found"],
  unavailable: [503, "unavailable"],
};

/**
 * The HTTP form of a {@linkcode DomainError}: its kind decides the status and code, and
 * `retryAfterSeconds` becomes `Retry-After` (an "unavailable" with one is retryable).
 * @example
 * ```ts
 * domainAnswer(new DomainError("unavailable", "disk full", { retryAfterSeconds: 1 })).status; // 503
 * ```
 */
export function domainAnswer(error: DomainError): HttpError {
  const [status, code] = domainAnswers[error.kind];
  const seconds = error.options.retryAfterSeconds;
  const headers: Record<string, string> = seconds === undefined
    ? {}
    : { "retry-after": String(seconds) };
  return new HttpError(status, code, error.message, headers);
}

/**
 * The edge where any thrown value becomes an HTTP answer: an {@linkcode HttpError} answers as
 * itself, a {@linkcode DomainError} by its kind, anything else as 500 without internals.
 */
export function errorResponse(error: unknown, log?: Logger): Response {
  if (error instanceof HttpError) return error.toResponse();
  if (error instanceof DomainError) return domainAnswer(error).toResponse();
  log?.error("unhandled error", { error: describeError(error) });
  return new HttpError(500, "internal", "Internal server error").toResponse();
}

/** 405 with the `Allow` header. */
export function methodNotAllowed(allow: string[]): HttpError {
  return new HttpError(405, "method_not_allowed", `Method not allowed; use ${allow.join(", ")}`, {
    allow: allow.join(", "),
  });
}
