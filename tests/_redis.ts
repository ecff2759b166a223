/**
 * A real `redis-server` for tests: a free port on loopback, a temporary directory, no persistence
 * (`--save '' --appendonly no`), stopped (and the directory removed) when disposed. Tests that
 * need it are ignored by name with {@linkcode redisMissing} as the reason when it cannot run.
 * @module
 */
import { eventually, freePort, hasProgram, tempDir } from "./_helpers.ts";

/** A running `redis-server`. */
export interface TestRedis extends AsyncDisposable {
  /** `redis://127.0.0.1:PORT`. */
  url: string;
  port: number;
  /** Stops the server (SIGKILL: no persistence to wait for); resolves once it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port (after {@linkcode stop}). */
  restart(): Promise<void>;
}

function hasRedisServer(): Promise<boolean> {
  return hasProgram("redis-server", ["--version"]);
}

/** Why Redis tests cannot run here, or `undefined` when `redis-server` is installed. */
export const redisMissing: string | undefined = await hasRedisServer()
  ? undefined
  : "redis-server is not installed (apt-get install redis-server)";

async function waitForPort(port: number, child: Deno.ChildProcess): Promise<void> {
  const exited = new AbortController();
  child.status.then((s) => exited.abort(new Error(`redis-server exited with ${s.code}`)));
  await eventually(async () => (await Deno.connect({ hostname: "127.0.0.1", port })).close(), {
    what: `redis-server to listen on ${port}`,
    timeoutMs: 5_000,
    intervalMs: 25,
    signal: exited.signal,
  });
}

/**
 * Starts `redis-server` on a free loopback port; `await using redis = await startRedis();`.
 * `password` sets `requirepass` (the URL then carries it).
 */
export async function startRedis(options: { password?: string } = {}): Promise<TestRedis> {
  const dir = await tempDir({ prefix: "mcpcomm-redis-" });
  const port = freePort();
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    "no",
    "--loglevel",
    "warning",
    ...(options.password ? ["--requirepass", options.password] : []),
  ];
  let child: Deno.ChildProcess | undefined;
  const start = async () => {
    child = new Deno.Command("redis-server", { args, stdout: "null", stderr: "null" }).spawn();
    await waitForPort(port, child);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running) return;
    try {
      running.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await running.status;
  };
  await start();
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : "";
  return {
    url: `redis://${auth}127.0.0.1:${port}`,
    port,
    stop,
    restart: start,
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
