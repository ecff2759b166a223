/**
 * Command-line parsing with `node:util` `parseArgs`: each subcommand declares its flags, which
 * flags set which settings, and its help text.
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { type Config, type SettingName, UsageError } from "./core/mod.ts";

/** What a subcommand receives. */
export interface CommandContext {
  config: Config;
  /** Flag values as parsed (strings and booleans). */
  flags: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** mcpcomm's directory in the user's data directory (ledger files), if the environment names one. */
  dataDir?: string | undefined;
  /** Variables passed on to spawned stdio MCP servers (certificates, proxies, Deno's cache). */
  childEnv?: Record<string, string> | undefined;
  /** The environment (over `.env`) that `${VAR}` in headers and servers files reads from. */
  env?: Readonly<Record<string, string>> | undefined;
}

/** A subcommand of `mcpcomm`. */
export interface Command {
  name: string;
  summary: string;
  /** Full help text, shown by `mcpcomm NAME --help`. */
  help: string;
  options: ParseArgsOptionsConfig;
  /** Flags that set a setting, flag name -> setting name. */
  settingFlags: Record<string, SettingName>;
  allowPositionals?: boolean;
  /** Runs the command; resolves to the exit code. */
  run(context: CommandContext): Promise<number>;
}

/** The result of {@linkcode parseCommandLine}. */
export interface ParsedCommandLine {
  flags: CommandContext["flags"];
  positionals: string[];
  /** Settings given as flags, keyed by setting name. */
  settings: Partial<Record<SettingName, string>>;
  help: boolean;
}

/** Parses a subcommand's arguments; unknown flags and bad flag shapes are {@linkcode UsageError}s. */
export function parseCommandLine(command: Command, args: string[]): ParsedCommandLine {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...command.options, help: { type: "boolean", short: "h" } },
      allowPositionals: command.allowPositionals ?? false,
      strict: true,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(
      `${
        message.replace(/\. To specify a positional.*$/s, "")
      } (see mcpcomm ${command.name} --help)`,
    );
  }
  const settings: Partial<Record<SettingName, string>> = {};
  for (const [flag, name] of Object.entries(command.settingFlags)) {
    const value = (parsed.values as Record<string, unknown>)[flag];
    if (typeof value === "string") settings[name] = value;
    else if (value === true) settings[name] = "true";
    else if (Array.isArray(value)) settings[name] = value.join(",");
  }
  return {
    flags: parsed.values as CommandContext["flags"],
    positionals: parsed.positionals,
    settings,
    help: parsed.values.help === true,
  };
}

/** The docs pages `mcpcomm --help` points to: a path in the source tree and its subject. */
export const DOCS_PAGES: readonly (readonly [path: string, subject: string])[] = [
  ["README.md", "start here: the two commands, one and two machines, Claude Desktop"],
  ["docs/configuration.md", "every setting, its default and what it accepts"],
  ["docs/server_b_api.md", "Server B's HTTP API and its MCP tools"],
  ["docs/server_a.md", "Server A's tools, retries and failover; mcpcomm test"],
  ["docs/mcp.md", "MCP transports, sessions, resumability, protocol revisions"],
  ["docs/security.md", "what is guarded and how; the token"],
  ["docs/providers.md", "mock, OpenAI and compatible servers, AWS Bedrock"],
  ["docs/oauth.md", "OAuth between the servers and for mcpcomm client"],
  ["docs/gateway.md", "Server A as a gateway of upstream MCP servers and a balancer"],
  ["docs/client.md", "mcpcomm client"],
  ["docs/toolbox.md", "mcpcomm toolbox"],
  ["docs/ledger.md", "what is recorded, where, and for how long"],
  ["docs/deploy.md", "TLS, systemd, nginx, containers, replicas, PostgreSQL, Redis"],
  ["docs/observability.md", "metrics, request IDs, logs, health, shutdown"],
  ["docs/benchmarks.md", "deno task bench"],
  ["docs/development.md", "tests, CI, deno task compile, permissions"],
  ["docs/architecture.md", "the layers of src/ and one request's path through them"],
];

/** What {@linkcode commandMap} prints besides the commands. */
export interface CommandMapOptions {
  version: string;
  /** The main flags of each subcommand, by name. */
  mainFlags: Readonly<Record<string, string>>;
}

/** The map of the commands printed by `mcpcomm --help` (and `deno task start --help`). */
export function commandMap(commands: readonly Command[], options: CommandMapOptions): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const docsWidth = Math.max(...DOCS_PAGES.map(([path]) => path.length));
  return [
    `mcpcomm ${options.version}: MCP servers talking to each other across machines`,
    "",
    "Usage: mcpcomm <command> [flags]       (from a clone: deno task start <command> [flags])",
    "       mcpcomm --version",
    "",
    "Commands:",
    ...commands.flatMap((c) => {
      const flags = options.mainFlags[c.name];
      const line = `  ${c.name.padEnd(width)}  ${c.summary}`;
      return flags ? [line, `  ${"".padEnd(width)}    ${flags}`] : [line];
    }),
    "",
    "One machine, mock provider, no keys:",
    "  mcpcomm server-b        # terminal 1: Server B on :8000",
    "  mcpcomm test            # terminal 2: an MCP client -> Server A -> Server B",
    "",
    "Run `mcpcomm <command> --help` for all of a command's flags. Settings come from flags, then the",
    "environment, then .env in the working directory; see .env.example and docs/configuration.md.",
    "",
    "Docs, in the source tree:",
    ...DOCS_PAGES.map(([path, subject]) => `  ${path.padEnd(docsWidth)}  ${subject}`),
  ].join("\n");
}
