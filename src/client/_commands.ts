/**
 * The commands of `mcpcomm client` (the seed's interactive commands): parsing a line and running
 * it against the {@linkcode ServerRegistry}. Running yields data; `format.ts` renders it.
 * @module
 */
import type {
  CallToolResult,
  ReadResourceResult,
  Resource,
  Tool,
} from "@modelcontextprotocol/client";
import { describeError } from "../core/mod.ts";
import { parseTarget, splitCommandLine } from "../mcp/mod.ts";
import type { PerServer, ServerRegistry, ServerSummary } from "./_registry.ts";

/** The command words, with their usage, in `help` order. */
export const COMMAND_USAGE: readonly (readonly [string, string, string])[] = [
  ["servers", "servers", "List connected servers"],
  ["add", "add NAME TARGET [mcp|sse|ws]", "Connect another server (TARGET as on the command line)"],
  ["remove", "remove NAME", "Disconnect a server"],
  ["tools", "tools [NAME]", "List tools of every server, or of one"],
  ["call", "call NAME TOOL [JSON]", "Call a tool on one server (JSON arguments, default {})"],
  ["broadcast", "broadcast TOOL [JSON]", "Call a tool on every server at once"],
  ["resources", "resources [NAME]", "List resources of every server, or of one"],
  ["read", "read NAME URI", "Read a resource"],
  ["help", "help", "Show this list"],
  ["quit", "quit", "Disconnect everything and exit (also exit, Ctrl-D)"],
];

/** A tool as listed; `inputSchema` as the server sent it (shown in `--json` only). */
export interface ToolInfo {
  name: string;
  description?: string;
  inputSchema: Tool["inputSchema"];
}
/** A resource as listed. */
export interface ResourceInfo {
  uri: string;
  name: string;
  description?: string;
  mimeType?: string;
}

/** What one command produced. `ok` is false when anything in it failed. */
export type Outcome =
  | { command: "servers"; ok: true; servers: ServerSummary[] }
  | { command: "add"; ok: boolean; name: string; server?: ServerSummary; error?: string }
  | { command: "remove"; ok: boolean; name: string; error?: string }
  | { command: "tools"; ok: boolean; results: PerServer<ToolInfo[]>[] }
  | {
    command: "call";
    ok: boolean;
    server: string;
    tool: string;
    result?: CallToolResult;
    error?: string;
  }
  | { command: "broadcast"; ok: boolean; tool: string; results: PerServer<CallToolResult>[] }
  | { command: "resources"; ok: boolean; results: PerServer<ResourceInfo[]>[] }
  | {
    command: "read";
    ok: boolean;
    server: string;
    uri: string;
    result?: ReadResourceResult;
    error?: string;
  }
  | { command: "help"; ok: true }
  | { command: "quit"; ok: true }
  | { command: "empty"; ok: true }
  | { command: "invalid"; ok: false; input: string; error: string };

/** A command line that does not parse; the message shows the usage. */
export class CommandSyntaxError extends Error {
  override name = "CommandSyntaxError";
}

function usage(word: string): string {
  return COMMAND_USAGE.find(([w]) => w === word)?.[1] ?? word;
}

/** Splits off `count` whitespace-separated words; the rest of the line is returned whole. */
function words(line: string, count: number): [string[], string] {
  const out: string[] = [];
  let rest = line.trimStart();
  for (let i = 0; i < count && rest; i++) {
    const match = /^(\S+)\s*/.exec(rest)!;
    out.push(match[1]!);
    rest = rest.slice(match[0].length);
  }
  return [out, rest.trim()];
}

