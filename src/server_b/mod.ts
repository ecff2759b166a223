/**
 * Server B, the AI responder: its HTTP API on `Deno.serve`, and MCP over stdio or HTTP.
 * @module
 */
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { Config } from "../config.ts";
import { createMemoryLedger } from "../ledger.ts";
import { createLogger } from "../log.ts";
import { createProvider } from "../providers/mod.ts";
import type { Provider } from "../providers/types.ts";
import { createServerBHandler } from "./routes.ts";
import { type AiService, createAiService } from "./service.ts";
import { createServerBMcp } from "./tools.ts";

/** Options of {@linkcode startServerB}. */
export interface ServerBOptions {
  /** Stops the server when aborted. */
  signal?: AbortSignal;
  /** Also serve MCP over stdio in this process. */
  mcpStdio?: boolean;
  /** Replaces the provider the settings name (tests). */
  provider?: Provider;
  version?: string;
}

/** A running Server B. */
export interface RunningServerB {
  /** Base URL, e.g. `http://127.0.0.1:8000`. */
  url: string;
  service: AiService;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

function displayHost(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  return hostname.includes(":") ? `[${hostname}]` : hostname;
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
  const log = createLogger("server-b");
  const version = options.version ?? "0.0.0";
  const provider = options.provider ?? createProvider(config);
  const service = createAiService({
    provider,
    ledger: createMemoryLedger(config.MAX_STORED_MESSAGES),
    defaults: {
      model: provider.defaultModel,
      temperature: config.AI_TEMPERATURE,
      maxTokens: config.AI_MAX_TOKENS,
    },
    timeoutMs: config.TIMEOUT_SECONDS * 1000,
    attempts: config.RETRY_ATTEMPTS,
    log,
  });
  const handler = createServerBHandler({
    service,
    maxBodyBytes: config.MAX_BODY_BYTES,
    log,
    publicConfig: provider.name === "openai" && config.OPENAI_BASE_URL
      ? { baseUrl: config.OPENAI_BASE_URL }
      : provider.name === "bedrock"
      ? { region: config.AWS_REGION }
      : {},
  });

  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: config.HTTP_HOST,
    port: config.HTTP_PORT,
    ...(options.signal ? { signal: options.signal } : {}),
    onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
    onError: (error) => {
      log.error("request failed", { error: String(error) });
      return Response.json({ error: { code: "internal", message: "Internal server error" } }, {
        status: 500,
      });
    },
  }, handler);
  const addr = await listening.promise;
  const url = `http://${displayHost(addr.hostname)}:${addr.port}`;
  log.info("Server B listening", {
    url,
    bind: `${addr.hostname}:${addr.port}`,
    provider: provider.name,
  });
  const status = provider.status();
  if (!status.configured) {
    log.warn("AI provider not configured", { provider: provider.name, reason: status.reason });
  }

  if (options.mcpStdio) {
    const mcp = createServerBMcp(service, version);
    await mcp.connect(new StdioServerTransport());
    log.info("MCP over stdio ready", { server: "ai-responder-server" });
  }
  return { url, service, finished: server.finished };
}
