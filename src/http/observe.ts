/**
 * What both servers do around every HTTP request: give it an ID and a trace span (W3C
 * `traceparent`), count and time it for `/metrics`, write one JSON log line, and track it and
 * its event stream so that a shutdown lets it finish (up to a deadline) instead of cutting it.
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { describeError, HttpError } from "../core/errors.ts";
import { pathOf } from "./hosts.ts";
import { errorResponse } from "./respond.ts";
import { sseEvent } from "./sse.ts";
import { type Logger, logLevelEnabled } from "../core/log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import {
  formatTraceparent,
  parseTraceparent,
  REQUEST_ID_HEADER,
  requestIdOf,
  startSpan,
  type TraceContext,
} from "./trace.ts";

/** The request being served, as seen from code it calls. */
export interface RequestContext {
  requestId: string;
  /** This server's span; its `spanId` is the parent of any call made while serving. */
  trace: TraceContext;
  /** The caller's span, when it sent a valid `traceparent`. */
  parentSpanId?: string | undefined;
}

/** The IDs of `context` as log fields: requestId, traceId, spanId and, when known, parentSpanId. */
export function contextFields(context: RequestContext): Record<string, string> {
  return {
    requestId: context.requestId,
    traceId: context.trace.traceId,
    spanId: context.trace.spanId,
    ...(context.parentSpanId ? { parentSpanId: context.parentSpanId } : {}),
  };
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The request whose handling is running now, if any. */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}

/**
 * The `traceparent` for a call made now: a child of the request being served, or the root of a
 * new trace when there is none (stdio).
 */
export function outgoingTraceparent(): string {
  return formatTraceparent(currentRequest()?.trace ?? startSpan());
}

/**
 * Runs `fn` in a new span: a child of the request being served, or the root of a new trace (a
 * stdio tool call). Calls made inside send this span as their `traceparent` parent.
 */
export function runInSpan<T>(
  fn: (context: RequestContext) => Promise<T>,
): Promise<T> {
  const parent = currentRequest();
  const context: RequestContext = {
    requestId: parent?.requestId ?? crypto.randomUUID(),
    trace: startSpan(parent?.trace),
    parentSpanId: parent?.trace.spanId,
  };
  return storage.run(context, () => fn(context));
}

/** A request handler as `Deno.serve` calls it. */
export type Handler = (request: Request, info?: Deno.ServeHandlerInfo) => Promise<Response>;

/** Options of {@linkcode createHttpObserver}. */
export interface HttpObserverOptions {
  metrics: MetricsRegistry;
  log: Logger;
  /** Known paths; any other path counts as `other` in metrics (bounded labels). */
  routes: readonly string[];
  /** Message of the final `event: error` written to streams cut by a shutdown. */
  shutdownMessage?: string;
  /**
   * Whether code the handler calls sees the request through {@linkcode currentRequest} (and
   * {@linkcode outgoingTraceparent}, {@linkcode runInSpan}); default true. A server that makes
   * no traced calls while serving can turn it off, saving an `AsyncLocalStorage` frame (a copied
   * context map and a WeakMap entry) per request. IDs, trace headers and logs stay.
   */
  requestContext?: boolean;
}

/**
 * Whether `request` opens a stream that never ends by itself: a GET event stream, or an MCP
 * 2026-07-28 `subscriptions/listen` (a POST that names its method in `Mcp-Method`).
 */
function isSubscription(request: Request): boolean {
  return request.method === "GET" || request.headers.get("mcp-method") === "subscriptions/listen";
}

/** Wraps a server's handler and shuts it down gracefully. */
export interface HttpObserver {
  /** The handler with IDs, tracing, metrics, the log line and shutdown tracking around it. */
  wrap(handler: Handler): (request: Request, info: Deno.ServeHandlerInfo) => Promise<Response>;
  /**
   * Stops `server` gracefully: no new connections, in-flight requests and their streams get up
   * to `timeoutMs` to finish, then streams still open end with a final event and requests still
   * unanswered get 503. Idle event subscriptions (GET streams) end once the rest is done.
   */
  shutdown(server: Deno.HttpServer, timeoutMs: number): Promise<void>;
  /** Whether {@linkcode HttpObserver.shutdown} has begun. */
  readonly stopping: boolean;
  /** Requests and streams in progress. */
  readonly active: number;
}

