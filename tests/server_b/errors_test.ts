import { DomainError, ProviderError } from "../../src/core/errors.ts";
import { createLogger } from "../../src/core/log.ts";
import { createMemoryLedger } from "../../src/ledger/mod.ts";
import { answerOf, onError, streamAnswerOf } from "../../src/server_b/_errors.ts";
import { createServerBHandler } from "../../src/server_b/_routes.ts";
import { assertEquals } from "../_assert.ts";
import { createMockService } from "./_service.ts";

const log = createLogger("test");

function unrecordableHandler() {
  const ledger = createMemoryLedger(10);
  ledger.problem = () => "The ledger cannot record: the disk is full";
  const service = createMockService(ledger);
  return createServerBHandler({
    service,
    maxBodyBytes: 1 << 20,
    log,
    hostPolicy: { bindHost: "127.0.0.1" },
  });
}

Deno.test("createServerBHandler() answers a ledger that cannot record with 503, Retry-After and retryable", async (t) => {
  const handler = unrecordableHandler();
  for (const path of ["/process", "/stream"]) {
    await t.step(path, async () => {
      const response = await handler(
        new Request(`http://127.0.0.1${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", host: "127.0.0.1" },
          body: JSON.stringify({ message: "hello" }),
        }),
      );
      assertEquals(response.status, 503);
      assertEquals(response.headers.get("retry-after"), "1");
      assertEquals(await response.json(), {
        error: {
          code: "unavailable",
          message: "The ledger cannot record: the disk is full",
          retryable: true,
        },
      });
    });
  }
});

Deno.test("Server B's error table maps each kind to its status, code and advice", () => {
  const cases: [unknown, string][] = [
    [new DomainError("unavailable", "busy", { retryAfterSeconds: 1 }), "503 unavailable true 1"],
    [new DomainError("invalid_input", "bad"), "400 invalid_request false null"],
    [new DomainError("not_found", "gone"), "404 not_found false null"],
    [
      new ProviderError("rate_limit", "wait", { retryAfterMs: 1500 }),
      "429 provider_rate_limit true 2",
    ],
    [new ProviderError("rate_limit", "wait"), "429 provider_rate_limit false null"],
    [new ProviderError("auth", "bad key"), "502 provider_auth false null"],
    [new ProviderError("timeout", "slow"), "504 provider_timeout false null"],
  ];
  for (const [error, expected] of cases) {
    const answer = answerOf(error)!;
    const retryAfter = answer.toResponse().headers.get("retry-after");
    assertEquals(`${answer.status} ${answer.code} ${answer.retryable} ${retryAfter}`, expected);
  }
  const counted = answerOf(new ProviderError("unavailable", "down").afterAttempts(3))!;
  assertEquals(counted.body().error.attempts, 3);
  assertEquals(answerOf(new Error("boom")), undefined);
  assertEquals(streamAnswerOf(new Error("reset")).code, "provider_error");
});

Deno.test("Server B's onError answers an unknown error 500 without its message", async () => {
  const lines: string[] = [];
  const response = onError(new Error("db password is hunter2"), {
    ...log,
    error: (msg: string) => void lines.push(msg),
  });
  assertEquals(response.status, 500);
  assertEquals((await response.json()).error, {
    code: "internal",
    message: "Internal server error",
    retryable: false,
  });
  assertEquals(lines, ["unhandled error"]);
});
