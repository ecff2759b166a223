/**
 * Server A's operations routes beside MCP (with `--transport http`): `GET /health` (liveness),
 * `GET /health/ready` (readiness: ledger, Server B, shutdown) and `GET /metrics` (Prometheus,
 * behind the token like MCP).
 * @module
 */
import {
  authenticate,
  type Authenticator,
  methodNotAllowed,
  readinessResponse,
} from "../http/mod.ts";
import { describeError, HttpError } from "../core/mod.ts";
import type { Ledger } from "../ledger/mod.ts";
import type { MetricsRegistry } from "../metrics/mod.ts";
import type { ServerBClient } from "./_b_client.ts";

/** Server A's display name. */
export const SERVER_A_NAME = "Server A (Messenger)";

/** The paths {@linkcode createServerAOpsHandler} answers. */
export const SERVER_A_OPS_PATHS: readonly string[] = ["/health", "/health/ready", "/metrics"];

/** How long readiness waits for Server B's `/health`. */
const READY_PROBE_MS = 2000;

/** What the operations routes need. */
export interface ServerAOpsDeps {
  ledger: Ledger;
  client: ServerBClient;
  metrics: MetricsRegistry;
  /** Checks `Authorization: Bearer` on `/metrics` (a bare string: the static token). */
  auth: Authenticator | string | undefined;
  /** Whether a shutdown has begun. */
  stopping: () => boolean;
}

/**
 * Creates the handler of the operations routes; it resolves `undefined` for other paths.
 * @example
 * ```ts
 * const ops = createServerAOpsHandler({ ledger, client, metrics, auth, stopping });
 * const answer = await ops(new Request("http://a/health"));
 * ```
 */
export function createServerAOpsHandler(
  deps: ServerAOpsDeps,
): (request: Request) => Promise<Response | undefined> {
  const serverB = async () => {
    try {
      const health = await deps.client.health(AbortSignal.timeout(READY_PROBE_MS));
      if (health.ai.configured) return undefined;
      return `Server B's AI provider is not configured${
        health.ai.reason ? ` (${health.ai.reason})` : ""
      }`;
    } catch (error) {
      return error instanceof DOMException && error.name === "TimeoutError"
        ? `Server B did not answer /health within ${READY_PROBE_MS / 1000} s`
        : describeError(error);
    }
  };

  return async (request) => {
    const path = new URL(request.url).pathname;
    if (!SERVER_A_OPS_PATHS.includes(path)) return undefined;
    if (request.method !== "GET" && request.method !== "HEAD") throw methodNotAllowed(["GET"]);
    if (path === "/health") {
      return Response.json({
        status: "healthy",
        server: SERVER_A_NAME,
        serverB: deps.client.url,
        messagesSent: (await deps.ledger.stats()).totalRequests,
      });
    }
    if (path === "/health/ready") {
      return await readinessResponse({
        database: () => deps.ledger.problem(),
        serverB,
        server: () => deps.stopping() ? "shutting down" : undefined,
      });
    }
    await authenticate(request, deps.auth);
    if (path === "/metrics") return deps.metrics.response();
    throw new HttpError(404, "not_found", `No route ${path}`);
  };
}
