/**
 * Server A, the messenger: an MCP server over stdio (for clients that spawn it) or Streamable
 * HTTP, whose tools forward to Server B over plain HTTP.
 * @module
 */
import process from "node:process";
import {
  authenticatorFor,
  createHttpObserver,
  errorResponse,
  guardOf,
  listen,
  type Listening,
  readCaCerts,
  warnIfExposed,
} from "../http/mod.ts";
import { type Config, createLogger, HttpError } from "../core/mod.ts";
import { sharedRedisOf } from "../shared/mod.ts";
import {
  countMcpSessions,
  countServerBRetries,
  createServerMetrics,
  instrumentLedger,
  instrumentServerBClient,
  type MetricsRegistry,
} from "../metrics/mod.ts";
import { type Ledger, openConfiguredLedger } from "../ledger/mod.ts";
import { createMcpHttpHandler, MCP_HTTP_PATHS, type McpEra, serveMcpStdio } from "../mcp/mod.ts";
import { createServerAOpsHandler, SERVER_A_OPS_PATHS } from "./_ops.ts";
import type { ServerBClient } from "./_b_client.ts";
import { createServerBPool, type ServerBPoolOptions } from "./b_pool.ts";
import { createGatewayFromConfig, type Gateway, withGateway } from "./_gateway.ts";
import { createServerAMcp, SERVER_A_MCP_NAME } from "./tools.ts";

/** How MCP clients reach Server A. */
export type ServerATransport = "stdio" | "http";

/** Options of {@linkcode startServerA}. */
export interface ServerAOptions {
  /** Stops the server when aborted. */
  signal?: AbortSignal;
  /** `stdio` (default) or `http` (MCP at `/mcp` on SERVER_A_HOST:SERVER_A_PORT). */
  transport?: ServerATransport;
  version?: string;
  /** `--upstream NAME=TARGET` values: MCP servers to aggregate (replace UPSTREAMS). */
  upstreams?: readonly string[] | undefined;
  /** `--upstream-header NAME=Header: value` values (replace UPSTREAM_HEADERS). */
  upstreamHeaders?: readonly string[] | undefined;
  /** The environment `${VAR}` in upstream headers and UPSTREAMS_FILE reads from. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Where the ledger lives when MCPCOMM_DB is unset (`server-a.db` there); else in memory. */
  dataDir?: string | undefined;
  /** Variables passed on to `stdio:` upstreams. */
  childEnv?: Record<string, string> | undefined;
}

/** A running Server A. */
export interface RunningServerA {
  /** Base URL with `transport: "http"`, e.g. `http://127.0.0.1:8001`; MCP is at `${url}/mcp`. */
  url?: string;
  client: ServerBClient;
  ledger: Ledger;
  /** The gateway over the upstream MCP servers, when any is configured. */
  gateway?: Gateway | undefined;
  /** What `/metrics` shows (with `transport: "http"`). */
  metrics: MetricsRegistry;
  /** Resolves when the server has stopped (signal aborted, or stdin closed in stdio mode). */
  finished: Promise<void>;
}

/**
 * Server A's client to Server B as the settings describe it: `SERVER_B_URL`, `TIMEOUT_SECONDS`,
 * `RETRY_ATTEMPTS`, `MCPCOMM_AUTH_TOKEN`, `SERVER_B_CA_CERT` and the `SERVER_B_OAUTH_*` client
 * credentials (which win over the token).
 */
export function serverBPoolOptions(config: Config): ServerBPoolOptions {
  return {
    urls: config.SERVER_B_URL,
    timeoutMs: config.TIMEOUT_SECONDS * 1000,
    attempts: config.RETRY_ATTEMPTS,
    authToken: config.MCPCOMM_AUTH_TOKEN,
    oauth: {
      clientId: config.SERVER_B_OAUTH_CLIENT_ID,
      clientSecret: config.SERVER_B_OAUTH_CLIENT_SECRET,
      tokenUrl: config.SERVER_B_OAUTH_TOKEN_URL,
      issuer: config.SERVER_B_OAUTH_ISSUER,
      privateKeyFile: config.SERVER_B_OAUTH_PRIVATE_KEY_FILE,
      authMethod: config.SERVER_B_OAUTH_AUTH_METHOD,
      scope: config.SERVER_B_OAUTH_SCOPE,
      resource: config.SERVER_B_OAUTH_RESOURCE,
      serverBUrl: config.SERVER_B_URL[0]!,
    },
    caCerts: readCaCerts(config),
  };
}

/**
 * Starts Server A and resolves once it serves MCP. It starts whether or not Server B is up.
 * @example
 * ```ts
 * const controller = new AbortController();
 * const a = await startServerA(config, { transport: "http", signal: controller.signal });
 * // MCP clients connect to `${a.url}/mcp`
 * controller.abort();
 * await a.finished;
 * ```
 */
