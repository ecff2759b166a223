/**
 * Helpers for tests that run `mcpcomm server-b` as a child process.
 * @module
 */
import { eachLine } from "../_child.ts";

/** Collects a child's stderr lines and resolves the URL from the "Server B listening" line. */
export function watchStderr(stream: ReadableStream<Uint8Array>): {
  url: Promise<string>;
  lines: string[];
  closed: Promise<void>;
  waitFor(text: string): Promise<void>;
} {
  const lines: string[] = [];
  const waiters: { text: string; resolve: () => void; reject: (error: Error) => void }[] = [];
  let ended = false;
  const never = (text: string) =>
    new Error(
      `Server B's stderr ended before a line with ${JSON.stringify(text)}:\n${lines.join("\n")}`,
    );
  const waitFor = (text: string) => {
    if (lines.some((l) => l.includes(text))) return Promise.resolve();
    if (ended) return Promise.reject(never(text));
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    waiters.push({ text, resolve, reject });
    return promise;
  };
  const url = Promise.withResolvers<string>();
  const closed = eachLine(stream, (line) => {
    lines.push(line);
    if (line.includes("Server B listening")) url.resolve(JSON.parse(line).url);
    for (const waiter of waiters) if (line.includes(waiter.text)) waiter.resolve();
  }).then(() => {
    ended = true;
    url.reject(new Error(`Server B never listened:\n${lines.join("\n")}`));
    for (const waiter of waiters) waiter.reject(never(waiter.text));
  });
  return { url: url.promise, lines, closed, waitFor };
}
