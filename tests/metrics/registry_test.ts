import {
  LATENCY_BUCKETS,
  METRICS_CONTENT_TYPE,
  MetricsRegistry,
} from "../../src/metrics/registry.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { parsePrometheusText, sampleValue } from "../_prometheus.ts";

Deno.test("MetricsRegistry.render() writes text a strict Prometheus parser accepts", () => {
  const metrics = new MetricsRegistry();
  const requests = metrics.counter("http_requests_total", "HTTP requests\nby route", [
    "route",
    "status",
  ]);
  const open = metrics.gauge("sse_streams_open", "Open SSE streams");
  const latency = metrics.histogram("latency_seconds", "Latency", ["route"], [0.1, 1]);
  requests.inc({ route: "/process", status: 200 });
  requests.inc({ route: "/process", status: 200 }, 2);
  requests.inc({ route: 'we"ird\\path\nx', status: 404 });
  open.inc();
  open.inc();
  open.dec();
  latency.observe({ route: "/process" }, 0.05);
  latency.observe({ route: "/process" }, 0.5);
  latency.observe({ route: "/process" }, 5);

  const families = parsePrometheusText(metrics.render());
  assertEquals(families.get("http_requests_total")?.type, "counter");
  assertEquals(families.get("http_requests_total")?.help, "HTTP requests\nby route");
  assertEquals(sampleValue(families, "http_requests_total", { route: "/process" }), 3);
  assertEquals(
    sampleValue(families, "http_requests_total", { route: 'we"ird\\path\nx', status: "404" }),
    1,
  );
  assertEquals(sampleValue(families, "sse_streams_open"), 1);
  assertEquals(families.get("latency_seconds")?.type, "histogram");
  assertEquals(sampleValue(families, "latency_seconds_bucket", { le: "0.1" }), 1);
  assertEquals(sampleValue(families, "latency_seconds_bucket", { le: "1" }), 2);
  assertEquals(sampleValue(families, "latency_seconds_bucket", { le: "+Inf" }), 3);
  assertEquals(sampleValue(families, "latency_seconds_count"), 3);
  assertEquals(sampleValue(families, "latency_seconds_sum"), 5.55);
});

Deno.test("MetricsRegistry renders unlabelled metrics at zero before any event", () => {
  const metrics = new MetricsRegistry();
  metrics.counter("retries_total", "Retries");
  metrics.histogram("wait_seconds", "Waits");
  const families = parsePrometheusText(metrics.render());
  assertEquals(sampleValue(families, "retries_total"), 0);
  assertEquals(sampleValue(families, "wait_seconds_count"), 0);
  assertEquals(
    families.get("wait_seconds")!.samples.filter((s) => s.name === "wait_seconds_bucket").length,
    LATENCY_BUCKETS.length + 1,
  );
});

Deno.test("MetricsRegistry.onCollect() sets gauges at scrape time", () => {
  const metrics = new MetricsRegistry();
  const sessions = metrics.gauge("mcp_sessions_open", "Open MCP sessions", ["server"]);
  let open = 4;
  metrics.onCollect(() => sessions.set({ server: "b" }, open));
  assertEquals(sampleValue(parsePrometheusText(metrics.render()), "mcp_sessions_open"), 4);
  open = 1;
  assertEquals(sampleValue(parsePrometheusText(metrics.render()), "mcp_sessions_open"), 1);
});

Deno.test("MetricsRegistry refuses misuse", async (t) => {
  const metrics = new MetricsRegistry();
  const counter = metrics.counter("a_total", "A", ["route"]);
  await t.step("a counter going down", () => {
    assertThrows(() => counter.inc({ route: "/" }, -1), RangeError);
  });
  await t.step("labels that were not declared", () => {
    assertThrows(() => counter.inc({ path: "/" }), Error, "takes labels [route]");
    assertThrows(() => counter.inc(), Error, "takes labels [route]");
  });
  await t.step("a name registered twice", () => {
    assertThrows(() => metrics.gauge("a_total", "again"), Error, "already registered");
  });
  await t.step("bad names", () => {
    assertThrows(() => metrics.counter("1abc", "x"), Error, "Invalid metric name");
    assertThrows(() => metrics.counter("ok_total", "x", ["__x"]), Error, "Invalid label");
    assertThrows(() => metrics.histogram("h", "x", ["le"]), Error, '"le"');
  });
});

Deno.test("MetricsRegistry caps the series of one metric", () => {
  const metrics = new MetricsRegistry({ maxSeries: 3 });
  const calls = metrics.counter("calls_total", "Calls", ["model"]);
  for (let i = 0; i < 10; i++) calls.inc({ model: `m${i}` });
  const families = parsePrometheusText(metrics.render());
  const samples = families.get("calls_total")!.samples;
  assertEquals(samples.length, 4);
  assertEquals(sampleValue(families, "calls_total", { model: "other" }), 7);
  assertEquals(sampleValue(families, "calls_total"), 10);
});

Deno.test("MetricsRegistry.response() answers in the text format's content type", async () => {
  const metrics = new MetricsRegistry();
  metrics.counter("x_total", "X").inc();
  const response = metrics.response();
  assertEquals(response.headers.get("content-type"), METRICS_CONTENT_TYPE);
  assert((await response.text()).includes("x_total 1\n"));
});

Deno.test("parsePrometheusText() rejects what Prometheus would", async (t) => {
  for (
    const [name, text] of [
      ["no final newline", "a 1"],
      ["a bad value", "a one\n"],
      ["an unterminated label", 'a{b="c} 1\n'],
      ["a bad escape", 'a{b="\\t"} 1\n'],
      ["a duplicate series", "a 1\na 2\n"],
      ["interleaved families", '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="1"} 2\n'],
      ["a TYPE after samples", "a 1\n# TYPE a gauge\n"],
      [
        "non-cumulative buckets",
        '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      ],
      ["a negative counter", "# TYPE c counter\nc -1\n"],
    ] as const
  ) {
    await t.step(name, () => {
      assertThrows(() => parsePrometheusText(text));
    });
  }
});

Deno.test("MetricsRegistry counts a label value given as number or string in one series", () => {
  const metrics = new MetricsRegistry();
  const requests = metrics.counter("requests_total", "Requests", ["route", "status"]);
  for (let i = 0; i < 3; i++) {
    requests.inc({ route: "/a", status: 200 });
    requests.inc({ status: "200", route: "/a" });
  }
  requests.inc({ route: "/b", status: 200 }, 5);
  const families = parsePrometheusText(metrics.render());
  assertEquals(sampleValue(families, "requests_total", { route: "/a", status: "200" }), 6);
  assertEquals(sampleValue(families, "requests_total", { route: "/b", status: "200" }), 5);
  assertThrows(() => requests.inc({ route: "/a", code: 200 }), Error, "takes labels");
  assertThrows(() => requests.inc({ route: "/a", status: 200, extra: 1 }), Error, "takes labels");
  assertThrows(() => requests.inc({ route: "/a" }), Error, "takes labels");
});
