/**
 * Running a program for the toolbox's `run_command` tool: an argument vector, never a shell,
 * with a timeout and a cap on captured output.
 * @module
 */

/** The only environment a command gets: a standard PATH. */
export const SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Most bytes kept of each of stdout and stderr. */
export const MAX_OUTPUT_BYTES = 64 * 1024;

/** What {@linkcode runCommand} needs. */
export interface RunCommandOptions {
  /** Working directory. */
  cwd: string;
  timeoutMs: number;
  maxOutputBytes?: number;
  /** Aborts the run (the MCP request was cancelled). */
  signal?: AbortSignal;
}

/** The outcome of one run. */
export interface CommandOutcome {
  /** Exit code; `null` when the program was killed (timeout or cancellation). */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

async function capture(
  stream: ReadableStream<Uint8Array>,
  max: number,
  stop: AbortSignal,
): Promise<{ text: string; truncated: boolean }> {
  const chunks: Uint8Array[] = [];
  let kept = 0;
  let truncated = false;
  const reader = stream.getReader();
  const cancel = () => reader.cancel().catch(() => {});
  stop.addEventListener("abort", cancel, { once: true });
  for (;;) {
    const { done, value: chunk } = await reader.read().catch(() => ({
      done: true,
      value: undefined,
    }));
    if (done || !chunk) break;
    if (kept >= max) {
      truncated = true;
      continue;
    }
    const room = max - kept;
    const part = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
    if (part.byteLength < chunk.byteLength) truncated = true;
    chunks.push(part);
    kept += part.byteLength;
  }
  stop.removeEventListener("abort", cancel);
  const all = new Uint8Array(kept);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { text: new TextDecoder().decode(all), truncated };
}

/**
 * Runs `argv[0]` with `argv.slice(1)` (no shell), killing it at the timeout or on abort.
 * A program that cannot be started rejects with its error.
 * @example
 * ```ts
 * const out = await runCommand(["ls", "-la"], { cwd: "/tmp", timeoutMs: 5000 });
 * ```
 */
export async function runCommand(
  argv: string[],
  options: RunCommandOptions,
): Promise<CommandOutcome> {
  const [program, ...args] = argv;
  if (!program) throw new Error("The command is empty");
  const max = options.maxOutputBytes ?? MAX_OUTPUT_BYTES;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const child = new Deno.Command(program, {
    args,
    cwd: options.cwd,
    // The toolbox's own environment (tokens, keys) is not the caller's business.
    clearEnv: true,
    env: { PATH: SAFE_PATH, LANG: "C.UTF-8" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal,
  }).spawn();
  // A grandchild that inherited the pipes may outlive the child: stop reading soon after it exits.
  const stop = new AbortController();
  const outputs = Promise.all([
    capture(child.stdout, max, stop.signal),
    capture(child.stderr, max, stop.signal),
  ]);
  const status = await child.status;
  const grace = setTimeout(() => stop.abort(), 1000);
  const [stdout, stderr] = await outputs;
  clearTimeout(grace);
  return {
    exitCode: status.signal ? null : status.code,
    signal: status.signal,
    timedOut: timeout.aborted,
    stdout: stdout.text,
    stderr: stderr.text,
    stdoutTruncated: stdout.truncated,
    stderrTruncated: stderr.truncated,
  };
}
