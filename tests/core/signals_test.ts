import { createSignalGate, SIGNAL_ECHO_MS } from "../../src/core/signals.ts";
import { assertEquals } from "../_assert.ts";

function fakeClock(start = 5_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

Deno.test("createSignalGate() stops on the first signal and ignores its echo within the window", () => {
  const clock = fakeClock();
  const gate = createSignalGate(clock.now);
  assertEquals(gate(), "stop");
  clock.advance(50);
  assertEquals(gate(), "ignore");
  clock.advance(SIGNAL_ECHO_MS - 51);
  assertEquals(gate(), "ignore");
  clock.advance(1);
  assertEquals(gate(), "force");
});

Deno.test("createSignalGate() forces the exit on a signal after the window, measured from the first", () => {
  const clock = fakeClock();
  const gate = createSignalGate(clock.now, 200);
  assertEquals(gate(), "stop");
  clock.advance(150);
  assertEquals(gate(), "ignore");
  clock.advance(100);
  assertEquals(gate(), "force");
  assertEquals(gate(), "force");
});
