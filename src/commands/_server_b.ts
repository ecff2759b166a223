/**
 * `mcpcomm server-b`: start Server B.
 * @module
 */
import type { Command } from "../cli.ts";
import { commandFlags } from "./_flags.ts";
import { UsageError, VERSION } from "../core/mod.ts";
import { startServerB } from "../server_b/mod.ts";

/** The `server-b` subcommand. */
export const serverBCommand: Command = {
  name: "server-b",
  summary: "Start Server B, the AI responder (HTTP API, MCP over HTTP or stdio)",
  help: `Usage: mcpcomm server-b [flags]

Starts Server B: POST /process, POST /stream (SSE), GET /health, /health/ready, /models, /config,
/metrics (Prometheus), and MCP at /mcp (Streamable HTTP) and /sse + /messages (legacy HTTP+SSE).
SIGTERM or SIGINT stops it gracefully.

Flags:
  --host HOST          Bind address (HTTP_HOST, default 0.0.0.0)
  --port N             Port (HTTP_PORT, default 8000; 0 picks a free one)
  --provider NAME      mock, openai or bedrock (AI_PROVIDER, default mock)
  --mcp stdio          Also serve MCP over stdio (for clients that spawn Server B)
  --tls-cert FILE      Serve HTTPS with this PEM certificate chain (TLS_CERT_FILE)
  --tls-key FILE       ... and this PEM private key (TLS_KEY_FILE)
  --auth-token TOKEN   Require Authorization: Bearer TOKEN on every route but /health and
                       /health/ready (MCPCOMM_AUTH_TOKEN; the environment is safer: flags
                       show in ps)
  --insecure-no-auth   Serve openai/bedrock on a non-loopback address without a token
                       (MCPCOMM_INSECURE_NO_AUTH; refused otherwise)
  --db PATH|URL        Ledger database (MCPCOMM_DB; default server-b.db in the user's data
                       directory, e.g. ~/.local/share/mcpcomm; :memory: keeps none;
                       postgres://user:password@host/db shares one ledger among replicas)
  --db-sync MODE       full: sync each ledger commit to disk (default); normal: faster, but
                       the last exchanges may be lost on power loss (MCPCOMM_DB_SYNC)
  --read-timeout S     Close a request whose headers or body take longer, or an idle
                       connection, after S seconds (READ_TIMEOUT_SECONDS, default 60; 0 = off)
  --max-conns N        Connections at once from one client address; more get 503
                       (MAX_CONNECTIONS_PER_ADDRESS, default 64; 0 = off; both 0 behind nginx)
  --redis URL          Share 2025-era MCP sessions, their resumable events and the rate limit
                       with the other replicas through Redis (MCPCOMM_REDIS: redis://...)
  -h, --help           Show this help

Every other setting comes from the environment or .env; see .env.example.`,
  ...commandFlags([
    "db",
    "db-sync",
    "auth-token",
    "insecure-no-auth",
    "read-timeout",
    "max-conns",
    "redis",
  ], {
    host: "HTTP_HOST",
    port: "HTTP_PORT",
    provider: "AI_PROVIDER",
    "tls-cert": "TLS_CERT_FILE",
    "tls-key": "TLS_KEY_FILE",
  }, { mcp: { type: "string" } }),
  async run({ config, flags, signal, dataDir }) {
    if (flags.mcp !== undefined && flags.mcp !== "stdio") {
      throw new UsageError(`--mcp accepts only "stdio", got "${flags.mcp}"`);
    }
    const server = await startServerB(config, {
      signal,
      mcpStdio: flags.mcp === "stdio",
      version: VERSION,
      dataDir,
    });
    await server.finished;
    return 0;
  },
};
