/**
 * What both servers do around every HTTP request: give it an ID and a trace span (W3C
 * `traceparent`), count and time it for `/metrics`, write one JSON log line, and track it and
 * its event stream so that a shutdown lets it finish (up to a deadline) instead of cutting it.
 * @module
 */
import {
  contextFields,
  HttpError,
  type Logger,
  logLevelEnabled,
  parseTraceparent,
  REQUEST_ID_HEADER,
  type RequestContext,
  requestIdOf,
  runInContext,
  startSpan,
} from "../core/mod.ts";
import { pathOf } from "./hosts.ts";
import { errorResponse } from "./respond.ts";
import { createDrain, type Tracked } from "./_drain.ts";
import { type MetricsRegistry, timedOperations } from "../metrics/mod.ts";

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
  const record = timedOperations(metrics, {
    name: "mcpcomm_http_request",
    labels: ["route", "method"],
    outcomeLabels: ["status"],
    help: [
      "HTTP requests answered, by route, method and status",
      "Time to answer an HTTP request (to the first byte for event streams)",
    ],
  });
  const inFlight = metrics.gauge(
    "mcpcomm_http_requests_in_flight",
    "HTTP requests being handled",
  );
  const cutStreams = metrics.counter(
    "mcpcomm_sse_streams_cut_total",
    "Event streams ended by a shutdown before they finished",
  );
  const streams = metrics.gauge(
    "mcpcomm_sse_streams_open",
    "Server-Sent Event streams open, by route",
    ["route"],
  );

  const drain = createDrain(log, options.shutdownMessage);

  return {
    get stopping() {
      return drain.stopping;
    },
    get active() {
      return drain.active;
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
        drain.track(item);
        try {
          if (drain.stopping) {
            response = new HttpError(503, "unavailable", "The server is shutting down", {
              connection: "close",
            }).toResponse();
          } else {
            (withContext
              ? runInContext(context, () => handler(request, info))
              : handler(request, info))
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

        const seconds = record({ route: routeName, method }, { status: response.status }, started);
        const line = (extra: Record<string, unknown>) => {
          const warn = response.status >= 500;
          if (!logLevelEnabled(warn ? "warn" : "info")) return;
          const entry = { ...describe(), status: response.status, ...extra };
          if (warn) log.warn("request", entry);
          else log.info("request", entry);
        };
        if (response.status === 101) {
          drain.untrack(item);
          line({ durationMs: Math.round(seconds * 1000), upgraded: true });
          return response;
        }
        response = withHeader(response, REQUEST_ID_HEADER, context.requestId);
        if (!isEventStream(response)) {
          drain.untrack(item);
          line({ durationMs: Math.round(seconds * 1000) });
          return response;
        }
        describe();
        streams.inc({ route: routeName });
        const streamed = drain.observeStream(response, isSubscription(request), (how) => {
          streams.dec({ route: routeName });
          if (how === "cut") cutStreams.inc();
          line({ durationMs: Math.round(performance.now() - started), stream: how });
        });
        drain.untrack(item);
        return streamed;
      };
    },
    shutdown: (server, timeoutMs) => drain.shutdown(server, timeoutMs),
  };
}
