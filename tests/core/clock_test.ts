import { isoNow } from "../../src/core/clock.ts";
import { assert, assertEquals } from "../_assert.ts";

Deno.test("isoNow() is the current time as toISOString() writes it", () => {
  for (let i = 0; i < 1000; i++) {
    const before = Date.now();
    const now = isoNow();
    const after = Date.now();
    assertEquals(new Date(now).toISOString(), now);
    const ms = Date.parse(now);
    assert(before <= ms && ms <= after, `${now} is not between ${before} and ${after}`);
  }
});
