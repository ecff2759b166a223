/**
 * What the network providers share around a streamed answer: the upstream request is aborted
 * when the consumer stops early, and a stream without its final event is an error.
 * @module
 */
import { ProviderError } from "../core/mod.ts";
import type { StreamChunk } from "./types.ts";

/**
 * Runs `produce` with a signal that also aborts when the consumer stops reading before the `done`
 * chunk (it returns or throws), so an abandoned answer stops costing tokens upstream.
 * @example
 * ```ts
 * stream: (request) => abortWhenAbandoned(request.signal, (signal) => callUpstream(request, signal)),
 * ```
 */
export async function* abortWhenAbandoned(
  outer: AbortSignal | undefined,
  produce: (signal: AbortSignal) => AsyncIterable<StreamChunk>,
): AsyncGenerator<StreamChunk> {
  const upstream = new AbortController();
  const signal = outer ? AbortSignal.any([outer, upstream.signal]) : upstream.signal;
  let finished = false;
  try {
    for await (const chunk of produce(signal)) {
      if (chunk.type === "done") finished = true;
      yield chunk;
    }
  } finally {
    if (!finished) upstream.abort(new Error("stream closed by the consumer"));
  }
}

/** The error for a stream that ended before its final event (`unavailable`, so retried). */
export function incompleteStream(why: string): ProviderError {
  return new ProviderError("unavailable", why);
}
