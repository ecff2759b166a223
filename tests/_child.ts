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

/**
 * Spawns `command` (its stderr must be piped) and resolves once it logs a JSON line whose `msg` is
 * `msg`; rejects, after stopping it, if it exits first.
 */
export async function startUntilLog(command: Deno.Command, msg: string): Promise<LoggedChild> {
  const child = command.spawn();
  const logs: string[] = [];
  let status: Promise<Deno.CommandStatus> | undefined;
  const stop = () => {
    status ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already exited.
      }
      return await child.status;
    })();
    return status;
  };
  const found = Promise.withResolvers<Record<string, unknown>>();
  (async () => {
    let buffer = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        logs.push(line);
        try {
          const parsed = JSON.parse(line);
          if (parsed.msg === msg) found.resolve(parsed);
        } catch {
          // Not a log line.
        }
      }
    }
    if (buffer) logs.push(buffer);
    found.reject(new Error(`process exited before logging "${msg}":\n${logs.join("\n")}`));
  })();
  try {
    const line = await found.promise;
    return { line, logs, stop, [Symbol.asyncDispose]: async () => void await stop() };
  } catch (error) {
    await stop();
    throw error;
  }
}
