import { ProviderError } from "../../src/core/errors.ts";
import { openLedger } from "../../src/ledger/mod.ts";
import type { Provider, StreamChunk } from "../../src/providers/types.ts";
import {
  ConfigResponse,
  ErrorBody,
  HealthResponse,
  ModelsResponse,
  ProcessResponse,
  StreamDelta,
} from "../../src/wire.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { createMockProvider } from "../../src/providers/mock.ts";
import {
  assertBearerChallenge,
  eventually,
  postJson,
  readSse,
  startTestServerB,
  tempDirSync,
} from "../_helpers.ts";
import { rawHttp } from "../mcp/_harness.ts";

const MIB = 1024 * 1024;

async function expectError(response: Response, status: number, code: string): Promise<string> {
  assertEquals(response.status, status);
  assertMatch(response.headers.get("content-type") ?? "", /application\/json/);
  const body = ErrorBody.parse(await response.json());
  assertEquals(body.error.code, code);
  assert(body.error.message.length > 0);
  return body.error.message;
}

async function expectHealthy(url: string): Promise<void> {
  const response = await fetch(`${url}/health`);
  assertEquals(response.status, 200);
  HealthResponse.parse(await response.json());
}

/** A provider that streams `deltas` and then fails, or fails before any delta when empty. */
function failingProvider(deltas: string[], error: Error): Provider {
  return {
    name: "mock",
    defaultModel: "broken-model",
    complete: () => Promise.reject(error),
    async *stream(): AsyncIterable<StreamChunk> {
      for (const text of deltas) {
        await Promise.resolve();
        yield { type: "delta", text };
      }
      throw error;
    },
    models: () => ["broken-model"],
    status: () => ({ configured: true }),
  };
}

Deno.test("createServerBHandler() answers every endpoint in its documented shape", async (t) => {
  await using b = await startTestServerB();

  await t.step("GET /health", async () => {
    const response = await fetch(`${b.url}/health`);
    assertEquals(response.status, 200);
    assertEquals(HealthResponse.parse(await response.json()), {
      status: "healthy",
      server: "Server B (AI Responder)",
      provider: "mock",
      messagesProcessed: 0,
      ai: { configured: true, status: "healthy" },
    });
  });

  await t.step("POST /process", async () => {
    const response = await postJson(`${b.url}/process`, {
      message: "What is Python?",
      model: "gpt-4o-mini",
      max_tokens: 100,
    });
    assertEquals(response.status, 200);
    const answer = ProcessResponse.parse(await response.json());
    assertEquals(
      answer.aiResponse,
      "[MOCK RESPONSE #1] You said: 'What is Python?'. This is a test response without calling any external API.",
    );
    assertEquals(answer.model, "mock-model");
    assertEquals(answer.provider, "mock");
    assertEquals(answer.usage, {
      promptTokens: Math.ceil("What is Python?".length / 4),
      completionTokens: Math.ceil(answer.aiResponse.length / 4),
      totalTokens: Math.ceil("What is Python?".length / 4) +
        Math.ceil(answer.aiResponse.length / 4),
    });
    assertEquals(answer.estimatedCost, 0);
    assertEquals(answer.status, "success");
    assertMatch(answer.messageId, /^[0-9a-f-]{36}$/);
    assert(answer.responseTime >= 0);
  });

  await t.step("GET /models", async () => {
    const response = await fetch(`${b.url}/models`);
    assertEquals(response.status, 200);
    assertEquals(ModelsResponse.parse(await response.json()), {
      provider: "mock",
      defaultModel: "mock-model",
      models: ["mock-model"],
    });
  });

  await t.step("GET /config", async () => {
    const response = await fetch(`${b.url}/config`);
    assertEquals(response.status, 200);
    assertEquals(ConfigResponse.strict().parse(await response.json()), {
      provider: "mock",
      defaultModel: "mock-model",
      temperature: 0.7,
      maxTokens: 1000,
    });
  });

  await t.step("GET /health counts the message processed", async () => {
    const health = HealthResponse.parse(await (await fetch(`${b.url}/health`)).json());
    assertEquals(health.messagesProcessed, 1);
  });
});

