import {
  classifyInboundRequest,
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
} from "@modelcontextprotocol/server";
import { routesModern } from "../../src/mcp/_modern_route.ts";
import { assert, assertEquals } from "../_assert.ts";

const ENVELOPE = {
  [PROTOCOL_VERSION_META_KEY]: "2026-07-28",
  [CLIENT_INFO_META_KEY]: { name: "t", version: "1" },
  [CLIENT_CAPABILITIES_META_KEY]: {},
};

const call = (meta: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  jsonrpc: "2.0",
  id: 7,
  method: "tools/call",
  params: { name: "echo", arguments: { text: "hi" }, _meta: meta },
  ...extra,
});

function sdkSays(body: Record<string, unknown>): boolean {
  return classifyInboundRequest({
    httpMethod: "POST",
    protocolVersionHeader: "2026-07-28",
    mcpMethodHeader: "tools/call",
    mcpNameHeader: "echo",
    body,
  }).kind === "modern";
}

/** [name, envelope, other body members] */
const CASES: [string, Record<string, unknown>, Record<string, unknown>?][] = [
  ["a whole envelope", ENVELOPE],
  ["with a log level", { ...ENVELOPE, [LOG_LEVEL_META_KEY]: "debug" }],
  ["with a log level that is not one", { ...ENVELOPE, [LOG_LEVEL_META_KEY]: "loud" }],
  ["a log level of null", { ...ENVELOPE, [LOG_LEVEL_META_KEY]: null }],
  ["with a foreign key", { ...ENVELOPE, "example.com/x": [1, { y: null }] }],
  ["the same keys in another order", {
    [CLIENT_CAPABILITIES_META_KEY]: {},
    [CLIENT_INFO_META_KEY]: { version: "1", name: "t" },
    [PROTOCOL_VERSION_META_KEY]: "2026-07-28",
  }],
  ["clientInfo without a version", { ...ENVELOPE, [CLIENT_INFO_META_KEY]: { name: "t" } }],
  ["clientInfo with a numeric name", {
    ...ENVELOPE,
    [CLIENT_INFO_META_KEY]: { name: 1, version: "1" },
  }],
  ["capabilities of the wrong shape", {
    ...ENVELOPE,
    [CLIENT_CAPABILITIES_META_KEY]: { sampling: 5 },
  }],
  ["capabilities with elicitation", {
    ...ENVELOPE,
    [CLIENT_CAPABILITIES_META_KEY]: { elicitation: { form: {} } },
  }],
  ["without clientInfo", { ...ENVELOPE, [CLIENT_INFO_META_KEY]: undefined }],
  ["a progress token that is an object", { ...ENVELOPE, progressToken: {} }],
  ["a whole envelope, a result member", ENVELOPE, { result: {} }],
  ["a whole envelope, an error member", ENVELOPE, { error: { code: 1, message: "x" } }],
  ["a whole envelope, a null ID", ENVELOPE, { id: null }],
  ["a whole envelope, an ID past the safe integers", ENVELOPE, { id: 2 ** 53 }],
  ["a whole envelope, a fractional ID", ENVELOPE, { id: 1.5 }],
  ["a whole envelope, an empty string ID", ENVELOPE, { id: "" }],
  ["a whole envelope, an extra top-level member", ENVELOPE, { extra: 1 }],
  ["a whole envelope, no jsonrpc", ENVELOPE, { jsonrpc: undefined }],
  ["a whole envelope, initialize", ENVELOPE, { method: "initialize" }],
];

Deno.test("routesModern() says what the SDK's classifier says, the first time and every time after", () => {
  for (let pass = 0; pass < 3; pass++) {
    for (const [name, meta, extra] of CASES) {
      const body = JSON.parse(JSON.stringify(call(meta, extra)));
      assertEquals(
        routesModern(body, body.params._meta, "echo"),
        sdkSays(body),
        `${name} (pass ${pass + 1})`,
      );
    }
  }
  const verdicts = CASES.map(([, meta, extra]) =>
    sdkSays(JSON.parse(JSON.stringify(call(meta, extra))))
  );
  assert(verdicts.includes(true) && verdicts.includes(false), "the cases cover both verdicts");
});

Deno.test("routesModern() still agrees with the SDK after 1,000 distinct envelopes, past the 256 it remembers", () => {
  for (let i = 0; i < 1000; i++) {
    const meta = { ...ENVELOPE, [CLIENT_INFO_META_KEY]: { name: `c${i}`, version: "1" } };
    const body = call(meta);
    assertEquals(routesModern(body, meta, "echo"), true);
  }
  const bad = { ...ENVELOPE, [CLIENT_INFO_META_KEY]: { name: "c1" } };
  assertEquals(routesModern(call(bad), bad, "echo"), false);
  assertEquals(routesModern(call(ENVELOPE), ENVELOPE, "echo"), true);
});
