/**
 * `mcpcomm client`: an interactive client for many MCP servers at once.
 * @module
 */
import { join } from "node:path";
import type { Command } from "../cli.ts";
import { colourWanted, createStyle, runClient } from "../client/mod.ts";
import { UsageError, VERSION } from "../core/mod.ts";
import {
  loadServersFile,
  mergeTargets,
  type NamedTarget,
  parseNamedTarget,
  TRANSPORT_HINTS,
  withHeaders,
} from "../mcp/mod.ts";

/** The `client` subcommand. */
export const clientCommand: Command = {
  name: "client",
  summary: "Talk to several MCP servers at once (interactive, --exec, or --mode test)",
  help: `Usage: mcpcomm client [flags] [NAME=]TARGET ...

Connects to every TARGET and offers commands at a prompt (line editing, history, Tab completion).

TARGET is one of
  http(s)://HOST:PORT/mcp     Streamable HTTP
  http(s)://HOST:PORT/sse     legacy HTTP+SSE
  ws(s)://HOST:PORT/ws        WebSocket (subprotocol mcp)
  stdio:COMMAND ARGS          a server spawned by the client
  HOST:PORT                   the toolbox endpoint chosen by --transport (default /mcp)
Targets without NAME= are named server1, server2, ...; --config adds the servers of a JSON file in
the Claude Desktop shape, named by their keys.

Commands: servers, add NAME TARGET [mcp|sse|ws], remove NAME, tools [NAME],
  call NAME TOOL [JSON], broadcast TOOL [JSON], resources [NAME], read NAME URI, help, quit

Flags:
  --exec COMMAND       Run COMMAND instead of prompting (repeatable, in order); exits 1 if any failed
  --mode MODE          interactive (default) or test: the automated checks against every server
  --json               One JSON object per line, for machines
  --transport T        mcp, sse or ws: the endpoint for HOST:PORT targets
  --timeout SECONDS    Timeout of one request (TIMEOUT_SECONDS, default 120)
  -H, --header NAME=HEADER: VALUE
                       A header sent to the server named NAME only (repeatable), e.g.
                       -H 'calc=Authorization: Bearer \${CALC_TOKEN}': \${VAR} is read from the
                       environment, keeping the secret out of argv; an unset VAR is an error
  --config FILE        Also connect the servers of FILE, in the Claude Desktop shape
                       {"mcpServers": {NAME: {"url", "headers", "type"} | {"command", "args",
                       "env"}}}; \${VAR} is expanded in headers and env values
  --oauth-dir DIR      Where OAuth registrations and tokens are kept, one file per server
                       (0600 files in a 0700 directory; default: oauth/ in mcpcomm's data
                       directory; with neither, a 401 fails the connection)
  --client-metadata-url URL
                       An https URL of this client's OAuth client ID metadata document, used as
                       its client_id where the authorization server supports that (else the
                       client registers dynamically)
  --dpop               Ask for DPoP-bound tokens (RFC 9449) wherever the authorization server
                       offers them (default: only where the server's metadata asks for DPoP)
  --no-oauth           Fail on a 401 instead of starting an OAuth authorization
  --oauth-auto         Testing aid: fetch the authorization URL without a browser and follow
                       its redirect (for authorization servers that approve without a user)
  -h, --help           Show this help

A server that answers 401 is authorized by OAuth 2.1 (the MCP authorization spec): the
authorization URL is printed to stderr (and opened in the browser when stdin is a terminal),
the code comes back to a listener on 127.0.0.1, and tokens are stored and refreshed per server.
Servers in --config with an "oauth" object {"clientId", "clientSecret": "\${VAR}" |
"privateKeyFile", "authMethod", "scope", "issuer", "tokenUrl"} use client credentials instead.

Colour only on a terminal and never with NO_COLOR set. MCPCOMM_AUTH_TOKEN is never sent to a
target: give a server that needs it -H 'NAME=Authorization: Bearer \${MCPCOMM_AUTH_TOKEN}'.`,
  options: {
    exec: { type: "string", multiple: true, short: "e" },
    mode: { type: "string" },
    json: { type: "boolean" },
    transport: { type: "string" },
    timeout: { type: "string" },
    header: { type: "string", multiple: true, short: "H" },
    config: { type: "string" },
    "oauth-dir": { type: "string" },
    "client-metadata-url": { type: "string" },
    "no-oauth": { type: "boolean" },
    dpop: { type: "boolean" },
    "oauth-auto": { type: "boolean" },
  },
  settingFlags: { timeout: "TIMEOUT_SECONDS" },
  allowPositionals: true,
  async run({ config, flags, positionals, signal, childEnv, dataDir, env = {} }) {
    const mode = (flags.mode as string | undefined) ?? "interactive";
    if (mode !== "interactive" && mode !== "test") {
      throw new UsageError(`--mode accepts "interactive" or "test", got "${mode}"`);
    }
    const hint = flags.transport as string | undefined;
    if (hint !== undefined && !(TRANSPORT_HINTS as readonly string[]).includes(hint)) {
      throw new UsageError(`--transport accepts mcp, sse or ws, got "${hint}"`);
    }
    let targets: NamedTarget[] = [];
    let unnamed = 0;
    for (const text of positionals) {
      const named = /^[A-Za-z0-9][A-Za-z0-9_-]*=/.test(text)
        ? parseNamedTarget(text, undefined, hint)
        : parseNamedTarget(text, `server${++unnamed}`, hint);
      if (targets.some((t) => t.name === named.name)) {
        throw new UsageError(`Server name "${named.name}" is given twice`);
      }
      targets.push(named);
    }
    const file = flags.config as string | undefined;
    if (file !== undefined) targets = mergeTargets(targets, loadServersFile(file, env, "--config"));
    targets = withHeaders(
      targets,
      (flags.header as string[] | undefined) ?? [],
      env,
      "--header",
      "server",
    );
    const exec = (flags.exec as string[] | undefined) ?? [];
    const json = flags.json === true;
    const metadataUrl = flags["client-metadata-url"] as string | undefined;
    if (metadataUrl !== undefined && !/^https:\/\/[^/]+\/./.test(metadataUrl)) {
      throw new UsageError(
        `--client-metadata-url must be an https URL with a path, got "${metadataUrl}"`,
      );
    }
    const oauthDir = (flags["oauth-dir"] as string | undefined) ??
      (dataDir ? join(dataDir, "oauth") : undefined);
    const interactive = Deno.stdin.isTerminal();
    return await runClient({
      targets,
      exec,
      mode,
      json,
      style: createStyle(!json && colourWanted(Deno.stdout.isTerminal(), Deno.noColor)),
      interactive,
      defaultTransport: hint,
      version: VERSION,
      timeoutMs: config.TIMEOUT_SECONDS * 1000,
      childEnv,
      oauth: flags["no-oauth"] === true || oauthDir === undefined ? undefined : {
        dir: oauthDir,
        clientMetadataUrl: metadataUrl,
        browser: flags["oauth-auto"] === true ? "auto" : interactive ? "open" : "print",
        dpop: flags.dpop === true,
      },
      signal,
    });
  },
};