Deno.test("createServerBHandler() streams deltas as separate SSE events, then done", async () => {
  await using b = await startTestServerB();
  const response = await postJson(`${b.url}/stream`, {
    message: "Tell me a joke",
    context: "Be brief",
  });
  assertEquals(response.status, 200);
  assertMatch(response.headers.get("content-type") ?? "", /^text\/event-stream/);
  const events = await readSse(response);
  const last = events.at(-1)!;
  assertEquals(last.event, "done");
  const deltas = events.slice(0, -1);
  assert(deltas.length > 5, `expected many deltas, got ${deltas.length}`);
  for (const event of deltas) assertEquals(event.event, undefined);
  const text = deltas.map((e) => StreamDelta.parse(JSON.parse(e.data)).text).join("");
  const done = ProcessResponse.parse(JSON.parse(last.data));
  assertEquals(text, done.aiResponse);
  assertEquals(
    done.aiResponse,
    "[MOCK RESPONSE #1] You said: 'Tell me a joke'. This is a test response without calling any external API.",
  );
  assertEquals(done.usage.promptTokens, Math.ceil("Be brief\nTell me a joke".length / 4));
  assertEquals(done.usage.completionTokens, Math.ceil(done.aiResponse.length / 4));
  assertEquals(done.estimatedCost, 0);
  const health = HealthResponse.parse(await (await fetch(`${b.url}/health`)).json());
  assertEquals(health.messagesProcessed, 1);
});

Deno.test("createServerBHandler() ends a stream that fails midway with event: error", async () => {
  const provider = failingProvider(["one ", "two ", "three "], new Error("connection reset"));
  await using b = await startTestServerB({}, { provider });
  const response = await postJson(`${b.url}/stream`, { message: "Hi" });
  assertEquals(response.status, 200);
  const events = await readSse(response);
  assertEquals(
    events.map((e) => e.event ?? "delta"),
    ["delta", "delta", "delta", "error"],
  );
  assertEquals(events.slice(0, 3).map((e) => JSON.parse(e.data).text).join(""), "one two three ");
  const error = ErrorBody.parse(JSON.parse(events[3]!.data));
  assertEquals(error.error.code, "provider_error");
  assertMatch(error.error.message, /connection reset/);
  assert(!events.some((e) => e.event === "done"), "a failed stream must not end with done");
  await expectHealthy(b.url);
  const stats = await b.service.ledger.stats();
  assertEquals([stats.totalRequests, stats.failedRequests], [1, 1]);
});

Deno.test("createServerBHandler() answers a provider failure before the first delta with its HTTP status", async (t) => {
  await t.step("/stream", async () => {
    const provider = failingProvider([], new ProviderError("auth", "The API key was refused"));
    await using b = await startTestServerB({}, { provider });
    const message = await expectError(
      await postJson(`${b.url}/stream`, { message: "Hi" }),
      502,
      "provider_auth",
    );
    assertMatch(message, /API key was refused/);
  });
  await t.step("/process", async () => {
    const provider = failingProvider([], new ProviderError("bad_request", "Unknown model"));
    await using b = await startTestServerB({}, { provider });
    await expectError(
      await postJson(`${b.url}/process`, { message: "Hi" }),
      400,
      "provider_bad_request",
    );
    await expectHealthy(b.url);
  });
});

Deno.test("createServerBHandler() answers bad input with 400 and keeps serving", async (t) => {
  await using b = await startTestServerB();
  const cases: [string, string | unknown, RegExp][] = [
    ["invalid JSON", "{not json", /not valid JSON/],
    ["empty body", "", /not valid JSON/],
    ["a JSON array", [1, 2], /JSON object/],
    ["a JSON string", '"hello"', /JSON object/],
    ["missing message", { model: "x" }, /"message" is required/],
    ["non-string message", { message: 42 }, /"message" must be a string/],
    ["empty message", { message: "" }, /"message" must not be empty/],
    ["string temperature", { message: "hi", temperature: "0.5" }, /"temperature" must be a number/],
    ["temperature above 2", { message: "hi", temperature: 2.5 }, /between 0 and 2/],
    ["negative temperature", { message: "hi", temperature: -0.1 }, /between 0 and 2/],
    [
      "fractional max_tokens",
      { message: "hi", max_tokens: 1.5 },
      /"max_tokens" must be an integer/,
    ],
    ["string max_tokens", { message: "hi", max_tokens: "100" }, /"max_tokens" must be an integer/],
    ["zero max_tokens", { message: "hi", max_tokens: 0 }, /between 1 and 200000/],
    ["huge max_tokens", { message: "hi", max_tokens: 200001 }, /between 1 and 200000/],
    ["non-string context", { message: "hi", context: 5 }, /"context" must be a string/],
    ["non-string model", { message: "hi", model: 5 }, /"model" must be a string/],
  ];
  for (const path of ["/process", "/stream"]) {
    for (const [name, body, pattern] of cases) {
      await t.step(`${path}: ${name}`, async () => {
        const code = /not valid JSON/.test(pattern.source) ? "invalid_json" : "invalid_request";
        const message = await expectError(await postJson(`${b.url}${path}`, body), 400, code);
        assertMatch(message, pattern);
        await expectHealthy(b.url);
      });
    }
  }
  assertEquals((await b.service.ledger.stats()).totalRequests, 0);
});