interface Tracked {
  /** GET event streams and MCP `subscriptions/listen`: streams that never end by themselves. */
  subscription: boolean;
  /** Ends the stream with the final event; for a request, answers it with 503. */
  cut(): void;
}

/** How long connections may take to close after the deadline's final answers (a client still
 * uploading a refused body keeps its connection open for as long as it likes). */
const CLOSE_GRACE_MS = 2000;

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

function remoteOf(info: Deno.ServeHandlerInfo | undefined): string | undefined {
  try {
    return (info?.remoteAddr as Deno.NetAddr | undefined)?.hostname;
  } catch {
    return undefined;
  }
}

function isEventStream(response: Response): boolean {
  return (response.headers.get("content-type") ?? "").startsWith("text/event-stream") &&
    response.body !== null;
}

function withHeader(response: Response, name: string, value: string): Response {
  try {
    response.headers.set(name, value);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set(name, value);
    return copy;
  }
}

/**
 * Creates the observer of one server.
 * @example
 * ```ts
 * const observer = createHttpObserver({ metrics, log, routes: ["/process", "/health"] });
 * const server = Deno.serve({ port: 8000 }, observer.wrap(handler));
 * signal.addEventListener("abort", () => observer.shutdown(server, 10_000));
 * ```
 */
export function createHttpObserver(options: HttpObserverOptions): HttpObserver {
  const { metrics, log } = options;
  const withContext = options.requestContext ?? true;
  const routes = new Set(options.routes);
  const requests = metrics.counter(
    "mcpcomm_http_requests_total",
    "HTTP requests answered, by route, method and status",
    ["route", "method", "status"],
  );
  const latency = metrics.histogram(
    "mcpcomm_http_request_duration_seconds",
    "Time to answer an HTTP request (to the first byte for event streams)",
    ["route", "method"],
  );
  const inFlight = metrics.gauge(
    "mcpcomm_http_requests_in_flight",
    "HTTP requests being handled",
  );
  const streams = metrics.gauge(
    "mcpcomm_sse_streams_open",
    "Server-Sent Event streams open, by route",
    ["route"],
  );
  const cutStreams = metrics.counter(
    "mcpcomm_sse_streams_cut_total",
    "Event streams ended by a shutdown before they finished",
  );

  const tracked = new Set<Tracked>();
  let work = 0;
  let idleWaiters: (() => void)[] = [];
  let stopping = false;
  const finalEvent = () =>
    sseEvent({
      error: {
        code: "unavailable",
        message: options.shutdownMessage ?? "The server is shutting down",
      },
    }, "error");

  const track = (item: Tracked) => {
    tracked.add(item);
    if (!item.subscription) work++;
  };
  const untrack = (item: Tracked) => {
    if (!tracked.delete(item)) return;
    if (!item.subscription) work--;
    if (work === 0 && idleWaiters.length > 0) { for (const wake of idleWaiters.splice(0)) wake(); }
  };
  const whenIdle = () =>
    work === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve));

  const observeStream = (
    response: Response,
    subscription: boolean,
    done: (how: "finished" | "cancelled" | "cut") => void,
  ): Response => {
    const reader = response.body!.getReader();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let ended = false;
    const item: Tracked = {
      subscription,
      cut() {
        if (ended) return;
        ended = true;
        try {
          controller.enqueue(finalEvent());
          controller.close();
        } catch {
          // the consumer is already gone
        }
        reader.cancel(new Error("shutdown")).catch(() => {});
        untrack(item);
        done("cut");
      },
    };
    track(item);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
      },
      async pull(c) {
        let step: ReadableStreamReadResult<Uint8Array>;
        try {
          step = await reader.read();
        } catch (error) {
          if (ended) return;
          ended = true;
          untrack(item);
          done("finished");
          c.error(error);
          return;
        }
        if (ended) return;
        if (step.done) {
          ended = true;
          c.close();
          untrack(item);
          done("finished");
          return;
        }
        c.enqueue(step.value);
      },
      cancel(reason) {
        if (!ended) {
          ended = true;
          untrack(item);
          done("cancelled");
        }
        return reader.cancel(reason);
      },
    });
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };

  return {
    get stopping() {
      return stopping;
    },
    get active() {
      return tracked.size;
    },
    wrap(handler) {
      return async (request, info) => {
        const started = performance.now();
        const path = pathOf(request.url);
        const routeName = routes.has(path) ? path : "other";
        const method = METHODS.has(request.method) ? request.method : "other";
        const headers = request.headers;
        const parent = parseTraceparent(headers.get("traceparent"));
        const context: RequestContext = {
          requestId: requestIdOf(headers),
          trace: startSpan(parent),
          parentSpanId: parent?.spanId,
        };
        let fields: Record<string, unknown> | undefined;
        const describe = () =>
          fields ??= {
            ...contextFields(context),
            method: request.method,
            path,
            remote: remoteOf(info),
          };
        if (logLevelEnabled("info")) describe();
        if (logLevelEnabled("debug")) log.debug("request started", describe());

        inFlight.inc();
        let response: Response;
        const answered = Promise.withResolvers<Response>();
        const item: Tracked = {
          subscription: false,
          cut: () =>
            answered.resolve(
              new HttpError(503, "unavailable", "The server is shutting down").toResponse(),
            ),
        };
        track(item);
        try {
          if (stopping) {
            response = new HttpError(503, "unavailable", "The server is shutting down", {
              connection: "close",
            }).toResponse();
          } else {
            (withContext ? storage.run(context, handler, request, info) : handler(request, info))
              .then(
                answered.resolve,
                answered.reject,
              );
            response = await answered.promise;
          }
        } catch (error) {
          response = errorResponse(error, log);
        } finally {
          inFlight.dec();
        }

        const seconds = (performance.now() - started) / 1000;
        requests.inc({ route: routeName, method, status: response.status });
        latency.observe({ route: routeName, method }, seconds);
        const line = (extra: Record<string, unknown>) => {
          const warn = response.status >= 500;
          if (!logLevelEnabled(warn ? "warn" : "info")) return;
          const entry = { ...describe(), status: response.status, ...extra };
          if (warn) log.warn("request", entry);
          else log.info("request", entry);
        };
        if (response.status === 101) {
          untrack(item);
          line({ durationMs: Math.round(seconds * 1000), upgraded: true });
          return response;
        }
        response = withHeader(response, REQUEST_ID_HEADER, context.requestId);
        if (!isEventStream(response)) {
          untrack(item);
          line({ durationMs: Math.round(seconds * 1000) });
          return response;
        }
        describe();
        streams.inc({ route: routeName });
        const streamed = observeStream(response, isSubscription(request), (how) => {
          streams.dec({ route: routeName });
          if (how === "cut") cutStreams.inc();
          line({ durationMs: Math.round(performance.now() - started), stream: how });
        });
        untrack(item);
        return streamed;
      };
    },
    async shutdown(server, timeoutMs) {
      if (stopping) return;
      stopping = true;
      log.info("shutting down", {
        inFlight: work,
        subscriptions: tracked.size - work,
        timeoutSeconds: timeoutMs / 1000,
      });
      const drained = server.shutdown();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      });
      const outcome = await Promise.race([whenIdle().then(() => "idle" as const), timedOut]);
      clearTimeout(timer);
      if (outcome === "timeout") {
        log.warn("shutdown deadline passed, ending what is left", { inFlight: work });
      }
      for (const item of [...tracked]) item.cut();
      idleWaiters = [];
      let graceTimer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<"stuck">((resolve) => {
        graceTimer = setTimeout(() => resolve("stuck"), CLOSE_GRACE_MS);
      });
      try {
        const closed = await Promise.race([drained.then(() => "closed" as const), grace]);
        if (closed === "stuck") {
          log.warn("connections still open after the shutdown deadline; not waiting for them", {
            graceMs: CLOSE_GRACE_MS,
          });
        }
      } catch (error) {
        log.warn("server shutdown failed", { error: describeError(error) });
      } finally {
        clearTimeout(graceTimer);
      }
    },
  };
}
