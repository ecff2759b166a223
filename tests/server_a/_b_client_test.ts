import { UpstreamError } from "../../src/core/errors.ts";
import {
  answerRetryable,
  createServerBClient,
  parseRetryAfter,
  type ServerBClientOptions,
} from "../../src/server_a/_b_client.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import {
  answerFor,
  errorAnswer,
  freePort,
  sseAnswer,
  startFakeB,
  startSilentFakeB,
} from "./_fake_b.ts";

function client(url: string, options: Partial<ServerBClientOptions> = {}) {
  return createServerBClient({ url, timeoutMs: 5_000, attempts: 3, baseDelayMs: 20, ...options });
}

/** Streams a message through `c` that must fail; the error, and the texts delivered before it. */
async function failedStream(c: ReturnType<typeof client>) {
  const texts: string[] = [];
  const error = await assertRejects(
    () => c.stream({ message: "x" }, (text) => texts.push(text)),
    UpstreamError,
  );
  return { error, texts };
}

Deno.test("createServerBClient() process() posts the request with the bearer token and validates the answer", async () => {
  await using b = await startFakeB((_req, n, seen) =>
    Response.json(answerFor(JSON.parse(seen.body).message, n))
  );
  const c = client(`${b.url}/`, { authToken: "token-0123456789abcdef" });
  try {
    const answer = await c.process({ message: "Hi", max_tokens: 5 });
    assertEquals(answer.aiResponse, "answer 1 to Hi");
    assertEquals(b.requests.length, 1);
    const [seen] = b.requests;
    assertEquals(seen!.method, "POST");
    assertEquals(seen!.path, "/process");
    assertEquals(JSON.parse(seen!.body), { message: "Hi", max_tokens: 5 });
    assertEquals(seen!.headers.get("authorization"), "Bearer token-0123456789abcdef");
    assertEquals(c.url, b.url);
  } finally {
    c.close();
  }
});

Deno.test("createServerBClient() sends no Authorization header without a token", async () => {
  await using b = await startFakeB(() => Response.json(answerFor("x")));
  const c = client(b.url);
  try {
    await c.process({ message: "x" });
    assertEquals(b.requests[0]!.headers.get("authorization"), null);
  } finally {
    c.close();
  }
});

Deno.test("createServerBClient() retries only what Server B did not retry already", async (t) => {
  const cases: [string, () => Response, boolean][] = [
    [
      "503 of its own overload",
      () => errorAnswer(503, "unavailable", "busy", {}, { retryable: true }),
      true,
    ],
    ["503 from a Server B that does not say", () => errorAnswer(503, "unavailable", "busy"), true],
    [
      "429 with Retry-After",
      () => errorAnswer(429, "rate_limited", "slow", { "retry-after": "0" }),
      true,
    ],
    [
      "502 it marks retryable",
      () => errorAnswer(502, "provider_error", "x", {}, { retryable: true }),
      true,
    ],
    [
      "502 after it retried the provider",
      () => errorAnswer(502, "provider_unavailable", "down", {}, { retryable: false, attempts: 3 }),
      false,
    ],
    [
      "502 provider_auth",
      () => errorAnswer(502, "provider_auth", "bad key", {}, { retryable: false, attempts: 1 }),
      false,
    ],
    [
      "502 from a Server B that does not say",
      () => errorAnswer(502, "provider_unavailable", "down"),
      false,
    ],
    [
      "504 provider_timeout",
      () => errorAnswer(504, "provider_timeout", "slow", {}, { retryable: false, attempts: 3 }),
      false,
    ],
    [
      "429 without Retry-After",
      () => errorAnswer(429, "provider_rate_limit", "slow", {}, { retryable: false }),
      false,
    ],
  ];
  for (const [name, failure, retried] of cases) {
    await t.step(`${name}: ${retried ? "retried" : "not retried"}`, async () => {
      await using b = await startFakeB((_req, n) =>
        n === 1 ? failure() : Response.json(answerFor("x", n))
      );
      const c = client(b.url);
      try {
        if (retried) assertEquals((await c.process({ message: "x" })).messageId, "m-2");
        else await assertRejects(() => c.process({ message: "x" }), UpstreamError);
        assertEquals(b.requests.length, retried ? 2 : 1);
      } finally {
        c.close();
      }
    });
  }
});

