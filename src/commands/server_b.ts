/**
 * `mcpcomm server-b`: start Server B.
 * @module
 */
import type { Command } from "../cli.ts";
import { UsageError } from "../errors.ts";
import { VERSION } from "../version.ts";
import { startServerB } from "../server_b/mod.ts";

/** The `server-b` subcommand. */
export const serverBCommand: Command = {
  name: "server-b",
  summary: "Start Server B, the AI responder (HTTP API, MCP over HTTP or stdio)",
  help: `Usage: mcpcomm server-b [flags]

Starts Server B: POST /process, POST /stream (SSE), GET /health, /models, /config, and MCP at /mcp.

Flags:
  --host HOST          Bind address (HTTP_HOST, default 0.0.0.0)
  --port N             Port (HTTP_PORT, default 8000; 0 picks a free one)
  --provider NAME      mock, openai or bedrock (AI_PROVIDER, default mock)
  --mcp stdio          Also serve MCP over stdio (for clients that spawn Server B)
  -h, --help           Show this help

Every other setting comes from the environment or .env; see .env.example.`,
  options: {
    host: { type: "string" },
    port: { type: "string" },
    provider: { type: "string" },
    mcp: { type: "string" },
  },
  settingFlags: { host: "HTTP_HOST", port: "HTTP_PORT", provider: "AI_PROVIDER" },
  async run({ config, flags, signal }) {
    if (flags.mcp !== undefined && flags.mcp !== "stdio") {
      throw new UsageError(`--mcp accepts only "stdio", got "${flags.mcp}"`);
    }
    const server = await startServerB(config, {
      signal,
      mcpStdio: flags.mcp === "stdio",
      version: VERSION,
    });
    await server.finished;
    return 0;
  },
};
