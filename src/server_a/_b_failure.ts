/**
 * The failures of Server A's calls to Server B: what kind each attempt met, which are worth
 * another attempt, and the message that names Server B's URL.
 * @module
 */
import type { z } from "zod";
import { describeError, UpstreamError } from "../core/mod.ts";
import { isCertificateError } from "../http/mod.ts";
import { ErrorBody } from "../wire.ts";

/** What kind of failure an attempt met. */
export type FailureKind =
  | "refused"
  | "reset"
  | "unreachable"
  | "certificate"
  | "timeout"
  | "status"
  | "invalid"
  | "stream_error"
  | "truncated"
  | "auth";

/** What a failed answer of Server B said, besides its status. */
interface AttemptDetails {
  status?: number;
  retryAfterMs?: number;
  /** The error body's `code` and `retryable`, when it had them. */
  code?: string;
  retryable?: boolean;
  cause?: unknown;
}

/** One failed attempt, before it is turned into an {@linkcode UpstreamError}. */
export class AttemptFailure extends Error {
  override name = "AttemptFailure";
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly details: AttemptDetails = {},
  ) {
    super(message, { cause: details.cause });
  }
}

/**
 * Whether an error answer of Server B may be sent again: what its body's `retryable` says (false
 * once Server B retried the provider itself, as for a 502 or 504), and from a Server B that does
 * not say, only its own overload (503). A 429 also needs a `Retry-After`.
 * @example
 * ```ts
 * answerRetryable({ status: 502, retryable: false }); // false: Server B retried the provider
 * answerRetryable({ status: 503 }); // true: an older Server B, overloaded
 * ```
 */
export function answerRetryable(
  answer: { status: number; retryable?: boolean | undefined; retryAfterMs?: number | undefined },
): boolean {
  if (answer.status === 429 && answer.retryAfterMs === undefined) return false;
  return answer.retryable ?? (answer.status === 503 || answer.status === 429);
}

/** What Server B's failure was, as the balancer needs it to choose failover. */
export interface ServerBFailure {
  kind: FailureKind;
  status?: number | undefined;
  code?: string | undefined;
  retryAfterMs?: number | undefined;
  /** Whether sending the request again (to this or another Server B) is worth it. */
  retryable: boolean;
}

/** Whether a failed attempt is worth another one. */
export function worthRetrying(failure: AttemptFailure): boolean {
  if (failure.kind === "refused" || failure.kind === "reset") return true;
  return failure.kind === "status" &&
    answerRetryable({ ...failure.details, status: failure.details.status! });
}

/** Why a call is retried, as the retry metric labels it: `refused`, `reset`, `http_503`, ... */
export function retryReason(failure: Pick<ServerBFailure, "kind" | "status">): string {
  return failure.kind === "status" ? `http_${failure.status}` : failure.kind;
}

/** The failure behind an {@linkcode UpstreamError} of this client, or `undefined` for another error. */
export function serverBFailure(error: unknown): ServerBFailure | undefined {
  const failure = error instanceof UpstreamError ? error.cause : error;
  if (!(failure instanceof AttemptFailure)) return undefined;
  const { status, code, retryAfterMs } = failure.details;
  return { kind: failure.kind, status, code, retryAfterMs, retryable: worthRetrying(failure) };
}

/** Reads a `Retry-After` header (seconds or an HTTP date) as milliseconds from now. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The failure `fetch` (or the HTTP/1.1 pool) threw, by kind. */
export function fetchFailure(error: unknown): AttemptFailure {
  const text = error instanceof Error
    ? `${error.message} ${error.cause instanceof Error ? error.cause.message : ""}`
    : String(error);
  const detail =
    (error instanceof Error && error.cause instanceof Error
      ? error.cause.message
      : describeError(error))
      .replace(/^error sending request.*?: client error \(\w+\): /, "");
  if (/connection refused/i.test(text)) {
    return new AttemptFailure("refused", detail, { cause: error });
  }
  if (isCertificateError(error)) return new AttemptFailure("certificate", detail, { cause: error });
  if (
    /connection (closed|reset)|reset by peer|broken pipe|unexpected eof|error reading a body/i
      .test(text)
  ) {
    return new AttemptFailure("reset", detail, { cause: error });
  }
  return new AttemptFailure("unreachable", detail, { cause: error });
}

/** The failure an error answer of Server B is, with what its body said. */
export async function statusFailure(response: Response): Promise<AttemptFailure> {
  let detail = response.statusText || "error";
  let said: Pick<AttemptDetails, "code" | "retryable"> = {};
  try {
    const text = (await response.text()).slice(0, 2000);
    const body = ErrorBody.safeParse(JSON.parse(text));
    if (body.success) {
      const { code, message, retryable } = body.data.error;
      detail = `${code}: ${message}`;
      said = { code, ...(retryable !== undefined ? { retryable } : {}) };
    } else {
      detail = text.trim().slice(0, 200);
    }
  } catch {
    // Not JSON: keep the status text.
  }
  const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
  return new AttemptFailure("status", detail, {
    status: response.status,
    ...said,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Milliseconds as seconds with one decimal, e.g. `1.5s`. */
export function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}

/** `value` checked by `schema`, or an `invalid` failure naming what was wrong. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
  throw new AttemptFailure("invalid", `not a valid ${what} (${where}${issue?.message})`);
}

/** What a failed call says: Server B's URL, the request, the failure, the attempts made. */
export function describeFailure(
  failure: AttemptFailure,
  server: { url: string; deadlineMs: number },
  what: string,
  attempts: number,
  deadlineHit: boolean,
): string {
  const { url, deadlineMs } = server;
  const after = attempts > 1 ? ` after ${plural(attempts, "attempt")}` : "";
  const gaveUp = deadlineHit
    ? `; gave up before the next attempt${
      failure.details.retryAfterMs !== undefined
        ? ` (it asked to retry after ${seconds(failure.details.retryAfterMs)})`
        : ""
    } because it would pass the ${seconds(deadlineMs)} deadline`
    : "";
  const at = `Server B at ${url}`;
  switch (failure.kind) {
    case "refused":
      return `${at} refused the connection after ${plural(attempts, "attempt")}${gaveUp}`;
    case "reset":
      return `${at} closed the connection before answering ${what}${after} (${failure.message})${gaveUp}`;
    case "unreachable":
      return `${at} could not be reached (${failure.message})`;
    case "certificate":
      return `${at} presented a TLS certificate that does not verify (${failure.message}); refusing to talk to it. Trust the CA that signed it with --ca-cert FILE (SERVER_B_CA_CERT)`;
    case "timeout":
      return `${at} did not ${failure.message}`;
    case "status":
      return `${at} answered ${what} with HTTP ${failure.details.status} (${failure.message})${after}${gaveUp}`;
    case "invalid":
      return `${at} sent an answer to ${what} that is ${failure.message}`;
    case "stream_error":
      return `${at} reported an error during ${what} (${failure.message})`;
    case "truncated":
      return `${at} ended ${what} before the answer was complete`;
    case "auth":
      return `${at} was not called: no access token for it (${failure.message})`;
  }
}
