import { randomHex } from "../../src/core/_ids.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";

Deno.test("randomHex() gives `bytes` random bytes as hex, across pool refills, never repeating", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const id = randomHex(i % 2 ? 16 : 8);
    assertMatch(id, i % 2 ? /^[0-9a-f]{32}$/ : /^[0-9a-f]{16}$/);
    assert(!/^0+$/.test(id), "all zero");
    seen.add(id);
  }
  assertEquals(seen.size, 2000);
});

Deno.test("randomHex() never gives an all-zero id even when the pool's bytes are zero", () => {
  const real = crypto.getRandomValues;
  let calls = 0;
  crypto.getRandomValues = (<T extends ArrayBufferView | null>(array: T): T => {
    calls++;
    return calls <= 2 ? array : real.call(crypto, array as never) as T;
  }) as typeof crypto.getRandomValues;
  try {
    for (let i = 0; i < 1200; i++) assert(!/^0+$/.test(randomHex(8)), `id ${i} is all zero`);
  } finally {
    crypto.getRandomValues = real;
  }
});
