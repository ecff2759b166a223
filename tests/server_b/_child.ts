/**
 * Helpers for tests that run `mcpcomm server-b` as a child process.
 * @module
 */

/** Collects a child's stderr lines and resolves the URL from the "Server B listening" line. */
export function watchStderr(stream: ReadableStream<Uint8Array>): {
  url: Promise<string>;
  lines: string[];
  closed: Promise<void>;
  waitFor(text: string): Promise<void>;
} {
  const lines: string[] = [];
  const waiters: { text: string; resolve: () => void }[] = [];
  const waitFor = (text: string) => {
    if (lines.some((l) => l.includes(text))) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    waiters.push({ text, resolve });
    return promise;
  };
  const url = Promise.withResolvers<string>();
  const closed = (async () => {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const parts = rest.split("\n");
      rest = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (line.includes("Server B listening")) url.resolve(JSON.parse(line).url);
        for (const waiter of waiters) if (line.includes(waiter.text)) waiter.resolve();
      }
    }
    url.reject(new Error(`Server B never listened:\n${lines.join("\n")}`));
  })();
  return { url: url.promise, lines, closed, waitFor };
}
