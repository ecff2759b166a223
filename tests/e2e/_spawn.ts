/**
 * mcpcomm as real child processes for end-to-end tests: spawn, learn the URL it logs on stderr,
 * and stop it (also when the test fails).
 * @module
 */
import { eachLine, parseLogLine, stopper } from "../_child.ts";
import { mcpcommCommand } from "../_helpers.ts";

/** A running `mcpcomm` child process. */
export interface Spawned extends AsyncDisposable {
  child: Deno.ChildProcess;
  /** Every stderr line so far. */
  lines: string[];
  /** Resolves with the first JSON log line whose `msg` is `msg` (rejects if the process exits first). */
  waitForLog(msg: string): Promise<Record<string, unknown>>;
  /** Sends SIGTERM and resolves with the exit status (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<Deno.CommandStatus>;
}

/** Starts `mcpcomm ARGS` from source in a fresh directory with only `env` (plus PATH/HOME). */
export function spawnMcpcomm(args: string[], env: Record<string, string> = {}): Spawned {
  const child = mcpcommCommand(args, { env }).spawn();
  const lines: string[] = [];
  const waiters: { msg: string; resolve: (v: Record<string, unknown>) => void }[] = [];
  let ended = false;
  const endWaiters: (() => void)[] = [];

  const reading = eachLine(child.stderr, (line) => {
    lines.push(line);
    const parsed = parseLogLine(line);
    if (!parsed) return;
    for (const waiter of [...waiters]) {
      if (parsed.msg === waiter.msg) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(parsed);
      }
    }
  }).then(() => {
    ended = true;
    for (const end of endWaiters) end();
  });
  let stopOnce: (() => Promise<Deno.CommandStatus>) | undefined;
  const stop = (graceMs = 10_000) => (stopOnce ??= stopper(child, graceMs, () => reading))();

  return {
    child,
    lines,
    waitForLog(msg) {
      for (const line of lines) {
        const parsed = parseLogLine(line);
        if (parsed?.msg === msg) return Promise.resolve(parsed);
      }
      return new Promise((resolve, reject) => {
        if (ended) {
          return reject(new Error(`process ended before logging "${msg}":\n${lines.join("\n")}`));
        }
        waiters.push({ msg, resolve });
        endWaiters.push(() =>
          reject(new Error(`process ended before logging "${msg}":\n${lines.join("\n")}`))
        );
      });
    },
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}

/** Starts Server B as a process on a free loopback port with the mock provider; resolves with its URL. */
export async function spawnServerB(
  env: Record<string, string> = {},
): Promise<Spawned & { url: string }> {
  const spawned = spawnMcpcomm(["server-b", "--host", "127.0.0.1", "--port", "0"], {
    AI_PROVIDER: "mock",
    ...env,
  });
  try {
    const line = await spawned.waitForLog("Server B listening");
    return Object.assign(spawned, { url: String(line.url) });
  } catch (error) {
    await spawned.stop();
    throw error;
  }
}

/** Starts Server A with `--transport http` as a process on a free port; resolves with its URL. */
export async function spawnServerAHttp(
  serverBUrl: string,
  env: Record<string, string> = {},
): Promise<Spawned & { url: string }> {
  const spawned = spawnMcpcomm(
    ["server-a", "--transport", "http", "--host", "127.0.0.1", "--port", "0"],
    { SERVER_B_URL: serverBUrl, ...env },
  );
  try {
    const line = await spawned.waitForLog("Server A listening");
    return Object.assign(spawned, { url: String(line.url) });
  } catch (error) {
    await spawned.stop();
    throw error;
  }
}
