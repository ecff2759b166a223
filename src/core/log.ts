// deno-lint-ignore-file no-console
/**
 * The logger: one JSON object per line, always on stderr (stdout belongs to MCP over stdio).
 * Values registered with {@linkcode redactSecret} are replaced by `[redacted]` in every line.
 * @module
 */
import { isoNow } from "./clock.ts";

/** Log levels, most verbose first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** One of {@linkcode LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const secrets = new Set<string>();
let threshold: LogLevel = "info";
let sink: (line: string) => void = (line) => console.error(line);

/** Sets the least severe level that is written. */
export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

/** Whether lines of `level` are written at the current level (to skip building their fields). */
export function logLevelEnabled(level: LogLevel): boolean {
  return rank[level] >= rank[threshold];
}

/** Replaces where log lines go (tests capture them); returns a function restoring stderr. */
export function setLogSink(fn: (line: string) => void): () => void {
  const previous = sink;
  sink = fn;
  return () => {
    sink = previous;
  };
}

/** Marks a value (API key, token, password) that must never appear in a log line. */
export function redactSecret(value: string | undefined): void {
  if (value && value.length >= 4) secrets.add(value);
}

/** Removes every registered secret from a text. */
export function scrub(text: string): string {
  let out = text;
  for (const secret of secrets) out = out.replaceAll(secret, "[redacted]");
  return out;
}

/** A logger bound to a component name. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * Creates a logger whose lines carry `component`.
 * @example
 * ```ts
 * const log = createLogger("server-b");
 * log.info("listening", { url: "http://127.0.0.1:8000" });
 * ```
 */
export function createLogger(component: string): Logger {
  const write = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (rank[level] < rank[threshold]) return;
    const line = JSON.stringify({
      time: isoNow(),
      level,
      component,
      msg,
      ...fields,
    });
    sink(scrub(line));
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

/** Writes a plain line to stderr, for start-up failures and warnings meant for a person. */
export function printError(line: string): void {
  console.error(scrub(line));
}

/** Writes a plain line to stdout, for CLI output that is not an MCP stream. */
export function printOut(line: string): void {
  console.log(line);
}