Deno.test("createServerBHandler() answers 404 for an unknown path and 405 for a wrong method", async (t) => {
  await using b = await startTestServerB();
  await t.step("404", async () => {
    for (const path of ["/nope", "/process/", "/constructor", "/__proto__"]) {
      await expectError(await fetch(`${b.url}${path}`), 404, "not_found");
    }
    await expectHealthy(b.url);
  });
  await t.step("405 with Allow", async () => {
    const cases: [string, string, string][] = [
      ["GET", "/process", "POST"],
      ["PUT", "/stream", "POST"],
      ["POST", "/health", "GET"],
      ["DELETE", "/models", "GET"],
      ["POST", "/config", "GET"],
      ["toString", "/health", "GET"],
      ["constructor", "/process", "POST"],
    ];
    for (const [method, path, allow] of cases) {
      const response = await fetch(`${b.url}${path}`, { method });
      assertEquals(response.headers.get("allow"), allow, `${method} ${path}`);
      await expectError(response, 405, "method_not_allowed");
    }
    await expectHealthy(b.url);
  });
});

/** Reads from a connection until the end of one HTTP response (sized or chunked) or of the connection. */
async function readResponse(conn: Deno.Conn): Promise<string> {
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(64 * 1024);
  let text = "";
  for (;;) {
    const n = await conn.read(buffer).catch(() => null);
    if (n === null) return text;
    text += decoder.decode(buffer.subarray(0, n), { stream: true });
    const headerEnd = text.indexOf("\r\n\r\n");
    if (headerEnd < 0) continue;
    const length = Number(text.match(/content-length: (\d+)/i)?.[1] ?? NaN);
    if (text.length >= headerEnd + 4 + length) return text;
    if (/transfer-encoding: chunked/i.test(text) && text.endsWith("\r\n0\r\n\r\n")) return text;
  }
}

Deno.test("createServerBHandler() answers 413 while reading a body over 1 MiB", async (t) => {
  await using b = await startTestServerB();
  const { port } = new URL(b.url);

  await t.step("chunked body that never ends: refused after about 1 MiB", async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
    const encoder = new TextEncoder();
    await conn.write(encoder.encode(
      "POST /process HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n" +
        "transfer-encoding: chunked\r\n\r\n",
    ));
    const answer = readResponse(conn);
    const chunk = encoder.encode(`10000\r\n${"x".repeat(0x10000)}\r\n`);
    let sent = 0;
    let answered = false;
    answer.finally(() => answered = true);
    // Never sends the final chunk, so the body is incomplete when the answer comes. A server that
    // refuses at 1 MiB stops reading and the writes stall in the socket buffers long before 64 MiB;
    // one that reads on gets the connection closed after 64 MiB, and the test fails.
    const writer = (async () => {
      while (!answered && sent < 64 * MIB) {
        await conn.write(chunk);
        sent += 0x10000;
      }
      if (!answered) conn.close();
    })().catch(() => {});
    const text = await answer;
    try {
      conn.close();
    } catch {
      // already closed by the writer
    }
    await writer;
    assertMatch(text, /^HTTP\/1\.1 413 /);
    assertMatch(text, /"code":"payload_too_large"/);
    assert(sent > MIB, `only ${sent} bytes were sent`);
  });

  await t.step("declared Content-Length of 2 MiB: refused before the body is sent", async () => {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
    await conn.write(new TextEncoder().encode(
      `POST /stream HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n` +
        `content-length: ${2 * MIB}\r\n\r\n{"message":"`,
    ));
    const text = await readResponse(conn);
    assertMatch(text, /^HTTP\/1\.1 413 /);
    assertMatch(text, /"code":"payload_too_large"/);
  });

  await t.step(
    "fetch with a streaming 3 MiB body is answered before the body is complete",
    async () => {
      let pulled = 0;
      let bodyComplete = false;
      const answered = Promise.withResolvers<void>();
      // Only a failure waits this long: the body's second half is offered once the answer came.
      const failSafe = setTimeout(answered.resolve, 60_000);
      const piece = new Uint8Array(64 * 1024).fill(0x20);
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (pulled === 1.5 * MIB) await answered.promise;
          if (pulled >= 3 * MIB) {
            bodyComplete = true;
            return controller.close();
          }
          pulled += piece.byteLength;
          controller.enqueue(piece);
        },
      });
      const response = await fetch(`${b.url}/process`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const completeWhenAnswered = bodyComplete;
      const pulledWhenAnswered = pulled;
      answered.resolve();
      clearTimeout(failSafe);
      await expectError(response, 413, "payload_too_large");
      assert(!completeWhenAnswered, "the server waited for the whole body");
      assertEquals(pulledWhenAnswered, 1.5 * MIB);
    },
  );

  await t.step("exactly 1 MiB is accepted", async () => {
    const message = "y".repeat(MIB - '{"message":""}'.length);
    const response = await postJson(`${b.url}/process`, { message });
    assertEquals(response.status, 200);
    const answer = ProcessResponse.parse(await response.json());
    assert(answer.aiResponse.includes(message));
  });

  await expectHealthy(b.url);
});

