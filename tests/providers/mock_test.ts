import { loadConfig } from "../../src/core/config.ts";
import { createMockProvider, mockTokens } from "../../src/providers/mock.ts";
import { createProvider } from "../../src/providers/mod.ts";
import { providerOptions } from "../../src/server_b/mod.ts";
import type { CompletionRequest, StreamChunk } from "../../src/providers/types.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";

function request(message: string, extra: Partial<CompletionRequest> = {}): CompletionRequest {
  return { message, model: "gpt-4o-mini", temperature: 0.7, maxTokens: 100, ...extra };
}

const seedAnswer = (n: number, message: string) =>
  `[MOCK RESPONSE #${n}] You said: '${message}'. This is a test response without calling any external API.`;

Deno.test("createMockProvider() answers in the seed's form, numbered, for any model", async () => {
  const mock = createMockProvider();
  const first = await mock.complete(request("Hello"));
  const second = await mock.complete(request("What is Python?", { model: "claude-3.5-sonnet-v2" }));
  assertEquals(first.text, seedAnswer(1, "Hello"));
  assertEquals(second.text, seedAnswer(2, "What is Python?"));
  assertEquals([first.model, second.model], ["mock-model", "mock-model"]);
  assertEquals(first.usage, {
    promptTokens: mockTokens("Hello"),
    completionTokens: mockTokens(first.text),
    totalTokens: mockTokens("Hello") + mockTokens(first.text),
  });
  assertEquals(createMockProvider().status(), { configured: true });
  assertEquals(mock.models(), ["mock-model"]);
});

Deno.test("createMockProvider() counts the context in the prompt tokens", async () => {
  const mock = createMockProvider();
  const answer = await mock.complete(request("Hi", { context: "You are terse." }));
  assertEquals(answer.usage.promptTokens, mockTokens("You are terse.\nHi"));
});

Deno.test("mockTokens() is one token per four characters, rounded up", () => {
  assertEquals([mockTokens(""), mockTokens("a"), mockTokens("abcd"), mockTokens("abcde")], [
    0,
    1,
    1,
    2,
  ]);
});

Deno.test("createMockProvider().stream() streams word by word, then done with the same answer", async () => {
  const mock = createMockProvider();
  const chunks: StreamChunk[] = [];
  for await (const chunk of mock.stream(request("Tell me  a\njoke"))) chunks.push(chunk);
  const done = chunks.at(-1)!;
  assert(done.type === "done");
  const deltas = chunks.slice(0, -1).map((c) => c.type === "delta" ? c.text : "?");
  assertEquals(deltas.join(""), done.completion.text);
  assertEquals(done.completion.text, seedAnswer(1, "Tell me  a\njoke"));
  assertEquals(deltas.slice(0, 4), ["[MOCK ", "RESPONSE ", "#1] ", "You "]);
  for (const delta of deltas) assert(/^\S+\s*$/.test(delta), JSON.stringify(delta));
});

Deno.test("createMockProvider() waits MOCK_DELAY_MS before answering", async (t) => {
  // A timer of the same length started just before must fire first; without the delay the
  // answer would come first, in the same turn.
  await t.step("complete()", async () => {
    const mock = await createProvider(
      providerOptions(loadConfig({ env: { MOCK_DELAY_MS: "30" } })),
    );
    const order: string[] = [];
    setTimeout(() => order.push("timer"), 30);
    await mock.complete(request("Hi"));
    order.push("answer");
    assertEquals(order, ["timer", "answer"]);
  });
  await t.step("stream() before its first delta", async () => {
    const mock = createMockProvider({ delayMs: 30 });
    const order: string[] = [];
    setTimeout(() => order.push("timer"), 30);
    for await (const chunk of mock.stream(request("Hi"))) {
      order.push(chunk.type);
      break;
    }
    assertEquals(order, ["timer", "delta"]);
  });
  await t.step("no delay by default: the answer comes before any timer", async () => {
    const mock = createMockProvider();
    const order: string[] = [];
    const timer = setTimeout(() => order.push("timer"), 0);
    await mock.complete(request("Hi"));
    order.push("answer");
    clearTimeout(timer);
    assertEquals(order, ["answer"]);
  });
});

Deno.test("createMockProvider() stops waiting when the request is aborted", async (t) => {
  const mock = createMockProvider({ delayMs: 600_000 });
  await t.step("during the delay", async () => {
    const controller = new AbortController();
    const pending = mock.complete(request("Hi", { signal: controller.signal }));
    controller.abort(new Error("client left"));
    await assertRejects(() => pending, Error, "client left");
  });
  await t.step("before the call", async () => {
    const controller = new AbortController();
    controller.abort(new Error("already gone"));
    await assertRejects(
      () => mock.complete(request("Hi", { signal: controller.signal })),
      Error,
      "already gone",
    );
    const stream = mock.stream(request("Hi", { signal: controller.signal }));
    await assertRejects(() => stream[Symbol.asyncIterator]().next(), Error, "already gone");
  });
});
