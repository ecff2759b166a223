import {
  createAttemptTimeouts,
  delay,
  RetriesExhausted,
  withRetries,
} from "../../src/core/retry.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";

class Flaky extends Error {
  constructor(readonly retryable: boolean, readonly afterMs?: number) {
    super(retryable ? "try again" : "give up");
  }
}

const classify = (error: unknown) =>
  error instanceof Flaky ? { retry: error.retryable, afterMs: error.afterMs } : { retry: false };

function failing(failures: Error[], result = "ok") {
  const calls: number[] = [];
  const fn = (attempt: number) => {
    calls.push(attempt);
    const failure = failures[attempt - 1];
    return failure ? Promise.reject(failure) : Promise.resolve(result);
  };
  return { fn, calls };
}

const far = () => Date.now() + 60_000;

Deno.test("withRetries() returns the first success without waiting", async () => {
  const { fn, calls } = failing([]);
  const waits: number[] = [];
  const result = await withRetries(fn, {
    attempts: 3,
    deadline: far(),
    classify,
    onRetry: (_e, _a, ms) => waits.push(ms),
  });
  assertEquals([result, calls, waits], ["ok", [1], []]);
});

Deno.test("withRetries() retries retryable failures until one succeeds", async () => {
  const { fn, calls } = failing([new Flaky(true), new Flaky(true)]);
  const retries: [number, number][] = [];
  const result = await withRetries(fn, {
    attempts: 3,
    deadline: far(),
    classify,
    random: () => 0,
    onRetry: (_e, attempt, ms) => retries.push([attempt, ms]),
  });
  assertEquals(result, "ok");
  assertEquals(calls, [1, 2, 3]);
  assertEquals(retries, [[1, 0], [2, 0]]);
});

Deno.test("withRetries() backs off exponentially with full jitter, capped", async () => {
  const { fn } = failing([1, 2, 3, 4, 5].map(() => new Flaky(true)));
  const waits: number[] = [];
  await assertRejects(() =>
    withRetries(fn, {
      attempts: 5,
      deadline: far(),
      baseDelayMs: 4,
      maxDelayMs: 20,
      classify,
      random: () => 0.5,
      onRetry: (_e, _a, ms) => waits.push(ms),
    }), RetriesExhausted);
  // 0.5 x min(20, 4, 8, 16, 32)
  assertEquals(waits, [2, 4, 8, 10]);
});

Deno.test("withRetries() throws RetriesExhausted with the last error after all attempts", async () => {
  const last = new Flaky(true);
  const { fn, calls } = failing([new Flaky(true), new Flaky(true), last]);
  const error = await assertRejects(
    () => withRetries(fn, { attempts: 3, deadline: far(), classify, random: () => 0 }),
    RetriesExhausted,
    "try again",
  ) as RetriesExhausted;
  assertEquals(calls, [1, 2, 3]);
  assertEquals([error.attempts, error.deadlineHit], [3, false]);
  assert(error.lastError === last);
  assert(error.cause === last);
});

Deno.test("withRetries() rethrows a non-retryable error as it is, at once", async () => {
  const fatal = new Flaky(false);
  const { fn, calls } = failing([new Flaky(true), fatal]);
  const error = await assertRejects(
    () => withRetries(fn, { attempts: 5, deadline: far(), classify, random: () => 0 }),
    Flaky,
  );
  assert(error === fatal);
  assertEquals(calls, [1, 2]);
});

Deno.test("withRetries() waits what Retry-After asks instead of the backoff", async () => {
  const { fn } = failing([new Flaky(true, 3), new Flaky(true, 1)]);
  const waits: number[] = [];
  await withRetries(fn, {
    attempts: 3,
    deadline: far(),
    classify,
    random: () => 0.99,
    onRetry: (_e, _a, ms) => waits.push(ms),
  });
  assertEquals(waits, [3, 1]);
});

