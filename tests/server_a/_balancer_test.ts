import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { ProviderError, UpstreamError } from "../../src/core/errors.ts";
import type {
  Completion,
  CompletionRequest,
  Provider,
  StreamChunk,
} from "../../src/providers/types.ts";
import { createBalancedServerBClient } from "../../src/server_a/_balancer.ts";
import { createServerBClient } from "../../src/server_a/_b_client.ts";
import { eventually, startTestServerB, type TestServerB } from "../_helpers.ts";

/** A mock provider that holds every request until released, and counts arrivals. */
function gatedProvider(label: string) {
  let arrived = 0;
  let gate = Promise.withResolvers<void>();
  const waiters: { n: number; resolve: () => void }[] = [];
  const arrive = () => {
    arrived++;
    for (const w of waiters.filter((w) => arrived >= w.n)) w.resolve();
  };
  const completion = (request: CompletionRequest): Completion => ({
    text: `${label} answers ${request.message}`,
    model: "mock-model",
    usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
  });
  const provider: Provider = {
    name: "mock",
    defaultModel: "mock-model",
    async complete(request) {
      arrive();
      await gate.promise;
      return completion(request);
    },
    async *stream(request): AsyncIterable<StreamChunk> {
      arrive();
      yield { type: "delta", text: `${label} ` };
      await gate.promise;
      yield { type: "delta", text: "done" };
      yield { type: "done", completion: completion(request) };
    },
    models: () => ["mock-model"],
    status: () => ({ configured: true }),
  };
  return {
    provider,
    get arrived() {
      return arrived;
    },
    waitFor(n: number): Promise<void> {
      if (arrived >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    release() {
      gate.resolve();
    },
    hold() {
      gate = Promise.withResolvers<void>();
    },
  };
}

/** A TCP relay in front of a server; `kill()` drops it like a machine going away. */
function startRelay(targetPort: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const accepting = (async () => {
    for await (const conn of listener) {
      let upstream: Deno.Conn;
      try {
        upstream = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
      } catch {
        conn.close();
        continue;
      }
      conns.add(conn);
      conns.add(upstream);
      conn.readable.pipeTo(upstream.writable).catch(() => {});
      upstream.readable.pipeTo(conn.writable).catch(() => {});
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    async kill() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
      await accepting;
    },
  };
}

function client(url: string) {
  return createServerBClient({ url, timeoutMs: 20_000, attempts: 1 });
}

function portOf(b: TestServerB): number {
  return Number(new URL(b.url).port);
}

/** Starts a second Server B after `first`, stopping `first` when the second cannot start. */
async function startSecond(
  first: TestServerB,
  ...args: Parameters<typeof startTestServerB>
): Promise<TestServerB> {
  try {
    return await startTestServerB(...args);
  } catch (error) {
    await first.close();
    throw error;
  }
}

/** Two Server Bs (with `env`, and `providers` in turn) balanced in that order; disposing stops all. */
async function startBalancedPair(
  env: Record<string, string> = {},
  providers: { provider: Provider }[] = [],
) {
  const b1 = await startTestServerB(env, providers[0] ?? {});
  const b2 = await startSecond(b1, env, providers[1] ?? {});
  const balanced = createBalancedServerBClient({
    backends: [client(b1.url), client(b2.url)],
    attempts: 3,
    healthIntervalMs: 0,
  });
  return {
    b1,
    b2,
    balanced,
    async [Symbol.asyncDispose]() {
      balanced.close();
      await b2.close();
      await b1.close();
    },
  };
}

/** Two gated Server Bs, B2 behind a relay, balanced in `order`; disposing releases and stops all. */
async function startGatedPair(order: "b1-first" | "relay-first") {
  const gate1 = gatedProvider("B1");
  const gate2 = gatedProvider("B2");
  const b1 = await startTestServerB({}, { provider: gate1.provider });
  const b2 = await startSecond(b1, {}, { provider: gate2.provider });
  const relay = startRelay(portOf(b2));
  const urls = order === "b1-first" ? [b1.url, relay.url] : [relay.url, b1.url];
  const balanced = createBalancedServerBClient({
    backends: urls.map((url) => client(url)),
    attempts: 3,
    healthIntervalMs: 0,
  });
  return {
    gate1,
    gate2,
    b1,
    relay,
    balanced,
    async [Symbol.asyncDispose]() {
      gate2.release();
      balanced.close();
      await b2.close();
      await b1.close();
    },
  };
}

Deno.test("createBalancedServerBClient() spreads requests round robin", async () => {
  await using pair = await startBalancedPair();
  const { b1, b2, balanced } = pair;
  for (let i = 0; i < 6; i++) await balanced.process({ message: `m${i}` });
  assertEquals((await b1.service.ledger.stats()).totalRequests, 3);
  assertEquals((await b2.service.ledger.stats()).totalRequests, 3);
  assertEquals(balanced.backends().map((b) => [b.served, b.circuit]), [[3, "closed"], [
    3,
    "closed",
  ]]);
});

Deno.test("createBalancedServerBClient(): one Server B stopping mid-run loses no request that had not started answering", async (t) => {
  await using pair = await startGatedPair("b1-first");
  const { gate1, gate2, b1, relay, balanced } = pair;
  await t.step("ten requests in flight, five on each Server B", async () => {
    const answers = Array.from({ length: 10 }, (_, i) => balanced.process({ message: `m${i}` }));
    await gate1.waitFor(5);
    await gate2.waitFor(5);
    // B2's machine goes away while its five requests wait for their answers.
    await relay.kill();
    // Each of them fails over to B1, which now holds all ten.
    await gate1.waitFor(10);
    gate1.release();
    const settled = await Promise.allSettled(answers);
    assertEquals(settled.filter((s) => s.status === "rejected"), []);
    for (const s of settled) {
      assert(s.status === "fulfilled");
      assertMatch(s.value.aiResponse, /^B1 answers m\d$/);
    }
    assertEquals(
      new Set(
        settled.map((s) => (s as PromiseFulfilledResult<{ aiResponse: string }>).value.aiResponse),
      ).size,
      10,
    );
    assertEquals((await b1.service.ledger.stats()).totalRequests, 10);
    const [s1, s2] = balanced.backends();
    assertEquals(s1!.served, 10);
    assertEquals(s2!.circuit, "open");
    assertEquals(s2!.failed, 5);
  });
  await t.step("while B2 is open, requests go to B1 without touching B2", async () => {
    const before = balanced.backends()[1]!.failed;
    for (let i = 0; i < 4; i++) await balanced.process({ message: `after${i}` });
    assertEquals(balanced.backends()[1]!.failed, before);
    assertEquals((await b1.service.ledger.stats()).totalRequests, 14);
  });
});

Deno.test("createBalancedServerBClient() fails a stream over only before text reached the caller", async (t) => {
  await using pair = await startGatedPair("relay-first");
  const { gate1, relay, balanced } = pair;
  await t.step(
    "text already delivered: the failure reaches the caller, nothing is repeated",
    async () => {
      const texts: string[] = [];
      const firstText = Promise.withResolvers<void>();
      const stream = balanced.stream({ message: "s1" }, (text) => {
        texts.push(text);
        firstText.resolve();
      });
      await firstText.promise;
      await relay.kill();
      const error = await assertRejects(() => stream, UpstreamError);
      assertMatch(error.message, /Server B at http:\/\/127\.0\.0\.1:\d+/);
      assertEquals(texts, ["B2 "]);
      assertEquals(gate1.arrived, 0);
    },
  );
  await t.step("no text yet (B2 refuses): the stream is served by B1", async () => {
    gate1.release();
    const texts: string[] = [];
    const answer = await balanced.stream({ message: "s2" }, (text) => texts.push(text));
    assertEquals(texts.join(""), "B1 done");
    assertEquals(answer.aiResponse, "B1 answers s2");
  });
});

Deno.test("createBalancedServerBClient() opens a circuit, then probes the Server B back", async () => {
  const b1 = await startTestServerB();
  await using b2 = await startTestServerB();
  const port = portOf(b1);
  const balanced = createBalancedServerBClient({
    backends: [client(b1.url), client(b2.url)],
    attempts: 3,
    failureThreshold: 2,
    openMs: 50,
    healthIntervalMs: 0,
  });
  try {
    await b1.close();
    await balanced.checkHealth();
    assertEquals(balanced.backends()[0]!.circuit, "closed");
    await balanced.checkHealth();
    assertEquals(balanced.backends()[0]!.circuit, "open");
    for (let i = 0; i < 4; i++) await balanced.process({ message: `x${i}` });
    assertEquals((await b2.service.ledger.stats()).totalRequests, 4);

    await using back = await startTestServerB({ HTTP_PORT: String(port) });
    await eventually(async () => {
      if (balanced.backends()[0]!.circuit === "closed") return true;
      await balanced.checkHealth();
      return false;
    });
    await balanced.process({ message: "y1" });
    await balanced.process({ message: "y2" });
    assertEquals((await back.service.ledger.stats()).totalRequests, 1);
  } finally {
    balanced.close();
  }
});

Deno.test("createBalancedServerBClient() says which Server Bs failed when none is left", async () => {
  const b1 = await startTestServerB();
  const b2 = await startTestServerB();
  await b1.close();
  await b2.close();
  const balanced = createBalancedServerBClient({
    backends: [client(b1.url), client(b2.url)],
    attempts: 2,
    failureThreshold: 1,
    healthIntervalMs: 0,
  });
  try {
    const error = await assertRejects(() => balanced.process({ message: "x" }), UpstreamError);
    assertMatch(error.message, /refused the connection/);
    const again = await assertRejects(() => balanced.process({ message: "x" }), UpstreamError);
    assertMatch(
      again.message,
      /^No Server B is available: http:\/\/127\.0\.0\.1:\d+ \(open: .*refused/,
    );
  } finally {
    balanced.close();
  }
});

Deno.test("createBalancedServerBClient() does not fail over a request Server B refused as bad", async () => {
  await using pair = await startBalancedPair();
  const { balanced } = pair;
  await assertRejects(
    () => balanced.process({ message: "x", temperature: 5 } as never),
    UpstreamError,
    "HTTP 400",
  );
  assertEquals(balanced.backends().map((b) => b.failed), [0, 0]);
});

/** A provider that is always unavailable, counting its calls. */
function downProvider() {
  const counter = { calls: 0 };
  const fail = () => {
    counter.calls++;
    return new ProviderError("unavailable", "The mock provider is unavailable");
  };
  const provider: Provider = {
    name: "mock",
    defaultModel: "mock-model",
    complete: () => Promise.reject(fail()),
    // deno-lint-ignore require-yield
    async *stream(): AsyncIterable<StreamChunk> {
      throw fail();
    },
    models: () => ["mock-model"],
    status: () => ({ configured: true }),
  };
  return Object.assign(counter, { provider });
}

Deno.test("createBalancedServerBClient() does not fail over a provider failure Server B retried", async (t) => {
  const providers = [downProvider(), downProvider()];
  await using pair = await startBalancedPair({ RETRY_ATTEMPTS: "3" }, providers);
  const { balanced } = pair;
  for (const stream of [false, true]) {
    await t.step(stream ? "stream" : "process", async () => {
      const before = providers[0]!.calls + providers[1]!.calls;
      await assertRejects(
        () =>
          stream ? balanced.stream({ message: "x" }, () => {}) : balanced.process({ message: "x" }),
        UpstreamError,
        "HTTP 502 (provider_unavailable",
      );
      assertEquals(providers[0]!.calls + providers[1]!.calls - before, 3);
    });
  }
});

Deno.test("createBalancedServerBClient() fails over Server B's own overload at once", async () => {
  await using pair = await startBalancedPair();
  const { b1, balanced } = pair;
  b1.service.ledger.problem = () => "the disk is full";
  const answer = await balanced.process({ message: "x" });
  assertMatch(answer.aiResponse, /You said: 'x'/);
  assertEquals(balanced.backends().map((b) => [b.failed, b.served]), [[1, 0], [0, 1]]);
});
