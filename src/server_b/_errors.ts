/**
 * Server B's edge, as Hono's `onError`: the one table from the typed errors its code throws
 * (`DomainError`, `ProviderError`, `HttpError`) to HTTP answers and stream error events.
 * @module
 */
import {
  describeError,
  DomainError,
  type ErrorCode,
  HttpError,
  type Logger,
  ProviderError,
  type ProviderErrorKind,
} from "../core/mod.ts";
import { domainAnswer, errorResponse } from "../http/mod.ts";

const providerAnswers = {
  auth: [502, "provider_auth"],
  rate_limit: [429, "provider_rate_limit"],
  quota: [502, "provider_quota"],
  bad_request: [400, "provider_bad_request"],
  unavailable: [502, "provider_unavailable"],
  timeout: [504, "provider_timeout"],
  other: [502, "provider_error"],
} as const satisfies Record<ProviderErrorKind, readonly [number, ErrorCode]>;

/**
 * The HTTP form of a provider failure. Server B has retried the provider already, so only a rate
 * limit with a `Retry-After` is worth sending again (after that wait).
 */
function providerAnswer(error: ProviderError): HttpError {
  const [status, code] = providerAnswers[error.kind];
  const { retryAfterMs, attempts } = error.options;
  const waitable = error.kind === "rate_limit" && retryAfterMs !== undefined;
  const headers: Record<string, string> = waitable
    ? { "retry-after": String(Math.max(1, Math.ceil(retryAfterMs / 1000))) }
    : {};
  return new HttpError(status, code, error.message, headers, {
    retryable: waitable,
    ...(attempts !== undefined ? { attempts } : {}),
  });
}

/**
 * The answer a typed error becomes, or `undefined` for an error no table names.
 * @example
 * ```ts
 * answerOf(new DomainError("unavailable", "disk full", { retryAfterSeconds: 1 }))?.status; // 503
 * ```
 */
export function answerOf(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof ProviderError) return providerAnswer(error);
  if (error instanceof DomainError) return domainAnswer(error);
  return undefined;
}

/** The answer of a failure while streaming: untyped errors count as the provider's. */
export function streamAnswerOf(error: unknown): HttpError {
  return answerOf(error) ??
    providerAnswer(new ProviderError("other", describeError(error), { cause: error }));
}

/**
 * Server B's `onError`: the JSON answer of any error its handler throws; an error no table
 * names is logged and answered 500 without details.
 */
export function onError(error: unknown, log: Logger): Response {
  return answerOf(error)?.toResponse() ?? errorResponse(error, log);
}
