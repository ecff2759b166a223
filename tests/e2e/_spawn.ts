/**
 * mcpcomm as real child processes for end-to-end tests: spawn, learn the URL it logs on stderr,
 * and stop it (also when the test fails).
 * @module
 */
import { baseEnv, RUN_ARGS } from "../_helpers.ts";

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
  const child = new Deno.Command(Deno.execPath(), {
    args: [...RUN_ARGS, ...args],
    env: { ...baseEnv(), NO_COLOR: "1", ...env },
    clearEnv: true,
    cwd: Deno.makeTempDirSync(),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const waiters: { msg: string; resolve: (v: Record<string, unknown>) => void }[] = [];
  let ended = false;
  const endWaiters: (() => void)[] = [];

  const check = (line: string) => {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line);
    } catch {
      return;
    }
    for (const waiter of [...waiters]) {
      if (parsed.msg === waiter.msg) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(parsed);
      }
    }
  };
  const reading = (async () => {
    let buffer = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        lines.push(line);
        check(line);
      }
    }
    if (buffer) lines.push(buffer);
    ended = true;
    for (const end of endWaiters) end();
  })();

  let status: Promise<Deno.CommandStatus> | undefined;
  const stop = (graceMs = 10_000) => {
    status ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already exited.
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // Already exited.
        }
      }, graceMs);
      try {
        const result = await child.status;
        await reading;
        return result;
      } finally {
        clearTimeout(timer);
      }
    })();
    return status;
  };

  return {
    child,
    lines,
    waitForLog(msg) {
      for (const line of lines) {
        try {
          const parsed = JSON.parse(line);
          if (parsed.msg === msg) return Promise.resolve(parsed);
        } catch {
          // Not a log line.
        }
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
