import {
  formatTraceparent,
  parseTraceparent,
  REQUEST_ID_HEADER,
  requestIdOf,
  startSpan,
} from "../../src/core/trace.ts";
import { assert, assertEquals, assertMatch, assertNotEquals } from "../_assert.ts";

const VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

Deno.test("parseTraceparent() reads a valid header", () => {
  assertEquals(parseTraceparent(VALID), {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    flags: "01",
  });
  assertEquals(formatTraceparent(parseTraceparent(VALID)!), VALID);
});

Deno.test("parseTraceparent() accepts a future version's longer header", () => {
  const parsed = parseTraceparent(
    "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-adds",
  );
  assertEquals(parsed?.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
});

Deno.test("parseTraceparent() rejects invalid headers", async (t) => {
  for (
    const [name, header] of [
      ["absent", null],
      ["empty", ""],
      ["version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
      ["upper-case hex", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"],
      ["zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"],
      ["zero parent id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"],
      ["short trace id", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"],
      ["version 00 with more", `${VALID}-extra`],
      ["future version without a dash", "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"],
      ["bad flags", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g"],
    ] as const
  ) {
    await t.step(name, () => assertEquals(parseTraceparent(header), undefined));
  }
});

Deno.test("startSpan() continues the caller's trace or starts a new one", () => {
  const parent = parseTraceparent(VALID)!;
  const child = startSpan(parent);
  assertEquals(child.traceId, parent.traceId);
  assertNotEquals(child.spanId, parent.spanId);
  assertEquals(child.flags, "01");
  assertEquals(startSpan({ ...parent, flags: "00" }).flags, "00");
  const fresh = startSpan();
  assertMatch(formatTraceparent(fresh), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assertEquals(parseTraceparent(formatTraceparent(fresh)), fresh);
  assertNotEquals(startSpan().traceId, fresh.traceId);
});

Deno.test("requestIdOf() keeps a sane caller ID and replaces anything else", () => {
  assertEquals(requestIdOf(new Headers({ [REQUEST_ID_HEADER]: "req-123_abc" })), "req-123_abc");
  const replaced = requestIdOf(new Headers({ [REQUEST_ID_HEADER]: "bad id\twith spaces" }));
  assertMatch(replaced, /^[0-9a-f-]{36}$/);
  assert(requestIdOf(new Headers({ [REQUEST_ID_HEADER]: "x".repeat(129) })).length === 36);
  assertNotEquals(requestIdOf(new Headers()), requestIdOf(new Headers()));
});
