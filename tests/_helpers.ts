/**
 * Test helpers: real servers on ephemeral ports, the CLI as a child process, an SSE parser,
 * temporary folders that go away with their test, and a bounded `eventually()`.
 * @module
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { permissionFlags } from "../src/build/_permissions.ts";
import { type Config, loadConfig } from "../src/core/config.ts";
import type { Provider } from "../src/providers/types.ts";
import { type RunningServerB, startServerB } from "../src/server_b/mod.ts";
import { assert, assertEquals } from "./_assert.ts";

/** Settings for tests: loopback, a free port, quick retries. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    env: { HTTP_HOST: "127.0.0.1", HTTP_PORT: "0", LOG_LEVEL: "error", ...env },
  });
}

/** A Server B on a free port; `close()` stops it and waits until it has. */
export interface TestServerB extends RunningServerB, AsyncDisposable {
  close(): Promise<void>;
}

/** Starts a real Server B on a free loopback port. */
export async function startTestServerB(
  env: Record<string, string> = {},
  options: { provider?: Provider } = {},
): Promise<TestServerB> {
  const controller = new AbortController();
  const server = await startServerB(testConfig(env), { signal: controller.signal, ...options });
  const close = async () => {
    controller.abort();
    await server.finished;
  };
  return { ...server, close, [Symbol.asyncDispose]: close };
}

/** Reads a whole SSE response with a real parser (`eventsource-parser`). */
export async function readSse(response: Response): Promise<EventSourceMessage[]> {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  const decoder = new TextDecoder();
  for await (const chunk of response.body!) parser.feed(decoder.decode(chunk, { stream: true }));
  return events;
}

/** Reads `response` until `count` SSE events arrived (real parser), then cuts the stream. */
export async function readThenCut(
  response: Response,
  count: number,
): Promise<EventSourceMessage[]> {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  while (events.length < count) {
    const step = await reader.read();
    if (step.done) break;
    parser.feed(decoder.decode(step.value, { stream: true }));
  }
  await reader.cancel();
  return events;
}

/** Read by tests/_watchdog.ts: paths to remove when the running test ends. */
const TEMP_PATHS = Symbol.for("mcpcomm.test.tempPaths");

function tempPaths(): string[] {
  const global = globalThis as { [TEMP_PATHS]?: string[] };
  if (global[TEMP_PATHS]) return global[TEMP_PATHS];
  const paths: string[] = global[TEMP_PATHS] = [];
  // Without the watchdog preloaded, they go when the module unloads.
  globalThis.addEventListener("unload", () => {
    for (const path of paths.splice(0)) {
      try {
        Deno.removeSync(path, { recursive: true });
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
  });
  return paths;
}

function removedAtTestEnd(path: string): string {
  tempPaths().push(path);
  return path;
}

/**
 * A fresh temporary folder, removed when the running test ends, passed or failed (as Go's
 * `t.TempDir()`; tests/_watchdog.ts removes it, or the module's unload without the watchdog).
 */
export async function tempDir(options?: Deno.MakeTempOptions): Promise<string> {
  return removedAtTestEnd(await Deno.makeTempDir(options));
}

/** {@linkcode tempDir}, synchronously. */
export function tempDirSync(options?: Deno.MakeTempOptions): string {
  return removedAtTestEnd(Deno.makeTempDirSync(options));
}

/** A fresh temporary file, removed when the running test ends, like {@linkcode tempDir}. */
export async function tempFile(options?: Deno.MakeTempOptions): Promise<string> {
  return removedAtTestEnd(await Deno.makeTempFile(options));
}

/** {@linkcode tempFile}, synchronously. */
export function tempFileSync(options?: Deno.MakeTempOptions): string {
  return removedAtTestEnd(Deno.makeTempFileSync(options));
}

/**
 * A test (or step) that runs `fn` on a fresh tmpfs of `size` (e.g. "256k"), unmounted after:
 * only root can mount one, so elsewhere it is ignored and its name says so.
 */
export function tmpfsTest(
  name: string,
  size: string,
  fn: (dir: string) => Promise<void>,
): { name: string; ignore: boolean; fn: () => Promise<void> } {
  const root = Deno.uid() === 0;
  return {
    name: `${name}${root ? "" : " (skipped: mounting a tmpfs needs root)"}`,
    ignore: !root,
    fn: async () => {
      const dir = tempDirSync({ prefix: "mcpcomm-tmpfs-" });
      const mounted = await new Deno.Command("mount", {
        args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir],
      }).output();
      assert(mounted.success, new TextDecoder().decode(mounted.stderr));
      try {
        await fn(dir);
      } finally {
        await new Deno.Command("umount", { args: ["-l", dir] }).output();
      }
    },
  };
}

/** How {@linkcode eventually} polls. */
export interface EventuallyOptions {
  /** Give up after this many ms (default 20 000). */
  timeoutMs?: number;
  /** Wait between calls, in ms (default 10). */
  intervalMs?: number;
  /** What is awaited, for the error message. */
  what?: string;
  /** Stops polling at once, failing with its reason (e.g. the awaited process exited). */
  signal?: AbortSignal;
}

/**
 * Calls `fn` until it neither throws nor returns `false`, and resolves with its value; after
 * `timeoutMs` fails with its last error. The one polling loop of the tests.
 */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  options: EventuallyOptions = {},
): Promise<Exclude<T, false>> {
  const { timeoutMs = 20_000, intervalMs = 10, what = "the condition", signal } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    let last: unknown;
    try {
      const value = await fn();
      if (value !== false) return value as Exclude<T, false>;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? `: ${last.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`, { cause: last });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Whether `program ARGS` runs and succeeds here, within `timeoutMs` (default 30 000): the
 * bounded probe for tests that need a tool (openssl, redis-server, nginx…), at import time too.
 */
export async function hasProgram(
  program: string,
  args: string[],
  timeoutMs = 30_000,
): Promise<boolean> {
  try {
    const out = await new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** The path of the CLI entry. */
export const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

/** Arguments that run the CLI from source with the permissions the tasks use (deno.json "mcpcomm"). */
export const RUN_ARGS = ["run", ...permissionFlags(), MAIN];

/**
 * The variables a child Deno process needs to find its cache and tools, and a fresh
 * XDG_DATA_HOME (removed at the test's end) so that a child's ledger database never lands in (or
 * reads) the user's own.
 */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {
    XDG_DATA_HOME: tempDirSync({ prefix: "mcpcomm-data-" }),
  };
  for (const key of ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR"]) {
    const value = Deno.env.get(key);
    if (value) env[key] = value;
  }
  return env;
}

/** How {@linkcode mcpcommCommand} runs the CLI. */
export interface McpcommCommandOptions {
  /** Variables besides {@linkcode baseEnv} and `NO_COLOR=1`; nothing else is inherited. */
  env?: Record<string, string>;
  /** Working directory; a fresh temporary one (removed at the test's end) by default. */
  cwd?: string;
  /** Default `null`. */
  stdin?: "piped" | "null" | "inherit";
  /** Default `null`. */
  stdout?: "piped" | "null" | "inherit";
  /** Default `piped`. */
  stderr?: "piped" | "null" | "inherit";
}

/** `mcpcomm ARGS` from source as a command, with only `env` (plus PATH/HOME), in a fresh directory. */
export function mcpcommCommand(args: string[], options: McpcommCommandOptions = {}): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [...RUN_ARGS, ...args],
    env: { ...baseEnv(), NO_COLOR: "1", ...options.env },
    clearEnv: true,
    cwd: options.cwd ?? tempDirSync(),
    stdin: options.stdin ?? "null",
    stdout: options.stdout ?? "null",
    stderr: options.stderr ?? "piped",
  });
}

