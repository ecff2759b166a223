/**
 * The flags several subcommands share, each declared once with the setting it sets.
 * @module
 */
import type { ParseArgsOptionsConfig } from "node:util";
import type { Command } from "../cli.ts";
import type { SettingName } from "../core/mod.ts";

/** Flags of the settings the servers share (ledger, token, limits, Redis), flag -> setting. */
const SHARED_SETTING_FLAGS = {
  db: "MCPCOMM_DB",
  "db-sync": "MCPCOMM_DB_SYNC",
  "auth-token": "MCPCOMM_AUTH_TOKEN",
  "insecure-no-auth": "MCPCOMM_INSECURE_NO_AUTH",
  "read-timeout": "READ_TIMEOUT_SECONDS",
  "max-conns": "MAX_CONNECTIONS_PER_ADDRESS",
  redis: "MCPCOMM_REDIS",
} as const satisfies Record<string, SettingName>;

/** A flag of {@linkcode SHARED_SETTING_FLAGS}. */
export type SharedFlag = keyof typeof SHARED_SETTING_FLAGS;

/** Settings that are on or off: their flag takes no value. */
const SWITCHES: ReadonlySet<SettingName> = new Set(["MCPCOMM_INSECURE_NO_AUTH"]);

/**
 * A subcommand's `options` and `settingFlags`: the shared flags it takes, its own flags that set
 * a setting (a value each, none for an on/off setting), and its other flags.
 * @example
 * ```ts
 * commandFlags(["db", "redis"], { port: "HTTP_PORT" }, { mcp: { type: "string" } });
 * ```
 */
export function commandFlags(
  shared: readonly SharedFlag[],
  settings: Record<string, SettingName> = {},
  other: ParseArgsOptionsConfig = {},
): Pick<Command, "options" | "settingFlags"> {
  const settingFlags: Record<string, SettingName> = { ...settings };
  for (const flag of shared) settingFlags[flag] = SHARED_SETTING_FLAGS[flag];
  const options: ParseArgsOptionsConfig = { ...other };
  for (const [flag, name] of Object.entries(settingFlags)) {
    options[flag] = { type: SWITCHES.has(name) ? "boolean" : "string" };
  }
  return { options, settingFlags };
}
