/**
 * Child processes of the bench: start, wait until they listen, read their memory, stop them.
 * @module
 */
import { V8_FLAGS } from "../src/build/compile.ts";

/** Root of the repository. */
export const ROOT = new URL("..", import.meta.url).pathname;
/** The CLI entry. */
export const MAIN = `${ROOT}src/main.ts`;
/** Flags `deno run` gets for the CLI: the permission set and V8 flags `deno task start` uses. */
export const RUN_FLAGS = [
  "-q",
  "-P=mcpcomm",
  "--config",
  `${ROOT}deno.json`,
  `--v8-flags=${V8_FLAGS.join(",")}`,
];

/** A running child; `stop()` ends it and waits. */
export interface Proc {
  name: string;
  pid: number;
  /** The last few KiB of its stdout and stderr, for error messages. */
  output(): string;
  /** Resolves with the first stdout line matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
  exited: Promise<Deno.CommandStatus>;
}

/** Variables a child Deno or Node needs (cache, PATH), without the caller's settings. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR", "NPM_CONFIG_CACHE"]) {
    const value = Deno.env.get(key);
    if (value) env[key] = value;
  }
  return env;
}

/** Starts `command args` with only `env` (plus {@linkcode baseEnv}); drains its output. */
export function spawn(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string> = {},
  cwd = ROOT,
): Proc {
  const child = new Deno.Command(command, {
    args,
    cwd,
    env: { ...baseEnv(), NO_COLOR: "1", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let tail = "";
  const lineWaiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const keep = (text: string) => {
    tail = (tail + text).slice(-8192);
  };
  const drain = async (stream: ReadableStream<Uint8Array>, lines: boolean) => {
    let pending = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      keep(text);
      if (!lines || lineWaiters.length === 0) continue;
      pending += text;
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      for (const line of parts) {
        for (const waiter of [...lineWaiters]) {
          if (waiter.pattern.test(line)) {
            lineWaiters.splice(lineWaiters.indexOf(waiter), 1);
            waiter.resolve(line);
          }
        }
      }
    }
  };
  const drained = Promise.all([drain(child.stdout, true), drain(child.stderr, false)]);
  const exited = child.status.then(async (status) => {
    await drained.catch(() => {});
    return status;
  });
  let stopping: Promise<void> | undefined;
  return {
    name,
    pid: child.pid,
    output: () => tail,
    waitForLine(pattern, timeoutMs = 30_000) {
      const { promise, resolve, reject } = Promise.withResolvers<string>();
      const timer = setTimeout(
        () => reject(new Error(`${name} printed no line matching ${pattern}:\n${tail}`)),
        timeoutMs,
      );
      lineWaiters.push({
        pattern,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
      exited.then((status) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited with code ${status.code}:\n${tail}`));
      });
      return promise;
    },
    exited,
    stop() {
      stopping ??= (async () => {
        try {
          child.kill("SIGTERM");
        } catch {
          // already gone
        }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // already gone
          }
        }, 5000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** A free loopback TCP port (closed again before it is returned). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Waits until `port` accepts TCP connections, or `proc` exits, or `timeoutMs` passes. */
export async function waitForPort(proc: Proc, port: number, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let exited = false;
  proc.exited.then(() => exited = true);
  while (performance.now() < deadline) {
    if (exited) throw new Error(`${proc.name} exited before listening:\n${proc.output()}`);
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(
    `${proc.name} did not listen on ${port} within ${timeoutMs} ms:\n${proc.output()}`,
  );
}

/** Resident set size of process `pid` in bytes (Linux `/proc`). */
export function rssBytes(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const match = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
  if (!match) throw new Error(`No VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** Runs `command args` to completion; throws with its output unless it exits 0. */
export async function runToEnd(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<string> {
  const output = await new Deno.Command(command, {
    args,
    cwd: options.cwd ?? ROOT,
    env: { ...baseEnv(), NO_COLOR: "1", ...options.env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const text = decoder.decode(output.stdout) + decoder.decode(output.stderr);
  if (!output.success) {
    throw new Error(`${command} ${args.join(" ")} exited with ${output.code}:\n${text}`);
  }
  return text;
}

/** Whether `command` can be started (found on PATH). */
export async function hasCommand(command: string, args = ["--version"]): Promise<boolean> {
  try {
    await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output();
    return true;
  } catch {
    return false;
  }
}
