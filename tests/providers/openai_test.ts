import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { postJson, readSse, startTestServerB } from "../_helpers.ts";
import { startFakeOpenAI } from "../fakes/openai_server.ts";
import { sseReader, within } from "../fakes/sse_reader.ts";
import { errorOf, serverBOver } from "./_harness.ts";

const KEY = "sk-test-key-0123456789abcdef";

async function setUp(env: Record<string, string> = {}) {
  const fake = await startFakeOpenAI({ apiKey: KEY });
  return await serverBOver(fake, {
    AI_PROVIDER: "openai",
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: `${fake.url}/v1`,
    OPENAI_DEFAULT_MODEL: "gpt-4o-mini",
    ...env,
  });
}

Deno.test("createOpenAIProvider() answers /process through the SDK with the provider's usage and cost", async (t) => {
  await using env = await setUp();
  const { fake, b } = env;

  await t.step("cost = tokens x price of gpt-4o-mini", async () => {
    fake.plan({ pieces: ["Hi ", "there"], usage: { input: 1000, output: 500 } });
    const response = await postJson(`${b.url}/process`, {
      message: "Hello",
      context: "Be brief.",
      temperature: 0.3,
      max_tokens: 77,
    });
    assertEquals(response.status, 200);
    const body = await response.json();
    assertEquals(body.aiResponse, "Hi there");
    assertEquals(body.model, "gpt-4o-mini");
    assertEquals(body.provider, "openai");
    assertEquals(body.usage, { promptTokens: 1000, completionTokens: 500, totalTokens: 1500 });
    // gpt-4o-mini: $0.00015 in, $0.0006 out per 1K tokens
    assertEquals(body.estimatedCost, 0.00045);
    const sent = fake.calls.at(-1)!;
    assertEquals(sent.headers.get("authorization"), `Bearer ${KEY}`);
    assertEquals(sent.body.model, "gpt-4o-mini");
    assertEquals(sent.body.messages, [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hello" },
    ]);
    assertEquals(sent.body.temperature, 0.3);
    assertEquals(sent.body.max_tokens, 77);
    assertEquals(sent.body.stream, undefined);
  });

  await t.step("reasoning models get max_completion_tokens and no temperature", async () => {
    for (const model of ["o4-mini", "gpt-5-mini"]) {
      const response = await postJson(`${b.url}/process`, {
        message: "Hello",
        model,
        max_tokens: 300,
      });
      assertEquals(response.status, 200);
      await response.body?.cancel();
      const sent = fake.calls.at(-1)!.body;
      assertEquals(sent.max_completion_tokens, 300);
      assertEquals("max_tokens" in sent, false);
      assertEquals("temperature" in sent, false);
    }
  });

  await t.step("an unknown model costs null and is counted as unpriced", async () => {
    const before = await b.service.ledger.stats();
    fake.plan({ usage: { input: 10, output: 20 } });
    const response = await postJson(`${b.url}/process`, { message: "Hi", model: "llama3.2:1b" });
    const body = await response.json();
    assertEquals(body.model, "llama3.2:1b");
    assertEquals(body.estimatedCost, null);
    const after = await b.service.ledger.stats();
    assertEquals(after.unpricedRequests, before.unpricedRequests + 1);
    assertEquals(after.estimatedTotalCost, before.estimatedTotalCost);
    assertEquals(after.models["llama3.2:1b"]?.unpricedRequests, 1);
    assertEquals(after.models["llama3.2:1b"]?.totalTokens, 30);
  });

  await t.step("/models and /health", async () => {
    const models = await (await fetch(`${b.url}/models`)).json();
    assert(models.models.includes("gpt-4.1"), JSON.stringify(models));
    assert(models.models.includes("o3"));
    assert(!models.models.some((m: string) => m.startsWith("anthropic.")));
    const health = await (await fetch(`${b.url}/health`)).json();
    assertEquals(health.ai, { configured: true, status: "healthy" });
  });
});