const SECRETS = {
  OPENAI_API_KEY: "sk-proj-Qz7vWq9LmN3pR8tYk2HxJ4cB6dF",
  AWS_ACCESS_KEY_ID: "AKIAZ7QW3ERT5YUI8OPL",
  AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq9vKw4TsE",
  AWS_SESSION_TOKEN: "FwoGZXIvYXdzEJr//////////wEaDHq5tS3cR9vB",
  MCPCOMM_AUTH_TOKEN: "tok-8Hj2Kd9Lq4Wz7Xc1Vb6N",
};
const AUTH = { authorization: `Bearer ${SECRETS.MCPCOMM_AUTH_TOKEN}` };
const URL_PASSWORD = "pw9Tg4Rk2Sd7";
const URL_QUERY_KEY = "qk5Fh8Jn3Mv1";

/** Every piece of 5 characters of every secret. */
function secretPieces(): string[] {
  const pieces: string[] = [];
  for (const secret of [...Object.values(SECRETS), URL_PASSWORD, URL_QUERY_KEY]) {
    for (let i = 0; i + 5 <= secret.length; i++) pieces.push(secret.slice(i, i + 5));
  }
  return pieces;
}

function assertNoSecret(text: string, where: string): void {
  for (const piece of secretPieces()) {
    assert(!text.includes(piece), `${where} contains "${piece}", part of a secret: ${text}`);
  }
}

Deno.test("GET /config, /health and /models never show a secret, not even a fragment", async (t) => {
  const cases: [string, Record<string, string>][] = [
    ["mock", {}],
    ["openai", {
      OPENAI_BASE_URL: `http://user:${URL_PASSWORD}@127.0.0.1:9/v1?key=${URL_QUERY_KEY}`,
    }],
    ["bedrock", { AWS_PROFILE: "dev" }],
  ];
  for (const [provider, extra] of cases) {
    await t.step(provider, async () => {
      await using b = await startTestServerB({ AI_PROVIDER: provider, ...SECRETS, ...extra });
      for (const path of ["/config", "/health", "/models"]) {
        const response = await fetch(`${b.url}${path}`, { headers: AUTH });
        assertEquals(response.status, 200);
        assertNoSecret(await response.text(), path);
        const refused = await fetch(`${b.url}${path}`, { headers: { authorization: "Bearer x" } });
        assertNoSecret(await refused.text(), `${path} without the token`);
      }
      const config = ConfigResponse.strict().parse(
        await (await fetch(`${b.url}/config`, { headers: AUTH })).json(),
      );
      assertEquals(config.provider, provider);
      if (provider === "openai") assertEquals(config.baseUrl, "http://127.0.0.1:9/v1");
      if (provider === "bedrock") assertEquals(config.region, "us-east-1");
    });
  }
});

