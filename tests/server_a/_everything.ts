/**
 * The MCP reference server `@modelcontextprotocol/server-everything` (pinned in deno.json and the
 * lock), run under Deno over stdio, Streamable HTTP or HTTP+SSE, as an upstream of the gateway.
 * @module
 */
import type { NamedTarget, Target } from "../../src/mcp/targets.ts";
import { spawnServer } from "../_spawn.ts";

/** The pinned package, as deno.json maps it. */
export const EVERYTHING = "npm:@modelcontextprotocol/server-everything@2026.8.31";

/** The reference server's transports. */
export type EverythingTransport = "stdio" | "streamableHttp" | "sse";

/** The transports a test drives it over. */
export const EVERYTHING_TRANSPORTS: readonly EverythingTransport[] = [
  "stdio",
  "streamableHttp",
  "sse",
];

const decoder = new TextDecoder();

function childArgs(transport: EverythingTransport): string[] {
  return ["run", "-q", "-A", "--frozen", EVERYTHING, transport];
}

/** Why the reference server cannot run here, or `undefined` when it can. */
export async function everythingUnavailable(): Promise<string | undefined> {
  try {
    const probe = await new Deno.Command(Deno.execPath(), {
      args: ["cache", "-q", "--frozen", EVERYTHING],
      signal: AbortSignal.timeout(240_000),
      stdout: "null",
      stderr: "piped",
    }).output();
    if (probe.code === 0) return undefined;
    return decoder.decode(probe.stderr).trim().split("\n").at(-1) ?? `exit ${probe.code}`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A running reference server and the target that reaches it. */
export interface Everything extends AsyncDisposable {
  target: Target;
  named(name: string): NamedTarget;
}

/**
 * Starts the reference server: over stdio nothing runs until a client spawns it from the target;
 * over HTTP it listens on a free loopback port and this resolves once it says so.
 */
export async function startEverything(transport: EverythingTransport): Promise<Everything> {
  if (transport === "stdio") {
    // The child finds the dependency cache where this process does.
    const denoDir = Deno.env.get("DENO_DIR");
    const target: Target = {
      kind: "stdio",
      command: Deno.execPath(),
      args: childArgs(transport),
      ...(denoDir ? { env: { DENO_DIR: denoDir } } : {}),
    };
    return {
      target,
      named: (name) => ({ name, target }),
      [Symbol.asyncDispose]: () => Promise.resolve(),
    };
  }
  const port = freePort();
  const child = await spawnServer([`server-everything ${transport}`], {
    command: new Deno.Command(Deno.execPath(), {
      args: childArgs(transport),
      env: { PORT: String(port) },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }),
    ready: new RegExp(`port ${port}`),
  });
  const path = transport === "sse" ? "/sse" : "/mcp";
  const target: Target = {
    kind: transport === "sse" ? "sse" : "http",
    url: new URL(`http://127.0.0.1:${port}${path}`),
  };
  return {
    target,
    named: (name) => ({ name, target }),
    [Symbol.asyncDispose]: () => child[Symbol.asyncDispose](),
  };
}