Deno.test("createOpenAIProvider() streams each delta as it arrives, with streamed usage", async (t) => {
  await using env = await setUp();
  const { fake, b } = env;

  await t.step(
    "the first delta reaches the HTTP client while the fake holds the rest",
    async () => {
      const release = Promise.withResolvers<void>();
      fake.plan({
        pieces: ["One", " two", " three"],
        usage: { input: 2000, output: 1000 },
        hold: release.promise,
      });
      const response = await postJson(`${b.url}/stream`, { message: "Count", model: "gpt-4.1" });
      assertEquals(response.status, 200);
      const events = sseReader(response);
      const first = await within(
        events.next(),
        15_000,
        "the first delta did not reach the client while the fake held the rest",
      );
      assertEquals(JSON.parse(first!.data), { text: "One" });
      release.resolve();
      const rest = await events.rest();
      assertEquals(rest.filter((e) => !e.event).map((e) => JSON.parse(e.data).text), [
        " two",
        " three",
      ]);
      const done = rest.at(-1)!;
      assertEquals(done.event, "done");
      const result = JSON.parse(done.data);
      assertEquals(result.aiResponse, "One two three");
      assertEquals(result.usage, { promptTokens: 2000, completionTokens: 1000, totalTokens: 3000 });
      // gpt-4.1: $0.002 in, $0.008 out per 1K tokens
      assertEquals(result.estimatedCost, 0.012);
      const sent = fake.calls.at(-1)!.body;
      assertEquals(sent.stream, true);
      assertEquals(sent.stream_options, { include_usage: true });
    },
  );

  await t.step("an error event mid-stream ends the SSE stream with event: error", async () => {
    const failuresBefore = (await b.service.ledger.stats()).failedRequests;
    fake.plan({ pieces: ["Part", " two", " three"], failAfter: 1, failWith: "error" });
    const events = await readSse(await postJson(`${b.url}/stream`, { message: "Go" }));
    assertEquals(events.map((e) => e.event ?? "delta"), ["delta", "error"]);
    const error = JSON.parse(events[1]!.data).error;
    assertEquals(error.code, "provider_error");
    assertMatch(error.message, /error while processing/);
    assertEquals((await b.service.ledger.stats()).failedRequests, failuresBefore + 1);
  });

  await t.step("a body that ends early is an error, never a truncated success", async () => {
    fake.plan({ pieces: ["Part", " two", " three"], failAfter: 2, failWith: "cut" });
    const events = await readSse(await postJson(`${b.url}/stream`, { message: "Go" }));
    assertEquals(events.map((e) => e.event ?? "delta"), ["delta", "delta", "error"]);
    assertMatch(JSON.parse(events[2]!.data).error.message, /before the answer was complete/);
  });

  await t.step("a client that disconnects cancels the upstream request", async () => {
    const release = Promise.withResolvers<void>();
    fake.plan({ pieces: ["Slow", " answer"], hold: release.promise });
    const response = await postJson(`${b.url}/stream`, { message: "Go" });
    const events = sseReader(response);
    assertEquals(JSON.parse((await events.next())!.data), { text: "Slow" });
    const call = fake.calls.at(-1)!;
    assertEquals(call.aborted, false);
    await events.cancel();
    const aborted = await fake.aborted();
    assertEquals(aborted, call);
    release.resolve();
  });
});

