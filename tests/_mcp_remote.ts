/**
 * Test helper: `mcp-remote` (code nobody here wrote; the stdio<->HTTP proxy that desktop clients
 * use for remote servers) run through `npx`, driven by an SDK v2 client over its stdio.
 * @module
 */
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { npxEnv } from "./_npx.ts";
import { tempDir } from "./_helpers.ts";

/** The pinned `mcp-remote` package. */
export const MCP_REMOTE = "mcp-remote@0.15.1";

/**
 * Why `mcp-remote` cannot run here (no `npx`, no registry), or `undefined` when it can. The
 * first call may download the package: bounded, so a stalled download cannot hang the run.
 */
export async function mcpRemoteUnavailable(): Promise<string | undefined> {
  try {
    const probe = await new Deno.Command("npx", {
      args: ["-y", MCP_REMOTE, "--help"],
      signal: AbortSignal.timeout(240_000),
      env: npxEnv(),
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return probe.code === 0 ? undefined : `npx ${MCP_REMOTE} exits with code ${probe.code}`;
  } catch (error) {
    return `npx is not runnable (${error instanceof Error ? error.message : error})`;
  }
}

/**
 * Starts `mcp-remote URL` (with `--header NAME:VALUE` per header, `env` added to its
 * environment) and connects an SDK v2 client
 * to it over stdio; mcp-remote speaks the 2025 handshake on both sides. Close the client to stop
 * the proxy.
 * @example
 * ```ts
 * const client = await connectViaMcpRemote(`${box.url}/mcp`);
 * await client.listTools();
 * await client.close();
 * ```
 */
export async function connectViaMcpRemote(
  url: string,
  headers: Record<string, string> = {},
  env: Record<string, string> = {},
): Promise<Client> {
  const args = ["-y", MCP_REMOTE, url];
  for (const [name, value] of Object.entries(headers)) args.push("--header", `${name}:${value}`);
  // Its OAuth state and lock files go to a directory of this run only.
  const config = await tempDir({ prefix: "mcp-remote-" });
  const transport = new StdioClientTransport({
    command: "npx",
    args,
    env: { ...npxEnv(), ...env, MCP_REMOTE_CONFIG_DIR: config },
    stderr: "ignore",
  });
  const client = new Client({ name: "via-mcp-remote", version: "1.0.0" });
  const closed = () => Deno.remove(config, { recursive: true }).catch(() => {});
  try {
    await client.connect(transport);
  } catch (error) {
    await closed();
    throw error;
  }
  const close = client.close.bind(client);
  client.close = async () => {
    await close();
    await closed();
  };
  return client;
}
