/**
 * Server A's edge, as Hono's `onError`: the one table from the typed errors its HTTP routes throw
 * (`DomainError` from the ledger, `HttpError` from the guards) to JSON answers. Tool failures
 * never get here: the tools answer them as MCP tool errors (`isError: true`).
 * @module
 */
import { DomainError, type DomainErrorKind, type ErrorCode, HttpError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { errorResponse } from "../http/respond.ts";

const statusOf: Record<DomainErrorKind, [number, ErrorCode]> = {
  invalid_input: [400, "invalid_request"],
  not_found: [404, "not_found"],
  unavailable: [503, "unavailable"],
};

/** Server A's `onError`: the JSON answer of any error; an unknown one is logged and answered 500. */
export function onError(error: unknown, log: Logger): Response {
  if (!(error instanceof DomainError)) return errorResponse(error, log);
  const [status, code] = statusOf[error.kind];
  const seconds = error.options.retryAfterSeconds;
  const headers: Record<string, string> = seconds === undefined
    ? {}
    : { "retry-after": `${seconds}` };
  return new HttpError(status, code, error.message, headers).toResponse();
}
