/**
 * `mcpcomm server-a`: start Server A, the messenger MCP server.
 * @module
 */
import type { Command } from "../cli.ts";
import { commandFlags } from "./_flags.ts";
import { UsageError, VERSION } from "../core/mod.ts";
import { startServerA } from "../server_a/mod.ts";

/** The `server-a` subcommand. */
export const serverACommand: Command = {
  name: "server-a",
  summary: "Start Server A, the messenger MCP server (stdio or HTTP) that forwards to Server B",
  help: `Usage: mcpcomm server-a [flags]

Starts Server A, the MCP server "messenger-server" with the tools send_message_to_ai,
get_conversation_history and get_ai_usage_stats, which forward to Server B over HTTP.
It starts even while Server B is down; each tool call then reports what went wrong.

Flags:
  --server-b-url URL   Server B's URL (SERVER_B_URL, default http://localhost:8000); several,
                       comma-separated, are balanced round robin with health checks and failover
  --upstream NAME=TARGET  An MCP server to aggregate as a gateway (repeatable; UPSTREAMS): its
                       tools appear as NAME_tool. TARGET: http(s)://.../mcp, .../sse, ws(s)://...,
                       or stdio:COMMAND ARGS
  --upstream-header NAME=HEADER: VALUE  A header sent to upstream NAME only (repeatable;
                       UPSTREAM_HEADERS), e.g. 'gh=Authorization: Bearer \${GITHUB_TOKEN}':
                       \${VAR} is read from the environment at start-up, keeping the secret out
                       of argv; an unset VAR stops the start
  --upstreams-file FILE  More upstreams from a JSON file in the Claude Desktop shape
                       {"mcpServers": {NAME: {"url", "headers"} | {"command", "args", "env"}}}
                       (UPSTREAMS_FILE); \${VAR} is expanded in headers and env values
  --ca-cert FILE       Trust this PEM CA for an https:// Server B (SERVER_B_CA_CERT)
  --transport T        stdio (default: the MCP client spawns this process) or http
  --host HOST          Bind address with --transport http (SERVER_A_HOST, default 127.0.0.1)
  --port N             Port with --transport http (SERVER_A_PORT, default 8001; 0 picks a free one)
  --db PATH|URL        Ledger database (MCPCOMM_DB; default server-a.db in the user's data
                       directory, e.g. ~/.local/share/mcpcomm; :memory: keeps none;
                       postgres://user:password@host/db shares one ledger among replicas)
  --db-sync MODE       full: sync each ledger commit to disk (default); normal: faster, but
                       the last exchanges may be lost on power loss (MCPCOMM_DB_SYNC)
  --auth-token TOKEN   Send Authorization: Bearer TOKEN to Server B (only) and require it on
                       the HTTP routes (MCPCOMM_AUTH_TOKEN; the environment is safer: flags
                       show in ps). Upstreams get only their own --upstream-header headers
  --read-timeout S     With --transport http: close a request whose headers or body take
                       longer, or an idle connection, after S seconds (READ_TIMEOUT_SECONDS,
                       default 60; 0 = off)
  --max-conns N        With --transport http: connections at once from one client address;
                       more get 503 (MAX_CONNECTIONS_PER_ADDRESS, default 64; 0 = off)
  --redis URL          Share 2025-era MCP sessions, their resumable events and the rate limit
                       with the other replicas through Redis (MCPCOMM_REDIS: redis://...)
  -h, --help           Show this help

With --transport http, MCP is served at /mcp (Streamable HTTP), with GET /health,
/health/ready and /metrics (Prometheus) beside it. In stdio mode stdout carries
only the protocol; logs go to stderr. Other settings (TIMEOUT_SECONDS, RETRY_ATTEMPTS,
MCPCOMM_AUTH_TOKEN, ...) come from the environment or .env; see .env.example.`,
  ...commandFlags(["db", "db-sync", "auth-token", "read-timeout", "max-conns", "redis"], {
    "server-b-url": "SERVER_B_URL",
    "upstreams-file": "UPSTREAMS_FILE",
    "ca-cert": "SERVER_B_CA_CERT",
    host: "SERVER_A_HOST",
    port: "SERVER_A_PORT",
  }, {
    upstream: { type: "string", multiple: true },
    "upstream-header": { type: "string", multiple: true },
    transport: { type: "string" },
  }),
  async run({ config, flags, signal, dataDir, childEnv, env }) {
    const transport = flags.transport ?? "stdio";
    if (transport !== "stdio" && transport !== "http") {
      throw new UsageError(`--transport accepts "stdio" or "http", got "${transport}"`);
    }
    const server = await startServerA(config, {
      signal,
      transport,
      version: VERSION,
      upstreams: flags.upstream as string[] | undefined,
      upstreamHeaders: flags["upstream-header"] as string[] | undefined,
      env,
      dataDir,
      childEnv,
    });
    await server.finished;
    return 0;
  },
};
