/**
 * The one edge where any thrown value becomes an HTTP answer, and the 405 every route shares.
 * @module
 */
import { describeError, HttpError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";

/**
 * The edge where any thrown value becomes an HTTP answer: an {@linkcode HttpError} answers as
 * itself, anything else as 500 without internals.
 */
export function errorResponse(error: unknown, log?: Logger): Response {
  if (error instanceof HttpError) return error.toResponse();
  log?.error("unhandled error", { error: describeError(error) });
  return new HttpError(500, "internal", "Internal server error").toResponse();
}

/** 405 with the `Allow` header. */
export function methodNotAllowed(allow: string[]): HttpError {
  return new HttpError(405, "method_not_allowed", `Method not allowed; use ${allow.join(", ")}`, {
    allow: allow.join(", "),
  });
}