Deno.test("answerRetryable() follows Server B's word, and is conservative without it", () => {
  assertEquals(answerRetryable({ status: 502, retryable: false }), false);
  assertEquals(answerRetryable({ status: 502 }), false);
  assertEquals(answerRetryable({ status: 504 }), false);
  assertEquals(answerRetryable({ status: 503 }), true);
  assertEquals(answerRetryable({ status: 503, retryable: false }), false);
  assertEquals(answerRetryable({ status: 429 }), false);
  assertEquals(answerRetryable({ status: 429, retryAfterMs: 1000 }), true);
  assertEquals(answerRetryable({ status: 429, retryAfterMs: 1000, retryable: true }), true);
});

Deno.test("createServerBClient() calls onRetry with the reason of each retry", async () => {
  await using b = await startFakeB((_req, n) =>
    n === 1
      ? errorAnswer(503, "unavailable", "busy")
      : n === 2
      ? errorAnswer(429, "rate_limited", "slow down", { "retry-after": "0" })
      : Response.json(answerFor("x", n))
  );
  const reasons: string[] = [];
  const c = client(b.url, { onRetry: (reason) => reasons.push(reason) });
  try {
    assertEquals((await c.process({ message: "x" })).messageId, "m-3");
    assertEquals(reasons, ["http_503", "http_429"]);
  } finally {
    c.close();
  }
});

Deno.test("createServerBClient() never retries a 400 and reports Server B's message", async () => {
  await using b = await startFakeB(() =>
    errorAnswer(400, "invalid_request", '"message" must not be empty')
  );
  const c = client(b.url);
  try {
    const error = await assertRejects(() => c.process({ message: "x" }), UpstreamError);
    assertEquals(b.requests.length, 1);
    assertEquals(
      error.message,
      `Server B at ${b.url} answered POST /process with HTTP 400 (invalid_request: "message" must not be empty)`,
    );
  } finally {
    c.close();
  }
});

Deno.test("createServerBClient() gives up after RETRY_ATTEMPTS answers of 503, saying so", async () => {
  await using b = await startFakeB(() => errorAnswer(503, "unavailable", "overloaded"));
  const c = client(b.url, { attempts: 4 });
  try {
    const error = await assertRejects(() => c.process({ message: "x" }), UpstreamError);
    assertEquals(b.requests.length, 4);
    assertMatch(error.message, /HTTP 503 \(unavailable: overloaded\) after 4 attempts$/);
  } finally {
    c.close();
  }
});

Deno.test("createServerBClient() honours Retry-After on 429", async (t) => {
  await t.step("waits as asked, then retries", async () => {
    await using b = await startFakeB((_req, n) =>
      n === 1
        ? errorAnswer(429, "rate_limited", "slow down", { "retry-after": "1" })
        : Response.json(answerFor("x", n))
    );
    const c = client(b.url);
    try {
      assertEquals((await c.process({ message: "x" })).messageId, "m-2");
      assertEquals(b.requests.length, 2);
      const waited = b.requests[1]!.at - b.requests[0]!.at;
      assert(waited >= 950, `retried after ${waited} ms, before the 1 s Retry-After`);
    } finally {
      c.close();
    }
  });
  await t.step("gives up at once when the wait would pass the deadline", async () => {
    await using b = await startFakeB(() =>
      errorAnswer(429, "rate_limited", "slow down", { "retry-after": "100" })
    );
    const c = client(b.url, { timeoutMs: 2_000 });
    try {
      const error = await assertRejects(() => c.process({ message: "x" }), UpstreamError);
      assertEquals(b.requests.length, 1);
      assertMatch(error.message, /HTTP 429 \(rate_limited: slow down\)/);
      assertMatch(
        error.message,
        /asked to retry after 100s\) because it would pass the 6s deadline/,
      );
    } finally {
      c.close();
    }
  });
});

