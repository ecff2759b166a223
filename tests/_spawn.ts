/**
 * The one way tests start a long-running child (a server): {@linkcode spawnServer} runs
 * `mcpcomm ARGS` from source (or any `Deno.Command`), waits for its readiness log line within a
 * deadline, gives its URL and port, keeps its stderr for failure messages, and stops it by PID
 * when disposed.
 * @module
 */
import { mcpcommCommand, type McpcommCommandOptions } from "./_helpers.ts";

/** Calls `onLine` with each line of `stream` (the last one also without a newline); resolves at its end. */
export async function eachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      onLine(line);
    }
  }
  if (buffer) onLine(buffer);
}

/** A JSON log line, parsed; `undefined` for any other line. */
export function parseLogLine(line: string): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(line);
    return typeof parsed === "object" && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A `stop()` for `child`: SIGTERM to its PID, then SIGKILL after `graceMs`; resolves with its exit
 * status once `after` (e.g. reading its output) is done too. Calling it again returns the same promise.
 */
export function stopper(
  child: Deno.ChildProcess,
  graceMs = 10_000,
  after: () => Promise<unknown> = () => Promise.resolve(),
): () => Promise<Deno.CommandStatus> {
  let status: Promise<Deno.CommandStatus> | undefined;
  let exited = false;
  child.status.then(() => exited = true, () => exited = true);
  const kill = (signal: Deno.Signal) => {
    // Once it is reaped its PID may belong to another process.
    if (exited) return;
    try {
      Deno.kill(child.pid, signal);
    } catch {
      // Already exited.
    }
  };
  return () => {
    status ??= (async () => {
      kill("SIGTERM");
      const timer = setTimeout(() => kill("SIGKILL"), graceMs);
      try {
        const result = await child.status;
        await after();
        return result;
      } finally {
        clearTimeout(timer);
      }
    })();
    return status;
  };
}

/** The log message each server command prints once it listens. */
const READY: Record<string, string> = {
  "server-a": "Server A listening",
  "server-b": "Server B listening",
  toolbox: "toolbox listening",
};

/** How {@linkcode spawnServer} starts and waits. */
export interface SpawnOptions extends Omit<McpcommCommandOptions, "stderr"> {
  /**
   * The `msg` of the JSON log line that says it is ready (by default the command's "… listening"
   * line), a pattern for a plain stderr line, or `null` to return as soon as it is spawned.
   */
  ready?: string | RegExp | null;
  /** How long to wait for the ready line, in ms (default 60 000). */
  deadlineMs?: number;
  /** Spawn this instead of `mcpcomm ARGS` from source (a compiled binary, `ip netns exec`); its stderr must be piped. */
  command?: Deno.Command;
}

/** A started child; disposing it stops it (SIGTERM, then SIGKILL) and awaits its exit. */
export interface SpawnedServer extends AsyncDisposable {
  child: Deno.ChildProcess;
  /** The ready log line, parsed (`{}` when not waited for or not JSON). */
  ready: Record<string, unknown>;
  /** The `url` of the ready line (`""` if it has none). */
  url: string;
  /** The port of {@linkcode url} (0 if none). */
  port: number;
  /** Every stderr line so far. */
  lines: string[];
  /** Resolves once stderr has ended. */
  closed: Promise<void>;
  /** Resolves with the first JSON log line whose `msg` is `msg`; rejects at exit or after `timeoutMs`. */
  waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the first stderr line containing `text`; rejects at exit or after `timeoutMs`. */
  waitForLine(text: string, timeoutMs?: number): Promise<string>;
  /** Sends SIGTERM and resolves with the exit status (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<Deno.CommandStatus>;
}

const DEADLINE_MS = 60_000;

/**
 * Spawns `mcpcomm ARGS` (or `options.command`) and resolves once it logged its ready line; on exit,
 * or when `deadlineMs` passes first, stops it and rejects with its stderr.
 */
export async function spawnServer(
  args: string[],
  options: SpawnOptions = {},
): Promise<SpawnedServer> {
  const { ready: readyMsg = READY[args[0] ?? ""] ?? null, deadlineMs = DEADLINE_MS } = options;
  const child = (options.command ?? mcpcommCommand(args, { ...options, stderr: "piped" })).spawn();
  const lines: string[] = [];
  const waiters = new Set<{ match: (line: string) => boolean; resolve: (line: string) => void }>();
  let ended = false;
  const endWaiters = new Set<() => void>();
  const closed = eachLine(child.stderr, (line) => {
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.match(line)) {
        waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  }).then(() => {
    ended = true;
    for (const end of [...endWaiters]) end();
  });
  let stopOnce: (() => Promise<Deno.CommandStatus>) | undefined;
  const stop = (graceMs = 10_000) => (stopOnce ??= stopper(child, graceMs, () => closed))();

  const waitFor = (what: string, match: (line: string) => boolean, timeoutMs = deadlineMs) => {
    const seen = lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    const failure = (why: string) =>
      new Error(`${args.join(" ") || "child"} ${why} before ${what}:\n${lines.join("\n")}`);
    if (ended) return Promise.reject(failure("ended"));
    return new Promise<string>((resolve, reject) => {
      const waiter = {
        match,
        resolve: (line: string) => {
          finish();
          resolve(line);
        },
      };
      const onEnd = () => {
        finish();
        reject(failure("ended"));
      };
      const timer = setTimeout(() => {
        finish();
        reject(failure(`did not get there within ${timeoutMs} ms`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        waiters.delete(waiter);
        endWaiters.delete(onEnd);
      };
      waiters.add(waiter);
      endWaiters.add(onEnd);
    });
  };
  const waitForLog = async (msg: string, timeoutMs?: number) =>
    parseLogLine(
      await waitFor(`logging "${msg}"`, (line) => parseLogLine(line)?.msg === msg, timeoutMs),
    )!;
  const waitForLine = (text: string, timeoutMs?: number) =>
    waitFor(`a line with ${JSON.stringify(text)}`, (line) => line.includes(text), timeoutMs);

  let ready: Record<string, unknown> = {};
  try {
    if (typeof readyMsg === "string") ready = await waitForLog(readyMsg);
    if (readyMsg instanceof RegExp) {
      const line = await waitFor(`a line matching ${readyMsg}`, (l) => readyMsg.test(l));
      ready = parseLogLine(line) ?? {};
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const url = typeof ready.url === "string" ? ready.url : "";
  return {
    child,
    ready,
    url,
    port: url ? Number(new URL(url).port) : 0,
    lines,
    closed,
    waitForLog,
    waitForLine,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}