Deno.test("withRetries() gives up without waiting when the wait would pass the deadline", async (t) => {
  await t.step("Retry-After beyond the deadline", async () => {
    const { fn, calls } = failing([new Flaky(true, 120_000)]);
    const waits: number[] = [];
    const error = await assertRejects(
      () =>
        withRetries(fn, {
          attempts: 5,
          deadline: Date.now() + 60_000,
          classify,
          onRetry: (_e, _a, ms) => waits.push(ms),
        }),
      RetriesExhausted,
    ) as RetriesExhausted;
    assertEquals([error.attempts, error.deadlineHit, calls, waits], [1, true, [1], []]);
  });
  await t.step("deadline already passed", async () => {
    const { fn, calls } = failing([new Flaky(true), new Flaky(true)]);
    const error = await assertRejects(
      () => withRetries(fn, { attempts: 5, deadline: Date.now() - 1, classify, random: () => 0 }),
      RetriesExhausted,
    ) as RetriesExhausted;
    assertEquals([error.deadlineHit, calls], [true, [1]]);
  });
});

Deno.test("withRetries() stops waiting when the signal aborts", async () => {
  const controller = new AbortController();
  const reason = new Error("caller gave up");
  const { fn, calls } = failing([new Flaky(true, 50_000)]);
  const error = await assertRejects(() =>
    withRetries(fn, {
      attempts: 3,
      deadline: far(),
      classify,
      signal: controller.signal,
      onRetry: () => controller.abort(reason),
    })
  );
  assert(error === reason);
  assertEquals(calls, [1]);
});

Deno.test("delay() resolves after its timer and rejects on abort", async () => {
  const order: string[] = [];
  setTimeout(() => order.push("earlier timer"), 5);
  await delay(5);
  order.push("delay");
  assertEquals(order, ["earlier timer", "delay"]);
  const aborted = new AbortController();
  aborted.abort(new Error("already"));
  await assertRejects(() => delay(60_000, aborted.signal), Error, "already");
});

/**
 * Resolves with `signal`'s reason once it aborts, failing after `limitMs`. That limit's timer also
 * keeps the event loop alive: the attempt timer is unref'd (in the servers other I/O keeps the
 * loop running), so without it a bare `deno test` would end the loop first.
 */
function aborted(signal: AbortSignal, limitMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return resolve(signal.reason);
    const limit = setTimeout(() => reject(new Error(`no abort within ${limitMs} ms`)), limitMs);
    signal.addEventListener("abort", () => {
      clearTimeout(limit);
      resolve(signal.reason);
    }, { once: true });
  });
}

Deno.test("createAttemptTimeouts() aborts each attempt with the reason once it times out", async () => {
  const timeouts = createAttemptTimeouts(30, () => new DOMException("slow", "TimeoutError"));
  const started = performance.now();
  const first = timeouts.start();
  await delay(10);
  const second = timeouts.start();
  assertEquals(timeouts.pending, 2);
  const reason = await aborted(first.signal);
  assert(reason instanceof DOMException && reason.name === "TimeoutError");
  assert(performance.now() - started >= 29, "timed out early");
  await aborted(second.signal);
  assert(performance.now() - started >= 39, "the second attempt timed out with the first");
  assertEquals(timeouts.pending, 0);
  first.clear();
  second.clear();
});

Deno.test("createAttemptTimeouts() never aborts a cleared attempt; later ones still time out", async () => {
  const timeouts = createAttemptTimeouts(20, () => new Error("timed out"));
  const cleared = timeouts.start();
  cleared.clear();
  assertEquals(timeouts.pending, 0);
  await delay(5);
  const later = timeouts.start();
  assertEquals(((await aborted(later.signal)) as Error).message, "timed out");
  await delay(30);
  assertEquals(cleared.signal.aborted, false);
  later.clear();
});

Deno.test("createAttemptTimeouts() follows the caller's signal until cleared", async (t) => {
  const timeouts = createAttemptTimeouts(60_000, () => new Error("timed out"));
  await t.step("an abort while pending aborts the attempt with the caller's reason", async () => {
    const caller = new AbortController();
    const attempt = timeouts.start(caller.signal);
    caller.abort(new Error("client left"));
    assertEquals(((await aborted(attempt.signal)) as Error).message, "client left");
    attempt.clear();
  });
  await t.step("an already aborted caller aborts the attempt at once", () => {
    const attempt = timeouts.start(AbortSignal.abort(new Error("gone")));
    assertEquals((attempt.signal.reason as Error).message, "gone");
    attempt.clear();
  });
  await t.step("after clear() the caller's abort no longer reaches the attempt", () => {
    const caller = new AbortController();
    const attempt = timeouts.start(caller.signal);
    attempt.clear();
    caller.abort(new Error("late"));
    assertEquals(attempt.signal.aborted, false);
  });
  assertEquals(timeouts.pending, 0);
});