Deno.test("POST /process errors from an unreachable provider never show a secret", async () => {
  await using b = await startTestServerB({
    AI_PROVIDER: "openai",
    ...SECRETS,
    OPENAI_BASE_URL: `http://user:${URL_PASSWORD}@127.0.0.1:9/v1?key=${URL_QUERY_KEY}`,
    RETRY_ATTEMPTS: "1",
  });
  for (const path of ["/process", "/stream"]) {
    const response = await postJson(`${b.url}${path}`, { message: "Hi" }, AUTH);
    assert(response.status >= 500, `${path} answered ${response.status}`);
    assertNoSecret(await response.text(), path);
  }
});

Deno.test("GET /health with provider openai and no key: starts, not configured, with the reason", async () => {
  await using b = await startTestServerB({ AI_PROVIDER: "openai" });
  const health = HealthResponse.parse(await (await fetch(`${b.url}/health`)).json());
  assertEquals(health.status, "healthy");
  assertEquals(health.provider, "openai");
  assertEquals(health.ai.configured, false);
  assertMatch(health.ai.reason ?? "", /OPENAI_API_KEY/);
});

Deno.test("GET /health counts messagesProcessed over /process and /stream", async () => {
  await using b = await startTestServerB();
  for (let i = 1; i <= 3; i++) {
    await (await postJson(`${b.url}/process`, { message: `m${i}` })).body?.cancel();
  }
  await readSse(await postJson(`${b.url}/stream`, { message: "m4" }));
  await (await postJson(`${b.url}/process`, { message: 4 })).body?.cancel();
  const health = HealthResponse.parse(await (await fetch(`${b.url}/health`)).json());
  assertEquals(health.messagesProcessed, 4);
});

Deno.test("POST /process stops the provider call when the client disconnects", async () => {
  const started = Promise.withResolvers<void>();
  const aborted = Promise.withResolvers<unknown>();
  const provider: Provider = {
    name: "mock",
    defaultModel: "slow-model",
    complete: (request) => {
      started.resolve();
      return new Promise((_, reject) => {
        request.signal?.addEventListener("abort", () => {
          aborted.resolve(request.signal?.reason);
          reject(request.signal?.reason);
        });
      });
    },
    stream: () => {
      throw new Error("unused");
    },
    models: () => [],
    status: () => ({ configured: true }),
  };
  await using b = await startTestServerB({}, { provider });
  const client = new AbortController();
  const pending = fetch(`${b.url}/process`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message: "Hi" }),
    signal: client.signal,
  }).catch((error) => error);
  await started.promise;
  client.abort();
  assert((await pending) instanceof Error);
  await aborted.promise;
  await expectHealthy(b.url);
  assertEquals((await b.service.ledger.stats()).failedRequests, 1);
});

/** A provider that streams `deltas`, then waits until its request is aborted. */
function stallingProvider(deltas: string[]): Provider & { aborted: Promise<void> } {
  const aborted = Promise.withResolvers<void>();
  return {
    name: "mock",
    defaultModel: "stall-model",
    complete: () => Promise.reject(new Error("unused")),
    async *stream(request): AsyncIterable<StreamChunk> {
      for (const text of deltas) yield { type: "delta", text };
      await new Promise((_, reject) => {
        request.signal?.addEventListener("abort", () => {
          aborted.resolve();
          reject(request.signal?.reason);
        }, { once: true });
      });
    },
    models: () => ["stall-model"],
    status: () => ({ configured: true }),
    aborted: aborted.promise,
  };
}

async function firstEvent(response: Response): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  assertEquals(response.status, 200);
  const reader = response.body!.getReader();
  let text = "";
  while (!text.includes("\n\n")) {
    const step = await reader.read();
    assert(!step.done, "the stream ended before its first event");
    text += new TextDecoder().decode(step.value);
  }
  return reader;
}

Deno.test("POST /stream abandoned by the client is recorded as an error with the text sent", async () => {
  const provider = stallingProvider(["Hello ", "there "]);
  await using b = await startTestServerB({}, { provider });
  const reader = await firstEvent(await postJson(`${b.url}/stream`, { message: "leave early" }));
  await reader.cancel();
  await provider.aborted;
  await eventually(async () => (await b.service.ledger.stats()).failedRequests === 1, {
    what: "the abandoned stream's entry",
    timeoutMs: 5_000,
  });
  const [entry] = await b.service.ledger.recent(1);
  assertEquals(entry!.status, "error");
  assertEquals(entry!.message, "leave early");
  assertEquals(entry!.model, "stall-model");
  assertMatch(entry!.error ?? "", /^Stream ended early: client disconnected after \d+ characters/);
  assertMatch(entry!.aiResponse ?? "", /^Hello /);
  await expectHealthy(b.url);
});