export async function startServerA(
  config: Config,
  options: ServerAOptions = {},
): Promise<RunningServerA> {
  const log = createLogger("server-a");
  const version = options.version ?? "0.0.0";
  const metrics = createServerMetrics("server-a", version);
  const ledger = instrumentLedger(
    await openConfiguredLedger(config, { server: "server-a", dataDir: options.dataDir, log }),
    metrics,
  );
  const onRetry = countServerBRetries(metrics);
  const http1 = !Object.keys(options.childEnv ?? {}).some((name) =>
    /^(https?|all)_proxy$/i.test(name)
  );
  const client = instrumentServerBClient(
    createServerBPool({ ...serverBPoolOptions(config), log, onRetry, http1 }),
    metrics,
    log,
  );
  const gateway = createGatewayFromConfig(config, {
    upstreams: options.upstreams,
    upstreamHeaders: options.upstreamHeaders,
    env: options.env,
    version: options.version ?? "0.0.0",
    log,
    childEnv: options.childEnv,
  });
  await gateway?.ready(10_000);
  const deps = { client, ledger, version: options.version ?? "0.0.0", log };
  const { signal } = options;
  const createServer = (era: McpEra) =>
    withGateway(createServerAMcp(deps, { gateway: gateway !== undefined }), gateway, era);

  if ((options.transport ?? "stdio") === "stdio") {
    const stdio = serveMcpStdio(createServer, {
      directCalls: config.MCP_DIRECT_CALLS,
      onerror: (error) => log.debug("MCP stdio error", { error: String(error) }),
    });
    const stopped = Promise.withResolvers<void>();
    let stopping = false;
    const stop = (reason: string) => {
      if (stopping) return;
      stopping = true;
      stdio.close().catch(() => {});
      client.close();
      void gateway?.close();
      void Promise.resolve(ledger.close()).finally(() => {
        log.info("Server A stopped", { reason, ledger: ledger.location });
        stopped.resolve();
      });
    };
    process.stdin.once("end", () => stop("stdin closed"));
    signal?.addEventListener("abort", () => stop("signal"), { once: true });
    log.info("Server A ready on stdio", {
      server: SERVER_A_MCP_NAME,
      serverB: client.url,
      ledger: ledger.location,
    });
    return { client, ledger, gateway, metrics, finished: stopped.promise };
  }

  const mcpHttp = createMcpHttpHandler({
    createServer,
    config,
    bindHost: config.SERVER_A_HOST,
    log,
    directCalls: config.MCP_DIRECT_CALLS,
    shared: await sharedRedisOf(config.MCPCOMM_REDIS, "server-a", log),
  });
  gateway?.onListChanged((kinds) => {
    if (kinds.includes("tools")) mcpHttp.notify.toolsChanged();
    if (kinds.includes("resources")) mcpHttp.notify.resourcesChanged();
    if (kinds.includes("prompts")) mcpHttp.notify.promptsChanged();
  });
  countMcpSessions(metrics, () => mcpHttp.sessionCount);
  const observer = createHttpObserver({
    metrics,
    log,
    routes: [...MCP_HTTP_PATHS, ...SERVER_A_OPS_PATHS],
  });
  const ops = createServerAOpsHandler({
    ledger,
    client,
    metrics,
    auth: authenticatorFor(config),
    stopping: () => observer.stopping,
  });
  let listening: Listening;
  try {
    listening = await listen(
      {
        hostname: config.SERVER_A_HOST,
        port: config.SERVER_A_PORT,
        portSetting: "SERVER_A_PORT",
        hostSetting: "SERVER_A_HOST",
        readTimeoutSeconds: config.READ_TIMEOUT_SECONDS,
        maxConnectionsPerAddress: config.MAX_CONNECTIONS_PER_ADDRESS,
        log,
      },
      observer.wrap(async (request, info) => {
        try {
          const answer = (await mcpHttp.handle(request, info)) ?? (await ops(request));
          if (answer) return answer;
          throw new HttpError(404, "not_found", `No route ${new URL(request.url).pathname}`);
        } catch (error) {
          return errorResponse(error, log);
        }
      }),
    );
  } catch (error) {
    await mcpHttp.close();
    client.close();
    await gateway?.close();
    await ledger.close();
    throw error;
  }
  const { server, addr, url } = listening;
  log.info("Server A listening", {
    url,
    mcp: `${url}/mcp`,
    bind: `${addr.hostname}:${addr.port}`,
    serverB: client.url,
  });
  warnIfExposed(log, {
    server: "Server A",
    bindHost: addr.hostname,
    port: addr.port,
    token: guardOf(config),
    exposed: ["MCP at /mcp, /sse, /messages (every Server A tool, which spends Server B's AI)"],
  });
  const shutdown = () => void observer.shutdown(server, config.SHUTDOWN_TIMEOUT_SECONDS * 1000);
  if (signal?.aborted) shutdown();
  else signal?.addEventListener("abort", shutdown, { once: true });
  const finished = server.finished.then(async () => {
    await mcpHttp.close();
    client.close();
    await gateway?.close();
    await ledger.close();
    log.info("Server A stopped", { reason: "signal", ledger: ledger.location });
  });
  return { url, client, ledger, gateway, metrics, finished };
}

export * from "./b_pool.ts";
export * from "./tools.ts";
