import { HttpError } from "../../src/core/errors.ts";
import { errorResponse, methodNotAllowed } from "../../src/http/respond.ts";
import { assertEquals } from "../_assert.ts";

Deno.test("errorResponse() answers HttpError as itself and anything else as 500 without details", async () => {
  const known = errorResponse(new HttpError(418, "invalid_request", "short and stout"));
  assertEquals(known.status, 418);
  assertEquals(await known.json(), {
    error: { code: "invalid_request", message: "short and stout", retryable: false },
  });
  const logged: unknown[] = [];
  const log = {
    debug() {},
    info() {},
    warn() {},
    error: (...args: unknown[]) => logged.push(args),
  };
  const unknown = errorResponse(new Error("db password is hunter2"), log);
  assertEquals(unknown.status, 500);
  const text = await unknown.text();
  assertEquals(JSON.parse(text), {
    error: { code: "internal", message: "Internal server error", retryable: false },
  });
  assertEquals(text.includes("hunter2"), false);
  assertEquals(logged.length, 1);
});

Deno.test("methodNotAllowed() is a 405 with Allow", () => {
  const response = methodNotAllowed(["GET", "HEAD"]).toResponse();
  assertEquals(response.status, 405);
  assertEquals(response.headers.get("allow"), "GET, HEAD");
});
