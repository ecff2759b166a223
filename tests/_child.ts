/**
 * A long-running child process (a server) started from any `Deno.Command`: wait for one JSON log
 * line on its stderr, keep the rest, stop it with SIGTERM. For commands `_spawn.ts` cannot build
 * (a compiled binary, `ip netns exec`).
 * @module
 */

/** A started child that logged the awaited line. */
export interface LoggedChild extends AsyncDisposable {
  /** The awaited log line, parsed. */
  line: Record<string, unknown>;
  /** Every stderr line so far. */
  logs: string[];
  stop(): Promise<Deno.CommandStatus>;
}

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
 * A `stop()` for `child`: SIGTERM, then SIGKILL after `graceMs`; resolves with its exit status
 * once `after` (e.g. reading its output) is done too. Calling it again returns the same promise.
 */
export function stopper(
  child: Deno.ChildProcess,
  graceMs = 10_000,
  after: () => Promise<unknown> = () => Promise.resolve(),
): () => Promise<Deno.CommandStatus> {
  let status: Promise<Deno.CommandStatus> | undefined;
  const kill = (signal: Deno.Signal) => {
    try {
      child.kill(signal);
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

/**
 * Spawns `command` (its stderr must be piped) and resolves once it logs a JSON line whose `msg` is
 * `msg`; rejects, after stopping it, if it exits first.
 */
export async function startUntilLog(command: Deno.Command, msg: string): Promise<LoggedChild> {
  const child = command.spawn();
  const logs: string[] = [];
  const stop = stopper(child);
  const found = Promise.withResolvers<Record<string, unknown>>();
  eachLine(child.stderr, (line) => {
    logs.push(line);
    const parsed = parseLogLine(line);
    if (parsed?.msg === msg) found.resolve(parsed);
  }).then(() =>
    found.reject(new Error(`process exited before logging "${msg}":\n${logs.join("\n")}`))
  );
  try {
    const line = await found.promise;
    return { line, logs, stop, [Symbol.asyncDispose]: async () => void await stop() };
  } catch (error) {
    await stop();
    throw error;
  }
}
