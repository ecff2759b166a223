/**
 * Server A's HTTP client to Server B: one keep-alive connection pool, a timeout per attempt, one
 * overall deadline, and retries with backoff only for failures worth retrying: those Server B did
 * not retry already (see {@linkcode answerRetryable}). Every failure becomes an
 * {@linkcode UpstreamError} whose message names Server B's URL.
 * @module
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { z } from "zod";
import type { Config } from "../core/config.ts";
import { describeError, UpstreamError } from "../core/errors.ts";
import { publicUrl } from "../http/hosts.ts";
import { createHttp1Pool } from "../http/http1.ts";
import type { Logger } from "../core/log.ts";
import { outgoingTraceparent } from "../http/observe.ts";
import { RetriesExhausted, withRetries } from "../core/retry.ts";
import { isCertificateError, readCaCerts } from "../http/tls.ts";
import { serverBTokenSource } from "./b_oauth.ts";
import {
  ErrorBody,
  HealthResponse,
  ModelsResponse,
  type ProcessRequest,
  ProcessResponse,
  STREAM_EVENTS,
  StreamDelta,
} from "../wire.ts";

/** Options of {@linkcode createServerBClient}. */
export interface ServerBClientOptions {
  /** Server B's base URL, e.g. `http://machine-b:8000`. */
  url: string;
  /** Timeout of one attempt, answer body included. */
  timeoutMs: number;
  /** Attempts in all, the first included. */
  attempts: number;
  /** Bound on all attempts and waits of one call; default `timeoutMs * attempts`. */
  deadlineMs?: number;
  /** Sent as `Authorization: Bearer <token>` when set (and no `authorization`). */
  authToken?: string | undefined;
  /**
   * The `Authorization` header for each attempt (e.g. an OAuth client-credentials source); after
   * a 401 it is asked once with `renew` and the attempt sent once more with the new header.
   */
  authorization?: ((renew?: { stale: string }) => Promise<string>) | undefined;
  /** PEM CA certificates trusted for Server B's HTTPS certificate, besides the system's. */
  caCerts?: string[] | undefined;
  /** Base of the exponential backoff in milliseconds (default 200). */
  baseDelayMs?: number;
  /**
   * Whether answers that are not streams come over the lean HTTP/1.1 pool of `http1.ts` rather
   * than `fetch` (default true; false behind an HTTP proxy, which only `fetch` honours).
   */
  http1?: boolean;
  log?: Logger | undefined;
  /** Called before each retry, with why (`refused`, `reset`, `http_503`, ...), e.g. to count it. */
  onRetry?: ((reason: string) => void) | undefined;
}

/** Server B as Server A sees it. */
export interface ServerBClient {
  /** Server B's base URL, without a trailing slash. */
  readonly url: string;
  /** `GET /health`. */
  health(signal?: AbortSignal): Promise<HealthResponse>;
  /** `GET /models`. */
  models(signal?: AbortSignal): Promise<ModelsResponse>;
  /** `POST /process`. */
  process(request: ProcessRequest, signal?: AbortSignal): Promise<ProcessResponse>;
  /**
   * `POST /stream`: calls `onText` with each delta as it arrives, resolves to the final answer.
   * Retried only while no text has reached `onText`.
   */
  stream(
    request: ProcessRequest,
    onText: (text: string) => void,
    signal?: AbortSignal,
  ): Promise<ProcessResponse>;
  /** Closes the connection pool. */
  close(): void;
}

