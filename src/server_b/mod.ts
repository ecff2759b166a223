/**
 * Server B, the AI responder: its HTTP API on `Deno.serve`, and MCP over stdio or HTTP.
 * @module
 */
import process from "node:process";
import {
  authenticatorFor,
  createHttpObserver,
  createRateLimiter,
  createSharedRateLimiter,
  guardOf,
  listen,
  type Listening,
  readServerTls,
  refuseOpenBind,
  warnIfExposed,
} from "../http/mod.ts";
import { type Config, createLogger, publicUrl } from "../core/mod.ts";
import { sharedRedisOf } from "../shared/mod.ts";
import {
  countMcpSessions,
  createServerMetrics,
  instrumentLedger,
  instrumentProvider,
  type MetricsRegistry,
} from "../metrics/mod.ts";
import { openConfiguredLedger } from "../ledger/mod.ts";
import { createMcpHttpHandler, serveMcpStdio } from "../mcp/mod.ts";
import { createProvider, type Provider, type ProviderOptions } from "../providers/mod.ts";
import { onError } from "./_errors.ts";
import { createServerBHandler } from "./_routes.ts";
import { type AiService, createAiService } from "./_service.ts";
import { createServerBMcp } from "./_tools.ts";

/** Options of {@linkcode startServerB}. */
export interface ServerBOptions {
  /** Stops the server when aborted. */
  signal?: AbortSignal;
  /** Also serve MCP over stdio in this process. */
  mcpStdio?: boolean;
  /** Replaces the provider the settings name (tests). */
  provider?: Provider;
  version?: string;
  /** Where the ledger lives when MCPCOMM_DB is unset (`server-b.db` there); else in memory. */
  dataDir?: string | undefined;
}

/** A running Server B. */
export interface RunningServerB {
  /** Base URL, e.g. `http://127.0.0.1:8000`. */
  url: string;
  service: AiService;
  /** What `/metrics` shows. */
  metrics: MetricsRegistry;
  /** Resolves when the server has stopped: requests drained, ledger flushed and closed. */
  finished: Promise<void>;
}

/** Server B's paths, as metrics label them (others count as `other`). */
export const SERVER_B_ROUTES: readonly string[] = [
  "/process",
  "/stream",
  "/health",
  "/health/ready",
  "/models",
  "/config",
  "/metrics",
  "/mcp",
  "/sse",
  "/messages",
];

/** The provider the settings name, with the settings each provider reads. */
export function providerOptions(config: Config): ProviderOptions {
  const timeoutMs = config.TIMEOUT_SECONDS * 1000;
  return {
    name: config.AI_PROVIDER,
    openai: {
      apiKey: config.OPENAI_API_KEY,
      baseUrl: config.OPENAI_BASE_URL,
      defaultModel: config.OPENAI_DEFAULT_MODEL,
      timeoutMs,
    },
    bedrock: {
      region: config.AWS_REGION,
      accessKeyId: config.AWS_ACCESS_KEY_ID,
      secretAccessKey: config.AWS_SECRET_ACCESS_KEY,
      sessionToken: config.AWS_SESSION_TOKEN,
      profile: config.AWS_PROFILE,
      endpoint: config.AWS_ENDPOINT_URL_BEDROCK_RUNTIME ?? config.AWS_ENDPOINT_URL,
      defaultModel: config.BEDROCK_DEFAULT_MODEL,
      timeoutMs,
    },
    mockDelayMs: config.MOCK_DELAY_MS,
  };
}

/**
 * Throws `ConfigError` when a real provider (openai, bedrock) would be served on a
 * non-loopback address without MCPCOMM_AUTH_TOKEN and MCPCOMM_INSECURE_NO_AUTH is not set: anyone
 * reaching the port could spend the provider's credit. The mock provider stays open by default.
 */
export function refuseOpenProvider(config: Config, provider: string): void {
  if (provider === "mock") return;
  refuseOpenBind({
    serving: `the ${provider} provider`,
    bindHost: config.HTTP_HOST,
    hostSetting: "HTTP_HOST, --host",
    token: guardOf(config),
    insecure: config.MCPCOMM_INSECURE_NO_AUTH,
  });
}

/**
 * Starts Server B and resolves once it listens.
 * @example
 * ```ts
 * const controller = new AbortController();
 * const b = await startServerB(loadConfig({ env: { HTTP_PORT: "0" } }), { signal: controller.signal });
 * await fetch(`${b.url}/health`);
 * controller.abort();
 * await b.finished;
 * ```
 */
