import { ProviderError } from "../../src/core/errors.ts";
import { abortWhenAbandoned, incompleteStream } from "../../src/providers/_stream.ts";
import type { StreamChunk } from "../../src/providers/types.ts";
import { assert, assertEquals } from "../_assert.ts";

const done: StreamChunk = {
  type: "done",
  completion: {
    text: "a",
    model: "m",
    usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
  },
};

Deno.test("abortWhenAbandoned() aborts the upstream signal when the consumer stops early", async () => {
  let seen: AbortSignal | undefined;
  const chunks = abortWhenAbandoned(undefined, async function* (signal) {
    seen = signal;
    yield { type: "delta", text: "a" };
    yield done;
  });
  for await (const chunk of chunks) {
    assertEquals(chunk, { type: "delta", text: "a" });
    break;
  }
  assert(seen?.aborted, "the upstream request is aborted");
  assertEquals((seen.reason as Error).message, "stream closed by the consumer");
});

Deno.test("abortWhenAbandoned() leaves a finished stream alone and follows the caller's signal", async () => {
  let seen: AbortSignal | undefined;
  const caller = new AbortController();
  const all: StreamChunk[] = [];
  for await (
    const chunk of abortWhenAbandoned(caller.signal, async function* (signal) {
      seen = signal;
      yield done;
    })
  ) all.push(chunk);
  assertEquals(all, [done]);
  assert(!seen!.aborted);
  caller.abort(new Error("caller"));
  assert(seen!.aborted, "the caller's abort reaches upstream");
});

Deno.test("incompleteStream() is a retryable unavailable ProviderError", () => {
  const error = incompleteStream("cut");
  assert(error instanceof ProviderError);
  assertEquals(error.kind, "unavailable");
  assertEquals(error.message, "cut");
});
