import { randomHex } from "../../src/core/_ids.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";

Deno.test("randomHex() gives `bytes` random bytes as hex, never all zero, never repeating", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const id = randomHex(i % 2 ? 16 : 8);
    assertMatch(id, i % 2 ? /^[0-9a-f]{32}$/ : /^[0-9a-f]{16}$/);
    assert(!/^0+$/.test(id), "all zero");
    seen.add(id);
  }
  assertEquals(seen.size, 2000);
});