Deno.test("createOpenAIProvider() maps each OpenAI error, retried by Server B only", async (t) => {
  await using env = await setUp();
  const { fake, b } = env;
  const callsDuring = async (fn: () => Promise<void>) => {
    const before = fake.calls.length;
    await fn();
    return fake.calls.length - before;
  };

  await t.step("401 -> 502 provider_auth naming OPENAI_API_KEY, never the key", async () => {
    const wrong = "sk-wrong-key-9876543210zyxw";
    const fakeWithOtherKey = await startFakeOpenAI({ apiKey: KEY });
    await using other = await startTestServerB({
      AI_PROVIDER: "openai",
      OPENAI_API_KEY: wrong,
      OPENAI_BASE_URL: `${fakeWithOtherKey.url}/v1`,
    });
    const response = await postJson(`${other.url}/process`, { message: "Hi" });
    assertEquals(response.status, 502);
    const text = await response.text();
    const error = JSON.parse(text).error;
    assertEquals(error.code, "provider_auth");
    assertMatch(error.message, /OPENAI_API_KEY/);
    assert(!text.includes(wrong) && !text.includes("zyxw"), text);
    assertEquals(fakeWithOtherKey.calls.length, 1);
    await fakeWithOtherKey.close();
  });

  await t.step("429 rate_limit_exceeded is retried after Retry-After", async () => {
    const rateLimited = {
      status: 429,
      error: "rate_limit_exceeded",
      message: "Rate limit reached for gpt-4o-mini",
      headers: { "retry-after": "0" },
    };
    fake.plan(rateLimited, rateLimited);
    const calls = await callsDuring(async () => {
      const response = await postJson(`${b.url}/process`, { message: "Hi" });
      assertEquals(response.status, 200);
      await response.body?.cancel();
    });
    assertEquals(calls, 3);
  });

  await t.step("429 on every attempt -> 429 with Retry-After after exactly 3 calls", async () => {
    const rateLimited = {
      status: 429,
      error: "rate_limit_exceeded",
      headers: { "retry-after-ms": "20", "retry-after": "1" },
    };
    fake.plan(rateLimited, rateLimited, rateLimited);
    const calls = await callsDuring(async () => {
      const response = await postJson(`${b.url}/process`, { message: "Hi" });
      assertEquals(response.status, 429);
      assertEquals(response.headers.get("retry-after"), "1");
      assertEquals((await errorOf(response)).code, "provider_rate_limit");
    });
    assertEquals(calls, 3);
  });

  await t.step("a Retry-After beyond the deadline answers 429 at once", async () => {
    fake.plan({ status: 429, error: "rate_limit_exceeded", headers: { "retry-after": "30" } });
    const calls = await callsDuring(async () => {
      const response = await postJson(`${b.url}/process`, { message: "Hi" });
      assertEquals(response.status, 429);
      assertEquals(response.headers.get("retry-after"), "30");
      await response.body?.cancel();
    });
    assertEquals(calls, 1);
  });

  await t.step("429 insufficient_quota -> 502 provider_quota, not retried", async () => {
    fake.plan({ status: 429, error: "insufficient_quota", message: "You exceeded your quota" });
    const calls = await callsDuring(async () => {
      const response = await postJson(`${b.url}/process`, { message: "Hi" });
      assertEquals(response.status, 502);
      const error = await errorOf(response);
      assertEquals(error.code, "provider_quota");
      assertMatch(error.message, /insufficient_quota/);
    });
    assertEquals(calls, 1);
  });

  await t.step("5xx is retried: one 503 then an answer", async () => {
    fake.plan({ status: 503, message: "Overloaded" });
    const calls = await callsDuring(async () => {
      const response = await postJson(`${b.url}/process`, { message: "Hi" });
      assertEquals(response.status, 200);
      await response.body?.cancel();
    });
    assertEquals(calls, 2);
  });

  await t.step(
    "5xx on every attempt -> 502 provider_unavailable after exactly 3 calls",
    async () => {
      fake.plan({ status: 500 }, { status: 502 }, { status: 500 });
      const calls = await callsDuring(async () => {
        const response = await postJson(`${b.url}/process`, { message: "Hi" });
        assertEquals(response.status, 502);
        assertEquals((await errorOf(response)).code, "provider_unavailable");
      });
      assertEquals(calls, 3);
    },
  );

  await t.step("upstream timeouts (504) are retried, then 504 provider_timeout", async () => {
    fake.plan({ status: 504 }, { status: 504 }, { status: 504 });
    const calls = await callsDuring(async () => {
      const response = await postJson(`${b.url}/process`, { message: "Hi" });
      assertEquals(response.status, 504);
      assertEquals((await errorOf(response)).code, "provider_timeout");
    });
    assertEquals(calls, 3);
  });

  await t.step("404 model_not_found -> 400 provider_bad_request, not retried", async () => {
    fake.plan({
      status: 404,
      error: "model_not_found",
      message: "The model `gpt-9` does not exist",
    });
    const calls = await callsDuring(async () => {
      const response = await postJson(`${b.url}/process`, { message: "Hi", model: "gpt-9" });
      assertEquals(response.status, 400);
      const error = await errorOf(response);
      assertEquals(error.code, "provider_bad_request");
      assertMatch(error.message, /gpt-9/);
    });
    assertEquals(calls, 1);
  });

  await t.step("errors before the first delta of /stream answer as HTTP errors", async () => {
    fake.plan({ status: 429, error: "insufficient_quota" });
    const response = await postJson(`${b.url}/stream`, { message: "Hi" });
    assertEquals(response.status, 502);
    assertEquals((await errorOf(response)).code, "provider_quota");
  });
});

Deno.test("createOpenAIProvider() gives up on a silent server at TIMEOUT_SECONDS with 504", async () => {
  await using env = await setUp({ TIMEOUT_SECONDS: "0.5" });
  const { fake, b } = env;
  fake.plan({ hang: true });
  const response = await postJson(`${b.url}/process`, { message: "Hi" });
  assertEquals(response.status, 504);
  assertEquals((await errorOf(response)).code, "provider_timeout");
  assertEquals(fake.calls.length, 1);
  assertEquals((await fake.aborted()).aborted, true);
});

Deno.test("createOpenAIProvider() without OPENAI_API_KEY starts, reports why, and fails clearly", async () => {
  await using b = await startTestServerB({ AI_PROVIDER: "openai" });
  const health = await (await fetch(`${b.url}/health`)).json();
  assertEquals(health.ai, {
    configured: false,
    status: "not configured",
    reason: "OPENAI_API_KEY is not set",
  });
  const response = await postJson(`${b.url}/process`, { message: "Hi" });
  assertEquals(response.status, 502);
  const error = await errorOf(response);
  assertEquals(error.code, "provider_auth");
  assertMatch(error.message, /OPENAI_API_KEY is not set/);
});

Deno.test("createOpenAIProvider() needs no key for a compatible server (OPENAI_BASE_URL)", async () => {
  await using fake = await startFakeOpenAI();
  await using b = await startTestServerB({
    AI_PROVIDER: "openai",
    OPENAI_BASE_URL: `${fake.url}/v1`,
  });
  const health = await (await fetch(`${b.url}/health`)).json();
  assertEquals(health.ai.configured, true);
  const response = await postJson(`${b.url}/process`, { message: "Hi", model: "llama3.2" });
  assertEquals(response.status, 200);
  assertEquals((await response.json()).aiResponse, "Hello from the fake.");
});
