/**
 * Server A's HTTP client to Server B: one keep-alive connection pool, a timeout per attempt, one
 * overall deadline, and retries with backoff only for failures worth retrying: those Server B did
 * not retry already (see {@linkcode answerRetryable}). Every failure becomes an
 * {@linkcode UpstreamError} whose message names Server B's URL.
 * @module
 */
import type { z } from "zod";
import {
  describeError,
  type Logger,
  outgoingTraceparent,
  publicUrl,
  RetriesExhausted,
  UpstreamError,
  withRetries,
} from "../core/mod.ts";
import { createHttp1Pool } from "../http/mod.ts";
import { HealthResponse, ModelsResponse, type ProcessRequest, ProcessResponse } from "../wire.ts";
import {
  AttemptFailure,
  describeFailure,
  fetchFailure,
  parseWith,
  retryReason,
  seconds,
  statusFailure,
  worthRetrying,
} from "./_b_failure.ts";
import { readProcessStream } from "./_b_stream.ts";

export {
  answerRetryable,
  parseRetryAfter,
  type ServerBFailure,
  serverBFailure,
} from "./_b_failure.ts";

/** Options of {@linkcode createServerBClient}. */
export interface ServerBClientOptions {
  /** Server B's base URL, e.g. `http://machine-b:8000`. */
  url: string;
  /** Timeout of one attempt, answer body included. */
  timeoutMs: number;
  /** Attempts in all, the first included. */
  attempts: number;
  /** Bound on all attempts and waits of one call; default `timeoutMs * attempts`. */
  deadlineMs?: number | undefined;
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
  baseDelayMs?: number | undefined;
  /**
   * Whether answers that are not streams come over the lean HTTP/1.1 pool of `http1.ts` rather
   * than `fetch` (default true; false behind an HTTP proxy, which only `fetch` honours).
   */
  http1?: boolean | undefined;
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
            options.onRetry?.(retryReason({ kind: error.kind, status: error.details.status }));
          }
        },
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const deadlineHit = error instanceof RetriesExhausted && error.deadlineHit;
      const failure = error instanceof RetriesExhausted ? error.lastError : error;
      if (!(failure instanceof AttemptFailure)) throw error;
      const message = describeFailure(failure, { url, deadlineMs }, what, made, deadlineHit);
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
      const read = (response: Response) =>
        readProcessStream(response, (text) => {
          delivered = true;
          onText(text);
        });
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
