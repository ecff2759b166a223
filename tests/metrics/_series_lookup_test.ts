import { cachedSeriesLookup } from "../../src/metrics/_series_lookup.ts";
import type { Labels } from "../../src/metrics/registry.ts";
import { assertEquals } from "../_assert.ts";

function counted(limit: number) {
  const calls: Labels[] = [];
  const slow = (labels: Labels) => {
    calls.push(labels);
    return JSON.stringify(labels);
  };
  return { calls, lookup: cachedSeriesLookup(["route", "status"], slow, limit) };
}

Deno.test("cachedSeriesLookup() asks the slow lookup once per full label set", () => {
  const { calls, lookup } = counted(10);
  for (let i = 0; i < 3; i++) {
    assertEquals(lookup({ route: "/a", status: 200 }), '{"route":"/a","status":200}');
    assertEquals(lookup({ status: "500", route: "/b" }), '{"status":"500","route":"/b"}');
  }
  assertEquals(calls.length, 2);
});

Deno.test("cachedSeriesLookup() sends partial, extra and unknown label sets to the slow lookup", () => {
  const { calls, lookup } = counted(10);
  for (let i = 0; i < 2; i++) {
    lookup({ route: "/a" });
    lookup({ route: "/a", status: 200, method: "GET" });
    lookup({ route: "/a", code: 200 });
  }
  assertEquals(calls.length, 6);
});

Deno.test("cachedSeriesLookup() remembers at most `limit` label sets", () => {
  const { calls, lookup } = counted(2);
  for (let i = 0; i < 2; i++) for (const status of [1, 2, 3]) lookup({ route: "/", status });
  assertEquals(calls.length, 4);
});

Deno.test("cachedSeriesLookup() without labels asks the slow lookup once", () => {
  let calls = 0;
  const lookup = cachedSeriesLookup([], () => ++calls, 10);
  assertEquals([lookup({}), lookup({}), lookup({ extra: 1 })], [1, 1, 2]);
});