Deno.test("POST /stream cut by a shutdown is recorded before the ledger closes", async () => {
  const db = `${tempDirSync({ prefix: "mcpcomm-cut-" })}/ledger.db`;
  const provider = stallingProvider(["Partial "]);
  const b = await startTestServerB(
    { MCPCOMM_DB: db, SHUTDOWN_TIMEOUT_SECONDS: "0.1" },
    { provider },
  );
  const reader = await firstEvent(await postJson(`${b.url}/stream`, { message: "cut me" }));
  const rest = (async () => {
    for (;;) if ((await reader.read()).done) return;
  })();
  await b.close();
  await rest;
  const ledger = openLedger({ db, maxEntries: 10, maxAgeDays: 0 });
  try {
    assertEquals(ledger.stats().failedRequests, 1);
    const [entry] = ledger.recent(1);
    assertEquals(entry!.message, "cut me");
    assertMatch(entry!.error ?? "", /cut by the server shutting down after 8 characters/);
    assertEquals(entry!.aiResponse, "Partial ");
  } finally {
    ledger.close();
  }
});

/** The mock provider, counting the calls that reach it. */
function countingProvider(): Provider & { calls: () => number } {
  const mock = createMockProvider();
  let calls = 0;
  return {
    ...mock,
    complete: (request) => {
      calls++;
      return mock.complete(request);
    },
    stream: (request) => {
      calls++;
      return mock.stream(request);
    },
    calls: () => calls,
  };
}

const B_ROUTES: [method: string, path: string][] = [
  ["POST", "/process"],
  ["POST", "/stream"],
  ["GET", "/config"],
  ["GET", "/models"],
  ["GET", "/metrics"],
  ["GET", "/health"],
  ["GET", "/health/ready"],
];

function bRequest(method: string, path: string, headers: Record<string, string>) {
  return {
    method,
    path,
    headers: method === "POST" ? { "content-type": "application/json", ...headers } : headers,
    ...(method === "POST" ? { body: JSON.stringify({ message: "rebound" }) } : {}),
  };
}

