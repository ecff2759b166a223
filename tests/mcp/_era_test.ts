import { isLegacyRequest, PROTOCOL_VERSION_META_KEY } from "@modelcontextprotocol/server";
import { isLegacyPost, isPlainLegacyMessage } from "../../src/mcp/_era.ts";
import { assertEquals } from "../_assert.ts";

const MODERN_META = {
  [PROTOCOL_VERSION_META_KEY]: "2026-07-28",
  "io.modelcontextprotocol/clientInfo": { name: "t", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": {},
};

function post(headers: Record<string, string> = {}): Request {
  return new Request("http://127.0.0.1/mcp", { method: "POST", headers });
}

const call = (params: unknown) => ({ jsonrpc: "2.0", id: 7, method: "tools/call", params });

/** [name, body, headers, recognised as plain 2025-era] */
const CASES: [string, unknown, Record<string, string>, boolean][] = [
  ["a 2025 tools/call", call({ name: "echo", arguments: {} }), {}, true],
  [
    "with a 2025 version header",
    call({ name: "echo" }),
    { "mcp-protocol-version": "2025-11-25" },
    true,
  ],
  ["with a progress token", call({ name: "echo", _meta: { progressToken: 1 } }), {}, true],
  ["a notification", { jsonrpc: "2.0", method: "notifications/initialized" }, {}, true],
  [
    "an initialize",
    {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "t", version: "1" },
      },
    },
    {},
    true,
  ],
  ["a 2026 envelope", call({ name: "echo", _meta: MODERN_META }), {}, false],
  [
    "a 2026 envelope and headers",
    call({ name: "echo", _meta: MODERN_META }),
    { "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "echo" },
    false,
  ],
  ["a 2026 header without envelope", call({ name: "echo" }), {
    "mcp-protocol-version": "2026-07-28",
  }, false],
  [
    "an envelope claim of another value",
    call({ _meta: { [PROTOCOL_VERSION_META_KEY]: 5 } }),
    {},
    false,
  ],
  ["a result", { jsonrpc: "2.0", id: 3, result: {} }, {}, false],
  ["an error", { jsonrpc: "2.0", id: 3, error: { code: -1, message: "x" } }, {}, false],
  ["a batch", [call({ name: "echo" })], {}, false],
  ["no jsonrpc", { id: 1, method: "tools/list" }, {}, false],
  ["a null id", { jsonrpc: "2.0", id: null, method: "tools/list" }, {}, false],
  ["params not an object", { jsonrpc: "2.0", id: 1, method: "tools/list", params: 3 }, {}, false],
  ["a string", "tools/list", {}, false],
  ["null", null, {}, false],
];

Deno.test("isPlainLegacyMessage() recognises only what the SDK's isLegacyRequest calls 2025-era", async () => {
  for (const [name, body, headers, plain] of CASES) {
    assertEquals(isPlainLegacyMessage(post(headers), body), plain, name);
    if (plain) assertEquals(await isLegacyRequest(post(headers), body), true, `SDK on ${name}`);
  }
});

Deno.test("isLegacyPost() agrees with the SDK's isLegacyRequest on every case", async () => {
  for (const [name, body, headers] of CASES) {
    assertEquals(
      await isLegacyPost(post(headers), body, 1_000_000),
      await isLegacyRequest(post(headers), body),
      name,
    );
  }
});
