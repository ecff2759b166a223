/**
 * The token file of `mcpcomm client`: one server's client registration, redirect port and tokens,
 * written atomically, 0600 in a 0700 directory.
 * @module
 */
import type { StoredOAuthClientInformation, StoredOAuthTokens } from "@modelcontextprotocol/client";
import { join } from "node:path";
import { printError } from "../core/mod.ts";

/** What one token file holds. */
export interface Stored {
  server: string;
  redirectPort?: number;
  client?: StoredOAuthClientInformation;
  tokens?: StoredOAuthTokens;
}

/** The file of one server's registration and tokens in `dir`. */
export async function tokenFilePath(dir: string, serverUrl: URL): Promise<string> {
  const key = `${serverUrl.origin}${serverUrl.pathname}`;
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)),
  );
  const hex = [...digest.slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return join(dir, `${serverUrl.hostname.replace(/[^A-Za-z0-9.-]/g, "_")}-${hex}.json`);
}

/** Creates `dir` 0700 and returns the token file of `serverUrl` in it. */
export async function openTokenFile(dir: string, serverUrl: URL): Promise<string> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  if (Deno.build.os !== "windows") await Deno.chmod(dir, 0o700);
  return await tokenFilePath(dir, serverUrl);
}

/** The record of `server` in `file`; none when the file is missing, unreadable or another's. */
export async function readStored(file: string, server: string): Promise<Stored | undefined> {
  try {
    const parsed = JSON.parse(await Deno.readTextFile(file)) as Stored;
    if (parsed.server === server) return parsed;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      printError(`mcpcomm client: ignoring unreadable token file ${file}`);
    }
  }
  return undefined;
}

/** Writes `stored` to `file` through a new 0600 temporary file renamed over it. */
export async function writeStored(file: string, stored: Stored): Promise<void> {
  const text = `${JSON.stringify(stored, null, 2)}\n`;
  const temp = `${file}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(temp, text, { mode: 0o600, createNew: true });
  if (Deno.build.os !== "windows") await Deno.chmod(temp, 0o600);
  await Deno.rename(temp, file);
}