Deno.test("Server B's HTTP API refuses a rebinding Host or Origin with 403 on every route", async (t) => {
  const provider = countingProvider();
  await using b = await startTestServerB({}, { provider });
  const port = new URL(b.url).port;
  await t.step("foreign Host names on a loopback bind", async () => {
    for (const host of ["evil.com", `127.0.0.1.evil.com:${port}`, "127.evil.com", "a.localhost"]) {
      for (const [method, path] of B_ROUTES) {
        const answer = await rawHttp(b.url, bRequest(method, path, { host }));
        assertEquals(answer.status, 403, `${method} ${path} Host: ${host}`);
        assertMatch(answer.headers.get("content-type") ?? "", /application\/json/);
        assertEquals(JSON.parse(answer.body).error.code, "forbidden");
      }
    }
  });
  await t.step("foreign Origins", async () => {
    for (
      const origin of ["http://evil.com", "http://127.evil.com", "http://localhost.evil.com"]
    ) {
      for (const [method, path] of B_ROUTES) {
        const answer = await rawHttp(
          b.url,
          bRequest(method, path, { host: `127.0.0.1:${port}`, origin }),
        );
        assertEquals(answer.status, 403, `${method} ${path} Origin: ${origin}`);
        assertEquals(JSON.parse(answer.body).error.code, "forbidden");
      }
    }
  });
  assertEquals(provider.calls(), 0, "no refused request reached the provider");
  assertEquals((await b.service.ledger.stats()).totalRequests, 0);
  await t.step("loopback Host names and Origins are served", async () => {
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::ffff:127.0.0.1]:${port}`]) {
      const answer = await rawHttp(
        b.url,
        bRequest("POST", "/process", { host, origin: "http://localhost:3000" }),
      );
      assertEquals(answer.status, 200, host);
      ProcessResponse.parse(JSON.parse(answer.body));
    }
    const config = await fetch(`${b.url}/config`, { headers: { origin: b.url } });
    assertEquals(config.status, 200);
    ConfigResponse.parse(await config.json());
  });
  assertEquals(provider.calls(), 3);
});

Deno.test("Server B's HTTP API answers 415 to a POST that is not application/json, before the provider", async () => {
  const provider = countingProvider();
  await using b = await startTestServerB({}, { provider });
  for (const path of ["/process", "/stream"]) {
    // What a page's cross-site form or `fetch` with a string body sends: no CORS preflight.
    const plain = await fetch(`${b.url}${path}`, {
      method: "POST",
      body: JSON.stringify({ message: "spend credit" }),
    });
    assertMatch(await expectError(plain, 415, "unsupported_media_type"), /application\/json/);
    const form = await fetch(`${b.url}${path}`, {
      method: "POST",
      body: new URLSearchParams({ message: "spend credit" }),
    });
    await expectError(form, 415, "unsupported_media_type");
    const none = await rawHttp(b.url, {
      method: "POST",
      path,
      headers: { host: new URL(b.url).host },
      body: JSON.stringify({ message: "spend credit" }),
    });
    assertEquals(none.status, 415);
  }
  assertEquals(provider.calls(), 0, "the provider was never called");
  assertEquals((await b.service.ledger.stats()).totalRequests, 0);
  const ok = await postJson(`${b.url}/process`, { message: "fine" }, {
    "content-type": "application/json; charset=utf-8",
  });
  assertEquals(ok.status, 200);
  ProcessResponse.parse(await ok.json());
  assertEquals(provider.calls(), 1);
});

Deno.test("Server B on a non-loopback bind serves IP hosts and MCP_ALLOWED_HOSTS names, probes included", async () => {
  await using open = await startTestServerB({ HTTP_HOST: "0.0.0.0" });
  const post = (host: string) => rawHttp(open.url, bRequest("POST", "/process", { host }));
  assertEquals(
    (await rawHttp(open.url, bRequest("GET", "/health", { host: "10.1.2.3:8000" }))).status,
    200,
    "a probe by pod IP",
  );
  assertEquals((await post("192.168.1.100:8000")).status, 200);
  assertEquals((await post("[fd00::5]:8000")).status, 200);
  const byName = await post("machine-b.lan:8000");
  assertEquals(byName.status, 403);
  assertMatch(
    JSON.parse(byName.body).error.message,
    /^Host "machine-b\.lan:8000" is not allowed; list it in this server's MCP_ALLOWED_HOSTS$/,
  );
  assertEquals((await post("192.168.1.100.evil.com:8000")).status, 403);

  await using listed = await startTestServerB({
    HTTP_HOST: "0.0.0.0",
    MCP_ALLOWED_HOSTS: "machine-b.lan",
  });
  const postListed = (host: string) => rawHttp(listed.url, bRequest("POST", "/process", { host }));
  assertEquals((await postListed("machine-b.lan:8000")).status, 200);
  assertEquals((await postListed("localhost:8000")).status, 200);
  assertEquals((await postListed("machine-b.lan.evil.com")).status, 403);
  assertEquals((await postListed("192.168.1.100:8000")).status, 403, "listed names only");
});

Deno.test("Server B's 401 names the missing or invalid bearer token in WWW-Authenticate", async () => {
  const token = "b-token-0123456789abcdef";
  await using b = await startTestServerB({ MCPCOMM_AUTH_TOKEN: token });
  for (const [method, path] of B_ROUTES.filter(([, p]) => !p.startsWith("/health"))) {
    const init = (authorization?: string): RequestInit => ({
      method,
      headers: {
        "content-type": "application/json",
        ...(authorization ? { authorization } : {}),
      },
      ...(method === "POST" ? { body: JSON.stringify({ message: "x" }) } : {}),
    });
    const missing = await fetch(`${b.url}${path}`, init());
    assertBearerChallenge(missing, "missing");
    assertEquals((await missing.json()).error.code, "unauthorized");
    const wrong = await fetch(`${b.url}${path}`, init("Bearer not-the-token-at-all"));
    assertBearerChallenge(wrong, "invalid");
    const text = await wrong.text();
    assert(!text.includes(token) && !text.includes("not-the-token"), text);
  }
  assertEquals((await fetch(`${b.url}/health`)).status, 200, "probes need no token");
});