function parseArguments(text: string, word: string): Record<string, unknown> {
  if (text === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CommandSyntaxError(
      `Arguments are not valid JSON (${describeError(error)}); usage: ${usage(word)}`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CommandSyntaxError(`Arguments must be a JSON object; usage: ${usage(word)}`);
  }
  return value as Record<string, unknown>;
}

function toolInfo(tool: Tool): ToolInfo {
  return {
    name: tool.name,
    ...(tool.description ? { description: tool.description } : {}),
    inputSchema: tool.inputSchema,
  };
}

function resourceInfo(r: Resource): ResourceInfo {
  return {
    uri: r.uri,
    name: r.name,
    ...(r.description ? { description: r.description } : {}),
    ...(r.mimeType ? { mimeType: r.mimeType } : {}),
  };
}

/** What {@linkcode runCommand} needs besides the registry. */
export interface RunOptions {
  /** Transport for a bare `HOST:PORT` in `add` without a transport word. */
  defaultTransport?: string | undefined;
  signal?: AbortSignal;
}

/**
 * Parses and runs one command line. Never throws: every failure is an outcome with `ok: false`.
 * @example
 * ```ts
 * const outcome = await runCommand(servers, 'call calc math_calc {"expression": "2 + 2"}');
 * ```
 */
export async function runCommand(
  servers: ServerRegistry,
  line: string,
  options: RunOptions = {},
): Promise<Outcome> {
  const input = line.trim();
  try {
    return await run(servers, input, options);
  } catch (error) {
    return { command: "invalid", ok: false, input, error: describeError(error) };
  }
}

async function run(servers: ServerRegistry, input: string, options: RunOptions): Promise<Outcome> {
  const [[word = ""], rest] = words(input, 1);
  switch (word.toLowerCase()) {
    case "":
      return { command: "empty", ok: true };
    case "help":
    case "?":
      return { command: "help", ok: true };
    case "quit":
    case "exit":
      return { command: "quit", ok: true };
    case "servers":
      return { command: "servers", ok: true, servers: servers.servers() };
    case "add": {
      const [[name], targetText] = words(rest, 1);
      if (!name || !targetText) throw new CommandSyntaxError(`Usage: ${usage("add")}`);
      let target;
      if (targetText.startsWith("stdio:")) {
        target = parseTarget(targetText);
      } else {
        const parts = splitCommandLine(targetText);
        if (parts.length > 2) throw new CommandSyntaxError(`Usage: ${usage("add")}`);
        target = parseTarget(parts[0]!, parts[1] ?? options.defaultTransport);
      }
      try {
        return { command: "add", ok: true, name, server: await servers.add(name, target) };
      } catch (error) {
        return { command: "add", ok: false, name, error: describeError(error) };
      }
    }
    case "remove": {
      const [[name], extra] = words(rest, 1);
      if (!name || extra) throw new CommandSyntaxError(`Usage: ${usage("remove")}`);
      try {
        await servers.remove(name);
        return { command: "remove", ok: true, name };
      } catch (error) {
        return { command: "remove", ok: false, name, error: describeError(error) };
      }
    }
    case "tools": {
      const list = async (server: string) => (await servers.tools(server)).map(toolInfo);
      return { command: "tools", ...await onEach(servers, oneOrAll(rest, "tools"), list) };
    }
    case "resources":
      return { command: "resources", ...await listResources(servers, oneOrAll(rest, "resources")) };
    case "read": {
      const [[server, uri], extra] = words(rest, 2);
      if (!server || !uri || extra) throw new CommandSyntaxError(`Usage: ${usage("read")}`);
      return await readResource(servers, server, uri);
    }
    case "call": {
      const [[server, tool], json] = words(rest, 2);
      if (!server || !tool) throw new CommandSyntaxError(`Usage: ${usage("call")}`);
      const args = parseArguments(json, "call");
      // The seed's spelling of resource requests: `call NAME resources/list {}`.
      if (tool === "resources/list") {
        return { command: "resources", ...await listResources(servers, [server]) };
      }
      if (tool === "resources/read") {
        if (typeof args.uri !== "string") {
          throw new CommandSyntaxError('resources/read needs {"uri": "..."}');
        }
        return await readResource(servers, server, args.uri);
      }
      try {
        const result = await servers.call(server, tool, args, options.signal);
        return { command: "call", ok: result.isError !== true, server, tool, result };
      } catch (error) {
        const reason = options.signal?.aborted ? "cancelled" : describeError(error);
        return { command: "call", ok: false, server, tool, error: reason };
      }
    }
    case "broadcast": {
      const [[tool], json] = words(rest, 1);
      if (!tool) throw new CommandSyntaxError(`Usage: ${usage("broadcast")}`);
      const args = parseArguments(json, "broadcast");
      if (servers.names.length === 0) {
        return { command: "broadcast", ok: false, tool, results: [] };
      }
      const results = await servers.broadcast(tool, args, options.signal);
      return {
        command: "broadcast",
        ok: results.every((r) => r.ok && r.value.isError !== true),
        tool,
        results,
      };
    }
    default:
      throw new CommandSyntaxError(
        `Unknown command "${word}"; type help for the list`,
      );
  }
}

/** The servers a `tools` or `resources` line names: its optional NAME, or every server. */
function oneOrAll(rest: string, command: string): string[] | undefined {
  const [[name], extra] = words(rest, 1);
  if (extra) throw new CommandSyntaxError(`Usage: ${usage(command)}`);
  return name ? [name] : undefined;
}

/** Runs `fn` on the servers named (every one when none); `ok` when it succeeded on each. */
async function onEach<T>(
  servers: ServerRegistry,
  names: string[] | undefined,
  fn: (server: string) => Promise<T>,
): Promise<{ ok: boolean; results: PerServer<T>[] }> {
  const results = await servers.fanOut(fn, names);
  return { ok: results.every((r) => r.ok), results };
}

function listResources(servers: ServerRegistry, names: string[] | undefined) {
  return onEach(
    servers,
    names,
    async (server) => (await servers.resources(server)).map(resourceInfo),
  );
}

async function readResource(
  servers: ServerRegistry,
  server: string,
  uri: string,
): Promise<Outcome> {
  try {
    return { command: "read", ok: true, server, uri, result: await servers.read(server, uri) };
  } catch (error) {
    return { command: "read", ok: false, server, uri, error: describeError(error) };
  }
}