Deno.test("createServerBClient() reports a refused connection after every attempt, naming the URL", async () => {
  const url = `http://127.0.0.1:${freePort()}`;
  const c = client(url);
  try {
    const error = await assertRejects(() => c.health(), UpstreamError);
    assertEquals(error.message, `Server B at ${url} refused the connection after 3 attempts`);
  } finally {
    c.close();
  }
});

Deno.test("createServerBClient() retries a connection closed before the answer", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let connections = 0;
  const accepting = (async () => {
    for await (const conn of listener) {
      connections++;
      conn.close();
    }
  })();
  const url = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  const c = client(url);
  try {
    const error = await assertRejects(() => c.process({ message: "x" }), UpstreamError);
    assertEquals(connections, 3);
    assertMatch(
      error.message,
      new RegExp(
        `^Server B at ${url} closed the connection before answering POST /process after 3 attempts`,
      ),
    );
  } finally {
    c.close();
    listener.close();
    await accepting.catch(() => {});
  }
});

Deno.test("createServerBClient() bounds a slow Server B by the per-attempt timeout, without retrying", async () => {
  const release = Promise.withResolvers<void>();
  await using b = await startFakeB(async () => {
    await release.promise;
    return Response.json(answerFor("x"));
  });
  const c = client(b.url, { timeoutMs: 300 });
  try {
    const error = await assertRejects(() => c.process({ message: "x" }), UpstreamError);
    assertEquals(error.message, `Server B at ${b.url} did not answer POST /process within 0.3s`);
    assertEquals(b.requests.length, 1);
  } finally {
    release.resolve();
    c.close();
  }
});

