/**
 * Where mcpcomm keeps its files: the user's data directory on each platform. Pure functions of
 * the OS and the environment, which only `src/main.ts` reads.
 * @module
 */
import { join, win32 } from "node:path";

/** The operating systems `Deno.build.os` names. */
export type OperatingSystem = typeof Deno.build.os;

/**
 * mcpcomm's directory in the user's data directory, or `undefined` when the environment names
 * none: `$XDG_DATA_HOME/mcpcomm` wherever XDG_DATA_HOME is set, else
 * `~/Library/Application Support/mcpcomm` (macOS), `%LOCALAPPDATA%\mcpcomm` (Windows),
 * `~/.local/share/mcpcomm` (elsewhere).
 * @example
 * ```ts
 * dataDirectory("linux", { HOME: "/home/ada" }); // "/home/ada/.local/share/mcpcomm"
 * ```
 */
export function dataDirectory(
  os: OperatingSystem,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const xdg = env.XDG_DATA_HOME;
  if (xdg && isAbsolute(os, xdg)) return pathJoin(os, xdg, "mcpcomm");
  if (os === "windows") {
    const local = env.LOCALAPPDATA ??
      (env.USERPROFILE ? win32.join(env.USERPROFILE, "AppData", "Local") : undefined);
    return local ? win32.join(local, "mcpcomm") : undefined;
  }
  const home = env.HOME;
  if (!home) return undefined;
  if (os === "darwin") return join(home, "Library", "Application Support", "mcpcomm");
  return join(home, ".local", "share", "mcpcomm");
}

/** The default ledger file of one server (`server-a`, `server-b`) in `dir`. */
export function defaultDatabasePath(dir: string, server: string): string {
  return join(dir, `${server}.db`);
}

function isAbsolute(os: OperatingSystem, path: string): boolean {
  return os === "windows" ? win32.isAbsolute(path) : path.startsWith("/");
}

function pathJoin(os: OperatingSystem, ...parts: string[]): string {
  return os === "windows" ? win32.join(...parts) : join(...parts);
}