export async function startServerB(
  config: Config,
  options: ServerBOptions = {},
): Promise<RunningServerB> {
  refuseOpenProvider(config, options.provider?.name ?? config.AI_PROVIDER);
  const auth = authenticatorFor(config);
  const tls = readServerTls(config);
  const log = createLogger("server-b");
  const version = options.version ?? "0.0.0";
  const metrics = createServerMetrics("server-b", version);
  const provider = instrumentProvider(
    options.provider ?? await createProvider(providerOptions(config)),
    metrics,
  );
  const retries = metrics.counter(
    "mcpcomm_provider_retries_total",
    "Provider calls retried after a failure worth retrying",
    ["provider"],
  );
  const ledger = instrumentLedger(
    await openConfiguredLedger(config, { server: "server-b", dataDir: options.dataDir, log }),
    metrics,
  );
  const observer = createHttpObserver({
    metrics,
    log,
    routes: SERVER_B_ROUTES,
    requestContext: false,
  });
  const service = createAiService({
    provider,
    ledger,
    onRetry: () => retries.inc({ provider: provider.name }),
    defaults: {
      model: provider.defaultModel,
      temperature: config.AI_TEMPERATURE,
      maxTokens: config.AI_MAX_TOKENS,
    },
    timeoutMs: config.TIMEOUT_SECONDS * 1000,
    attempts: config.RETRY_ATTEMPTS,
    log,
  });
  const shared = await sharedRedisOf(config.MCPCOMM_REDIS, "server-b", log);
  const rateLimiter = shared
    ? createSharedRateLimiter(config.RATE_LIMIT_PER_MINUTE, shared)
    : createRateLimiter(config.RATE_LIMIT_PER_MINUTE);
  const hostPolicy = {
    bindHost: config.HTTP_HOST,
    allowedHosts: config.MCP_ALLOWED_HOSTS,
    allowedOrigins: config.MCP_ALLOWED_ORIGINS,
  };
  const mcpHttp = createMcpHttpHandler({
    createServer: () => createServerBMcp(service, version),
    config,
    bindHost: hostPolicy.bindHost,
    log,
    rateLimiter,
    shared,
    // Server B's tools send nothing before their result (createServerBMcp).
    jsonResponses: config.MCP_DIRECT_CALLS,
  });
  countMcpSessions(metrics, () => mcpHttp.sessionCount);
  const handler = createServerBHandler({
    service,
    fallback: mcpHttp.handle,
    auth,
    rateLimiter,
    hostPolicy,
    maxBodyBytes: config.MAX_BODY_BYTES,
    log,
    publicConfig: provider.name === "openai" && config.OPENAI_BASE_URL
      ? { baseUrl: publicUrl(config.OPENAI_BASE_URL) }
      : provider.name === "bedrock"
      ? { region: config.AWS_REGION }
      : {},
    metrics,
    stopping: () => observer.stopping,
  });

  const stop = new AbortController();
  let listening: Listening;
  try {
    listening = await listen({
      tls,
      hostname: config.HTTP_HOST,
      port: config.HTTP_PORT,
      portSetting: "HTTP_PORT",
      hostSetting: "HTTP_HOST",
      readTimeoutSeconds: config.READ_TIMEOUT_SECONDS,
      maxConnectionsPerAddress: config.MAX_CONNECTIONS_PER_ADDRESS,
      log,
      onError: (error) => onError(error, log),
    }, observer.wrap(handler));
  } catch (error) {
    await ledger.close();
    throw error;
  }
  const { server, addr, url } = listening;
  log.info("Server B listening", {
    url,
    bind: `${addr.hostname}:${addr.port}`,
    provider: provider.name,
    ledger: ledger.location,
  });
  const shutdown = () => void observer.shutdown(server, config.SHUTDOWN_TIMEOUT_SECONDS * 1000);
  for (const signal of [options.signal, stop.signal]) {
    if (signal?.aborted) shutdown();
    else signal?.addEventListener("abort", shutdown, { once: true });
  }
  warnIfExposed(log, {
    server: "Server B",
    bindHost: addr.hostname,
    port: addr.port,
    token: guardOf(config),
    exposed: [
      "POST /process and /stream (spending the AI provider's credit)",
      "GET /models, /config, /metrics",
      "MCP at /mcp, /sse, /messages (every Server B tool, incl. configure_ai_model)",
    ],
  });
  const finished = server.finished.then(async () => {
    await mcpHttp.close();
    await ledger.close();
    log.info("Server B stopped", { ledger: ledger.location });
  });
  const status = provider.status();
  if (!status.configured) {
    log.warn("AI provider not configured", { provider: provider.name, reason: status.reason });
  }

  if (options.mcpStdio) {
    serveMcpStdio(() => createServerBMcp(service, version), {
      directCalls: config.MCP_DIRECT_CALLS,
      onerror: (error) => log.debug("MCP stdio error", { error: String(error) }),
    });
    log.info("MCP over stdio ready", { server: "ai-responder-server" });
    // The client closing stdin ends the stdio session (MCP lifecycle): the process stops too.
    process.stdin.once("end", () => {
      log.info("stdin closed, stopping Server B");
      stop.abort(new Error("stdin closed"));
    });
  }
  return { url, service, metrics, finished };
}
