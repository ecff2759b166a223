import { HttpError } from "../../src/core/errors.ts";
import { clientAddress, createRateLimiter } from "../../src/http/rate_limit.ts";
import { assertEquals, assertThrows } from "../_assert.ts";

Deno.test("createRateLimiter() allows perMinute requests per client, then 429 with Retry-After", () => {
  let now = 0;
  const limiter = createRateLimiter(3, { now: () => now })!;
  for (let i = 0; i < 3; i++) limiter.check("10.0.0.1");
  const error = assertThrows(() => limiter.check("10.0.0.1"), HttpError) as HttpError;
  assertEquals(error.status, 429);
  assertEquals(error.code, "rate_limited");
  assertEquals(error.headers["retry-after"], "20", "one request comes back every 20 s");
  limiter.check("10.0.0.2");
  now += 20_000;
  limiter.check("10.0.0.1");
  assertThrows(() => limiter.check("10.0.0.1"), HttpError);
});

Deno.test("createRateLimiter() is off at 0 and forgets the oldest clients past maxClients", () => {
  assertEquals(createRateLimiter(0), undefined);
  let now = 0;
  const limiter = createRateLimiter(2, { now: () => now, maxClients: 3 })!;
  for (const client of ["a", "b", "c", "d", "e"]) {
    limiter.check(client);
    now += 1;
  }
  assertEquals(limiter.size, 3);
});

Deno.test("clientAddress() keys by the remote host name", () => {
  const info = {
    remoteAddr: { transport: "tcp", hostname: "192.0.2.7", port: 5555 },
    completed: Promise.resolve(),
  } as Deno.ServeHandlerInfo;
  assertEquals(clientAddress(info), "192.0.2.7");
  assertEquals(clientAddress(undefined), "local");
});