type FailureKind =
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
class AttemptFailure extends Error {
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

function worthRetrying(failure: AttemptFailure): boolean {
  if (failure.kind === "refused" || failure.kind === "reset") return true;
  return failure.kind === "status" &&
    answerRetryable({ ...failure.details, status: failure.details.status! });
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

function fetchFailure(error: unknown): AttemptFailure {
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

async function statusFailure(response: Response): Promise<AttemptFailure> {
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

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
  throw new AttemptFailure("invalid", `not a valid ${what} (${where}${issue?.message})`);
}

/**
 * Creates the client. One pool of keep-alive connections serves every call until `close()`.
 * @example
 * ```ts
 * const b = createServerBClient({ url: "http://localhost:8000", timeoutMs: 120_000, attempts: 3 });
 * const answer = await b.process({ message: "What is Python?" });
 * b.close();
 * ```
 */
export function createServerBClient(options: ServerBClientOptions): ServerBClient {
  const target = options.url.replace(/\/+$/, "");
  const url = publicUrl(target).replace(/\/+$/, "");
  const httpClient = Deno.createHttpClient(
    options.caCerts?.length ? { caCerts: options.caCerts } : {},
  );
  const pool = options.http1 === false
    ? undefined
    : createHttp1Pool(target, { caCerts: options.caCerts });
  const deadlineMs = options.deadlineMs ?? options.timeoutMs * options.attempts;
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.authToken) headers.authorization = `Bearer ${options.authToken}`;
  const authorizationFor = async (renew?: { stale: string }): Promise<string | undefined> => {
    if (!options.authorization) return undefined;
    try {
      return await options.authorization(renew);
    } catch (error) {
      throw new AttemptFailure("auth", describeError(error), { cause: error });
    }
  };

  function describeFailure(
    failure: AttemptFailure,
    what: string,
    attempts: number,
    deadlineHit: boolean,
  ): string {
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

  async function call<T>(
    what: `${"GET" | "POST"} /${string}`,
    init: RequestInit,
    read: (response: Response) => Promise<T>,
    signal: AbortSignal | undefined,
    mayRetry: () => boolean = () => true,
  ): Promise<T> {
    const deadline = Date.now() + deadlineMs;
    const traceparent = outgoingTraceparent();
    const [method, path] = what.split(" ") as [string, string];
    const streaming = what === "POST /stream";
    let made = 0;
    const attempt = async (): Promise<T> => {
      made++;
      const budget = Math.max(1, Math.min(options.timeoutMs, deadline - Date.now()));
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new DOMException("Server B timed out", "TimeoutError"));
      }, budget);
      const follow = () => controller.abort(signal!.reason);
      if (signal?.aborted) follow();
      else signal?.addEventListener("abort", follow, { once: true });
      try {
        const send = (authorization?: string) => {
          const allHeaders = {
            ...headers,
            ...(authorization ? { authorization } : {}),
            traceparent,
            ...init.headers as Record<string, string>,
          };
          return pool && !streaming
            ? pool.request({
              method,
              path,
              headers: allHeaders,
              ...(typeof init.body === "string" ? { body: init.body } : {}),
              signal: controller.signal,
            })
            : fetch(`${target}${path}`, {
              ...init,
              method,
              headers: allHeaders,
              client: httpClient,
              signal: controller.signal,
            });
        };
        const authorization = await authorizationFor();
        let response = await send(authorization);
        if (response.status === 401 && authorization !== undefined) {
          const renewed = await authorizationFor({ stale: authorization });
          if (renewed !== authorization) {
            await response.body?.cancel();
            response = await send(renewed);
          }
        }
        if (!response.ok) throw await statusFailure(response);
        return await read(response);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (timedOut) {
          const verb = mayRetry() ? "answer" : "finish";
          throw new AttemptFailure("timeout", `${verb} ${what} within ${seconds(budget)}`, {
            cause: error,
          });
        }
        if (error instanceof AttemptFailure) throw error;
        throw fetchFailure(error);
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener("abort", follow);
      }
    };
    try {
      return await withRetries(attempt, {
        attempts: options.attempts,
        deadline,
        ...(options.baseDelayMs !== undefined ? { baseDelayMs: options.baseDelayMs } : {}),
        signal,
        classify: (error) => {
          if (!(error instanceof AttemptFailure) || !mayRetry()) return { retry: false };
          return { retry: worthRetrying(error), afterMs: error.details.retryAfterMs };
        },
        onRetry: (error, n, delayMs) => {
          options.log?.warn("retrying Server B", {
            url,
            request: what,
            attempt: n,
            delayMs,
            error: describeError(error),
          });
          if (error instanceof AttemptFailure) {
            options.onRetry?.(
              error.kind === "status" ? `http_${error.details.status}` : error.kind,
            );
          }
        },
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const deadlineHit = error instanceof RetriesExhausted && error.deadlineHit;
      const failure = error instanceof RetriesExhausted ? error.lastError : error;
      if (!(failure instanceof AttemptFailure)) throw error;
      const message = describeFailure(failure, what, made, deadlineHit);
      options.log?.warn("Server B request failed", { url, request: what, error: message });
      throw new UpstreamError(message, {
        ...(failure.details.status !== undefined ? { status: failure.details.status } : {}),
        cause: failure,
      });
    }
  }

  const readJson = <T>(schema: z.ZodType<T>, what: string) => async (response: Response) => {
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      if (error instanceof SyntaxError) throw new AttemptFailure("invalid", "not JSON");
      throw error;
    }
    return parseWith(schema, body, what);
  };

  const post = (request: ProcessRequest, accept: string): RequestInit => ({
    headers: { "content-type": "application/json", accept },
    body: JSON.stringify(request),
  });

  return {
    url,
    health: (signal) => call("GET /health", {}, readJson(HealthResponse, "health answer"), signal),
    models: (signal) => call("GET /models", {}, readJson(ModelsResponse, "models answer"), signal),
    process: (request, signal) =>
      call(
        "POST /process",
        post(request, "application/json"),
        readJson(ProcessResponse, "process answer"),
        signal,
      ),
    stream(request, onText, signal) {
      let delivered = false;
      const read = async (response: Response): Promise<ProcessResponse> => {
        const type = response.headers.get("content-type") ?? "";
        if (!type.startsWith("text/event-stream") || !response.body) {
          throw new AttemptFailure("invalid", `not an event stream (content-type "${type}")`);
        }
        const events: EventSourceMessage[] = [];
        const parser = createParser({ onEvent: (event) => events.push(event) });
        const decoder = new TextDecoder();
        const handle = (event: EventSourceMessage): ProcessResponse | undefined => {
          let data: unknown;
          try {
            data = JSON.parse(event.data);
          } catch {
            throw new AttemptFailure("invalid", "an event whose data is not JSON");
          }
          if (event.event === STREAM_EVENTS.done) {
            return parseWith(ProcessResponse, data, "final stream event");
          }
          if (event.event === STREAM_EVENTS.error) {
            const body = ErrorBody.safeParse(data);
            throw new AttemptFailure(
              "stream_error",
              body.success ? `${body.data.error.code}: ${body.data.error.message}` : event.data,
            );
          }
          const delta = parseWith(StreamDelta, data, "stream delta");
          delivered = true;
          onText(delta.text);
          return undefined;
        };
        for await (const chunk of response.body) {
          parser.feed(decoder.decode(chunk, { stream: true }));
          while (events.length) {
            const done = handle(events.shift()!);
            if (done) return done;
          }
        }
        throw new AttemptFailure("truncated", "no final event");
      };
      return call(
        "POST /stream",
        post(request, "text/event-stream"),
        read,
        signal,
        () => !delivered,
      );
    },
    close() {
      pool?.close();
      httpClient.close();
    },
  };
}

/**
 * Creates the client from the settings (the first of `SERVER_B_URL`, `TIMEOUT_SECONDS`,
 * `RETRY_ATTEMPTS`, `MCPCOMM_AUTH_TOKEN`, or the `SERVER_B_OAUTH_*` client credentials, which
 * win); `overrides` replace single options.
 */
export function createServerBClientFromConfig(
  config: Config,
  log?: Logger,
  overrides: Partial<ServerBClientOptions> = {},
): ServerBClient {
  return createServerBClient({
    url: config.SERVER_B_URL[0]!,
    timeoutMs: config.TIMEOUT_SECONDS * 1000,
    attempts: config.RETRY_ATTEMPTS,
    authToken: config.MCPCOMM_AUTH_TOKEN,
    authorization: serverBTokenSource(config),
    caCerts: readCaCerts(config),
    log,
    ...overrides,
  });
}