/** Runs `mcpcomm ARGS` to completion in `cwd` with only `env` (plus PATH/HOME). */
export async function runCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await mcpcommCommand(args, { ...options, stdout: "piped" }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** POSTs JSON. */
export function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/**
 * A loopback port nothing listens on, for "Server B is down" URLs and servers started later on a
 * known port. Picked below the kernel's ephemeral range (32768 and up on Linux, 49152 and up
 * elsewhere) and checked free, so no server started on port 0 meanwhile (here or in another
 * process) can be handed the same port.
 */
export function freePort(): number {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    }
  }
  throw new Error("freePort(): no free port between 20000 and 32000");
}

/**
 * Parses one `WWW-Authenticate` challenge (RFC 9110): its scheme and its auth-params, quoted
 * strings unescaped; throws on anything else.
 */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const scheme = header.match(/^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: +|$)/);
  if (!scheme) throw new Error(`no auth scheme in ${JSON.stringify(header)}`);
  const params: Record<string, string> = {};
  const param =
    /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"|([!#$%&'*+.^_`|~0-9A-Za-z-]+))[ \t]*(?:,[ \t]*|$)/;
  let rest = header.slice(scheme[0].length);
  while (rest !== "") {
    const match = param.exec(rest);
    if (!match) throw new Error(`bad auth-param at ${JSON.stringify(rest)}`);
    params[match[1]!.toLowerCase()] = match[2]?.replace(/\\(.)/g, "$1") ?? match[3]!;
    rest = rest.slice(match[0].length);
  }
  return { scheme: scheme[1]!, params };
}

/**
 * Asserts that a 401 answer challenges for a bearer token with `error="invalid_token"` and an
 * `error_description` naming the problem: a missing token or an invalid one.
 */
export function assertBearerChallenge(response: Response, problem: "missing" | "invalid"): void {
  assertEquals(response.status, 401);
  const { scheme, params } = parseChallenge(response.headers.get("www-authenticate") ?? "");
  assertEquals({ scheme, params }, {
    scheme: "Bearer",
    params: {
      realm: "mcpcomm",
      error: "invalid_token",
      error_description: problem === "missing"
        ? "Missing bearer token: this server requires MCPCOMM_AUTH_TOKEN"
        : "Invalid bearer token",
    },
  });
}
