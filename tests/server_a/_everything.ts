/**
 * The MCP reference server `@modelcontextprotocol/server-everything` (pinned in deno.json and the
 * lock), run under Deno over stdio, Streamable HTTP or HTTP+SSE, as an upstream of the gateway.
 * @module
 */
import type { NamedTarget, Target } from "../../src/mcp/targets.ts";
import { eventually } from "../_helpers.ts";

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
  /** The loopback port over HTTP (to restart it there), 0 over stdio. */
  port: number;
  named(name: string): NamedTarget;
  /**
   * The MCP connections it serves now, as it reports them: over stdio the reference servers
   * running as children of this process (one per connection), over HTTP its open sessions.
   */
  sessions(): Promise<number>;
}

/** The reference servers over stdio running as children of this process. */
async function stdioChildren(): Promise<number> {
  const ps = await new Deno.Command("ps", { args: ["-eo", "ppid=,args="], stdout: "piped" })
    .output();
  return decoder.decode(ps.stdout).split("\n").filter((line) => {
    const [ppid, ...args] = line.trim().split(/\s+/);
    return Number(ppid) === Deno.pid && args.includes(EVERYTHING) && args.includes("stdio");
  }).length;
}

/** Counts sessions from what the server writes: lines that open and close one. */
function countLines(stream: ReadableStream<Uint8Array>, opened: RegExp, closed: RegExp) {
  const count = { said: "", open: 0 };
  void (async () => {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      count.said += chunk;
      const lines = (rest + chunk).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) {
        if (opened.test(line)) count.open++;
        if (closed.test(line)) count.open--;
      }
    }
  })().catch(() => {});
  return count;
}

/**
 * Starts the reference server: over stdio nothing runs until a client spawns it from the target;
 * over HTTP it listens on a free loopback port and this resolves once it says so.
 */
export async function startEverything(
  transport: EverythingTransport,
  port = 0,
): Promise<Everything> {
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
      port: 0,
      named: (name) => ({ name, target }),
      sessions: stdioChildren,
      [Symbol.asyncDispose]: () => Promise.resolve(),
    };
  }
  port ||= freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: childArgs(transport),
    env: { PORT: String(port) },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const http = countLines(child.stdout, /^Session initialized/, /^Transport closed for session/);
  const sse = countLines(child.stderr, /^Client Connected/, /^Client Disconnected/);
  await eventually(() => new RegExp(`port ${port}`).test(sse.said), {
    timeoutMs: 60_000,
    what: `server-everything ${transport} listening`,
  });
  const path = transport === "sse" ? "/sse" : "/mcp";
  const target: Target = {
    kind: transport === "sse" ? "sse" : "http",
    url: new URL(`http://127.0.0.1:${port}${path}`),
  };
  return {
    target,
    port,
    named: (name) => ({ name, target }),
    sessions: () => Promise.resolve(transport === "sse" ? sse.open : http.open),
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch { /* already ended */ }
      await child.status;
    },
  };
}
