/**
 * Server B's HTTP API as one request handler: `POST /process`, `POST /stream` (SSE),
 * `GET /health`, `GET /health/ready`, `GET /models`, `GET /config`, `GET /metrics`.
 * @module
 */
import {
  authenticate,
  type Authenticator,
  clientAddress,
  methodNotAllowed,
  pathOf,
  type RateLimiter,
  readinessResponse,
  readJson,
  SSE_HEADERS,
  sseEvent,
  watchClient,
} from "../http/mod.ts";
import { HttpError, type Logger } from "../core/mod.ts";
import { checkHostAndOrigin, type HostPolicy, requireJsonContentType } from "../mcp/mod.ts";
import type { MetricsRegistry } from "../metrics/mod.ts";
import {
  type ConfigResponse,
  type HealthResponse,
  ProcessRequest,
  STREAM_EVENTS,
} from "../wire.ts";
import { onError, streamAnswerOf } from "./_errors.ts";
import type { AiService } from "./_service.ts";

/** Server B's display name. */
export const SERVER_B_NAME = "Server B (AI Responder)";

/** What the handler needs. */
export interface ServerBDeps {
  service: AiService;
  maxBodyBytes: number;
  log: Logger;
  /**
   * The Host/Origin policy of the MCP routes (bind address, `MCP_ALLOWED_HOSTS`,
   * `MCP_ALLOWED_ORIGINS`), applied to every route, the probes included.
   */
  hostPolicy: HostPolicy;
  /** Non-secret provider details shown by `/config`. */
  publicConfig?: Pick<ConfigResponse, "baseUrl" | "region">;
  /**
   * Handles other routes (MCP) with its own rate limit and token checks; returns `undefined` for
   * paths it does not serve.
   */
  fallback?: (request: Request, info?: Deno.ServeHandlerInfo) => Promise<Response | undefined>;
  /**
   * Checks `Authorization: Bearer` on every route but the probes `/health` and `/health/ready`
   * (a bare string: the static token `MCPCOMM_AUTH_TOKEN`; unset: no check).
   */
  auth?: Authenticator | string | undefined;
  /** Per-client limit on every route but the probes (`RATE_LIMIT_PER_MINUTE`). */
  rateLimiter?: RateLimiter | undefined;
  /** Served at `/metrics` when set. */
  metrics?: MetricsRegistry;
  /** Whether a shutdown has begun (readiness fails then). */
  stopping?: () => boolean;
}

async function parseProcessRequest(
  request: Request,
  maxBodyBytes: number,
): Promise<ProcessRequest> {
  requireJsonContentType(request);
  const body = await readJson(request, maxBodyBytes);
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, "invalid_request", "Request body must be a JSON object");
  }
  const result = ProcessRequest.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path[0];
    const missing = typeof field === "string" &&
      (body as Record<string, unknown>)[field] === undefined;
    throw new HttpError(
      400,
      "invalid_request",
      missing ? `"${field}" is required` : issue?.message ?? "Invalid request",
    );
  }
  return result.data;
}

/**
 * Creates Server B's request handler.
 * @example
 * ```ts
 * const handler = createServerBHandler({ service, maxBodyBytes: 1 << 20, log });
 * const response = await handler(new Request("http://b/health"));
 * ```
 */
export function createServerBHandler(
  deps: ServerBDeps,
): (request: Request, info?: Deno.ServeHandlerInfo) => Promise<Response> {
  const { service, log } = deps;

  const routes: Record<string, Record<string, (request: Request) => Promise<Response> | Response>> =
    {
      "/process": {
        POST: async (request) => {
          const body = await parseProcessRequest(request, deps.maxBodyBytes);
          const client = watchClient(request);
          try {
            return Response.json(await service.process(body, client.signal));
          } finally {
            client.done();
          }
        },
      },
      "/stream": {
        POST: async (request) => {
          const body = await parseProcessRequest(request, deps.maxBodyBytes);
          const abort = new AbortController();
          const gone = () =>
            abort.abort(
              new Error(
                deps.stopping?.() ? "cut by the server shutting down" : "client disconnected",
              ),
            );
          if (request.signal.aborted) gone();
          else request.signal.addEventListener("abort", gone, { once: true });
          const signal = abort.signal;
          const chunks = service.stream(body, signal);
          let pending = await chunks.next();
          const stream = new ReadableStream<Uint8Array>({
            async pull(controller) {
              try {
                const step = pending;
                if (step.done) {
                  controller.enqueue(sseEvent(step.value, STREAM_EVENTS.done));
                  controller.close();
                  return;
                }
                controller.enqueue(sseEvent({ text: step.value }));
                pending = await chunks.next();
              } catch (error) {
                if (signal.aborted) return controller.close();
                const failure = streamAnswerOf(error);
                log.warn("stream failed", { code: failure.code, error: failure.message });
                controller.enqueue(sseEvent(failure.body(), STREAM_EVENTS.error));
                controller.close();
              }
            },
            cancel() {
              gone();
              chunks.return(undefined as never).catch(() => {});
            },
          });
          return new Response(stream, { headers: SSE_HEADERS });
        },
      },
      "/health": {
        GET: async () => {
          const status = service.provider.status();
          const body: HealthResponse = {
            status: "healthy",
            server: SERVER_B_NAME,
            provider: service.provider.name,
            messagesProcessed: (await service.ledger.stats()).totalRequests,
            ai: status.configured ? { configured: true, status: "healthy" } : {
              configured: false,
              status: "not configured",
              ...(status.reason ? { reason: status.reason } : {}),
            },
          };
          return Response.json(body);
        },
      },
      "/health/ready": {
        GET: () =>
          readinessResponse({
            provider: () => {
              const status = service.provider.status();
              return status.configured ? undefined : status.reason ?? "not configured";
            },
            database: () => service.ledger.problem(),
            server: () => deps.stopping?.() ? "shutting down" : undefined,
          }),
      },
      "/metrics": {
        GET: () => {
          if (!deps.metrics) throw new HttpError(404, "not_found", "No route /metrics");
          return deps.metrics.response();
        },
      },
      "/models": {
        GET: () =>
          Response.json({
            provider: service.provider.name,
            defaultModel: service.defaults().model,
            models: service.provider.models(),
          }),
      },
      "/config": {
        GET: () => {
          const defaults = service.defaults();
          const body: ConfigResponse = {
            provider: service.provider.name,
            defaultModel: defaults.model,
            temperature: defaults.temperature,
            maxTokens: defaults.maxTokens,
            ...deps.publicConfig,
          };
          return Response.json(body);
        },
      },
    };

  return async (request, info) => {
    try {
      const path = pathOf(request.url);
      const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
      if (!route) {
        const other = await deps.fallback?.(request, info);
        if (other) return other;
      }
      const probe = path === "/health" || path === "/health/ready";
      if (!probe) await deps.rateLimiter?.check(clientAddress(info));
      checkHostAndOrigin(request, deps.hostPolicy);
      if (!probe) await authenticate(request, deps.auth);
      if (!route) throw new HttpError(404, "not_found", `No route ${path}`);
      const method = request.method === "HEAD" ? "GET" : request.method;
      const handle = Object.hasOwn(route, method) ? route[method] : undefined;
      if (!handle) throw methodNotAllowed(Object.keys(route));
      return await handle(request);
    } catch (error) {
      return onError(error, log);
    }
  };
}
