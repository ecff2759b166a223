/**
 * `mcpcomm toolbox`: start the demo MCP server with a chosen set of tools.
 * @module
 */
import { resolve } from "node:path";
import type { Command } from "../cli.ts";
import { commandFlags } from "./_flags.ts";
import { UsageError, VERSION } from "../core/mod.ts";
import { selectTools, startToolbox, TOOLBOX_TOOLS } from "../toolbox/mod.ts";

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new UsageError(`--port "${value}" is not a port number (0-65535)`);
  }
  return port;
}

/** The `toolbox` subcommand. */
export const toolboxCommand: Command = {
  name: "toolbox",
  summary: "Start a demo MCP server (echo, get_time, list_files, math_calc, run_command)",
  help: `Usage: mcpcomm toolbox [flags]

Starts a demo MCP server with Streamable HTTP at /mcp, legacy SSE at /sse (+ /messages) and
WebSocket at /ws (subprotocol "mcp") on one port, or MCP over stdio.

Flags:
  --name NAME            Server name, shown in server://info and errors (default toolbox)
  --host HOST            Bind address (default 127.0.0.1)
  --port N               Port (default 8080; 0 picks a free one)
  --tools a,b,...        Enabled tools, from ${TOOLBOX_TOOLS.join(", ")}
                         (repeatable; default: all but run_command)
  --allow-run-command    Needed, with run_command in --tools, to let clients run programs
  --root DIR             Directory list_files may show and run_command runs in (default: cwd)
  --transport T          http (default) or stdio
  --read-timeout S       Close a request whose headers or body take longer, or an idle
                         connection, after S seconds (READ_TIMEOUT_SECONDS, default 60; 0 = off)
  --max-conns N          Connections at once from one client address; more get 503
                         (MAX_CONNECTIONS_PER_ADDRESS, default 64; 0 = off)
  --auth-token TOKEN     Require Authorization: Bearer TOKEN on /mcp, /sse and /ws
                         (MCPCOMM_AUTH_TOKEN; the environment is safer: flags show in ps)
  --insecure-no-auth     Serve run_command on a non-loopback address without a token
                         (MCPCOMM_INSECURE_NO_AUTH; refused otherwise)
  --redis URL            Share 2025-era MCP sessions, their resumable events and the rate limit
                         with the other replicas through Redis (MCPCOMM_REDIS: redis://...)
  -h, --help             Show this help

/mcp serves MCP 2026-07-28 per request and 2025-era sessions; stdio and /ws accept either
handshake. Disabled tools are absent from tools/list; calling one answers "Tool X is not enabled
on NAME".`,
  ...commandFlags(["read-timeout", "max-conns", "redis", "auth-token", "insecure-no-auth"], {}, {
    name: { type: "string" },
    host: { type: "string" },
    port: { type: "string" },
    tools: { type: "string", multiple: true },
    "allow-run-command": { type: "boolean" },
    root: { type: "string" },
    transport: { type: "string" },
  }),
  async run({ config, flags, signal }) {
    const transport = (flags.transport as string | undefined) ?? "http";
    if (transport !== "http" && transport !== "stdio") {
      throw new UsageError(`--transport accepts "http" or "stdio", got "${transport}"`);
    }
    const list = flags.tools as string[] | undefined;
    const tools = selectTools(list?.join(","), flags["allow-run-command"] === true);
    const name = (flags.name as string | undefined) ?? "toolbox";
    if (!/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/.test(name)) {
      throw new UsageError(
        `--name "${name}" must be 1-64 letters, digits, spaces, "_", "." or "-"`,
      );
    }
    const root = resolve((flags.root as string | undefined) ?? ".");
    try {
      if (!(await Deno.stat(root)).isDirectory) throw new Error();
    } catch {
      throw new UsageError(`--root "${root}" is not a directory`);
    }
    const host = (flags.host as string | undefined) ?? "127.0.0.1";
    const port = parsePort((flags.port as string | undefined) ?? "8080");
    const box = await startToolbox(config, {
      name,
      version: VERSION,
      tools,
      root,
      transport,
      host,
      port,
      signal,
    });
    await box.finished;
    return 0;
  },
};
