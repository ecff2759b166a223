/**
 * Command-line parsing with `node:util` `parseArgs`: each subcommand declares its flags, which
 * flags set which settings, and its help text.
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import type { Config, SettingName } from "./core/config.ts";
import { UsageError } from "./core/errors.ts";

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