Deno.test("createServerBClient() refuses an answer that breaks the contract", async (t) => {
  await t.step("wrong shape", async () => {
    await using b = await startFakeB(() => Response.json({ aiResponse: 42 }));
    const c = client(b.url);
    try {
      const error = await assertRejects(() => c.process({ message: "x" }), UpstreamError);
      assertMatch(
        error.message,
        /sent an answer to POST \/process that is not a valid process answer \(aiResponse: /,
      );
      assertEquals(b.requests.length, 1);
    } finally {
      c.close();
    }
  });
  await t.step("not JSON", async () => {
    await using b = await startFakeB(() => new Response("<html>proxy</html>"));
    const c = client(b.url);
    try {
      const error = await assertRejects(() => c.health(), UpstreamError);
      assertMatch(error.message, /sent an answer to GET \/health that is not JSON/);
    } finally {
      c.close();
    }
  });
});

Deno.test("createServerBClient() aborts the upstream request when the caller cancels", async () => {
  await using b = await startSilentFakeB();
  const c = client(b.url);
  const controller = new AbortController();
  try {
    const pending = c.process({ message: "x" }, controller.signal);
    await b.arrived;
    controller.abort(new Error("cancelled by the test"));
    await assertRejects(() => pending, Error, "cancelled by the test");
    await b.disconnected;
    assertEquals(b.requests.length, 1);
  } finally {
    c.close();
  }
});

Deno.test("createServerBClient() stream()", async (t) => {
  const done = { ...answerFor("x"), aiResponse: "Hello there world" };
  await t.step("delivers each delta in order, then the final answer", async () => {
    await using b = await startFakeB(() =>
      sseAnswer([["", { text: "Hello " }], ["", { text: "there " }], ["", { text: "world" }], [
        "done",
        done,
      ]])
    );
    const c = client(b.url);
    try {
      const texts: string[] = [];
      const answer = await c.stream({ message: "x" }, (text) => texts.push(text));
      assertEquals(texts, ["Hello ", "there ", "world"]);
      assertEquals(answer, done);
      assertEquals(b.requests[0]!.path, "/stream");
      assertEquals(b.requests[0]!.headers.get("accept"), "text/event-stream");
    } finally {
      c.close();
    }
  });
  await t.step("retries a 503 before any text", async () => {
    await using b = await startFakeB((_req, n) =>
      n === 1
        ? errorAnswer(503, "unavailable", "busy")
        : sseAnswer([["", { text: "Hi" }], ["done", done]])
    );
    const c = client(b.url);
    try {
      const texts: string[] = [];
      await c.stream({ message: "x" }, (text) => texts.push(text));
      assertEquals(texts, ["Hi"]);
      assertEquals(b.requests.length, 2);
    } finally {
      c.close();
    }
  });
  await t.step("never retries once text reached the caller", async () => {
    await using b = await startFakeB(() =>
      sseAnswer([["", { text: "Hal" }], ["error", {
        error: { code: "provider_error", message: "boom" },
      }]])
    );
    const c = client(b.url);
    try {
      const { error, texts } = await failedStream(c);
      assertEquals(texts, ["Hal"]);
      assertEquals(b.requests.length, 1);
      assertEquals(
        error.message,
        `Server B at ${b.url} reported an error during POST /stream (provider_error: boom)`,
      );
    } finally {
      c.close();
    }
  });
  await t.step("reports a stream cut short as incomplete", async () => {
    await using b = await startFakeB(() => sseAnswer([["", { text: "Hal" }]]));
    const c = client(b.url);
    try {
      const { error } = await failedStream(c);
      assertEquals(
        error.message,
        `Server B at ${b.url} ended POST /stream before the answer was complete`,
      );
      assertEquals(b.requests.length, 1);
    } finally {
      c.close();
    }
  });
});

Deno.test("createServerBClient() stream() stalling after some text times out without a retry", async () => {
  const release = Promise.withResolvers<void>();
  await using b = await startFakeB(() => {
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode('data: {"text":"Hal"}\n\n'));
        await release.promise;
        controller.close();
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  const c = client(b.url, { timeoutMs: 300 });
  try {
    const { error, texts } = await failedStream(c);
    assertEquals(texts, ["Hal"]);
    assertEquals(error.message, `Server B at ${b.url} did not finish POST /stream within 0.3s`);
    assertEquals(b.requests.length, 1);
  } finally {
    release.resolve();
    c.close();
  }
});

Deno.test("parseRetryAfter() reads seconds and HTTP dates", () => {
  assertEquals(parseRetryAfter("3"), 3000);
  assertEquals(parseRetryAfter(null), undefined);
  assertEquals(parseRetryAfter("soon"), undefined);
  const now = Date.parse("Wed, 25 Nov 2026 12:00:00 GMT");
  assertEquals(parseRetryAfter("Wed, 25 Nov 2026 12:00:05 GMT", now), 5000);
});

Deno.test("createServerBClient() answers alike over the HTTP/1.1 pool and over fetch", async (t) => {
  for (const http1 of [true, false]) {
    await t.step(`http1: ${http1}`, async () => {
      await using b = await startFakeB((_req, n, seen) =>
        n === 2
          ? errorAnswer(400, "invalid_request", '"message" must not be empty')
          : Response.json(answerFor(JSON.parse(seen.body || "{}").message ?? "", n))
      );
      const c = client(b.url, { http1 });
      try {
        assertEquals((await c.process({ message: "Hi" })).aiResponse, "answer 1 to Hi");
        const error = await assertRejects(() => c.process({ message: "x" }), UpstreamError);
        assertMatch(error.message, /answered POST \/process with HTTP 400 \(invalid_request: /);
        assertEquals((await c.process({ message: "again" })).aiResponse, "answer 3 to again");
        const agent = b.requests[0]!.headers.get("user-agent") ?? "";
        assertEquals(agent.startsWith("Deno/"), !http1, `user-agent ${agent}`);
      } finally {
        c.close();
      }
    });
  }
});
