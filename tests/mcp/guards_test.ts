import { HttpError } from "../../src/core/errors.ts";
import {
  checkHostAndOrigin,
  checkProtocolVersion,
  type HostPolicy,
  parseJsonRpcBody,
  requireAccept,
  requireJsonContentType,
} from "../../src/mcp/guards.ts";
import { assertEquals, assertThrows } from "../_assert.ts";

function request(headers: Record<string, string>): Request {
  return new Request("http://127.0.0.1:8000/mcp", { headers });
}

function status(fn: () => void): number {
  try {
    fn();
    return 200;
  } catch (error) {
    if (error instanceof HttpError) return error.status;
    throw error;
  }
}

Deno.test("checkHostAndOrigin() on a loopback bind accepts only loopback and listed Host names", () => {
  const policy: HostPolicy = { bindHost: "127.0.0.1", allowedHosts: ["mcp.example.com"] };
  const cases: [string, number][] = [
    ["127.0.0.1:8000", 200],
    ["localhost:8000", 200],
    ["localhost", 200],
    ["[::1]:8000", 200],
    ["[::ffff:127.0.0.1]:8000", 200],
    ["LOCALHOST:8000", 200],
    ["mcp.example.com", 200],
    ["127.0.0.1.evil.com", 403],
    ["127.evil.com:8000", 403],
    ["app.localhost:8000", 403],
    ["[::ffff:10.0.0.1]:8000", 403],
    ["evil.example.com:8000", 403],
    ["192.168.1.20:8000", 403],
    ["localhost.evil.com", 403],
    ["127.0.0.1@evil.com", 403],
    ["", 403],
  ];
  for (const [host, expected] of cases) {
    assertEquals(status(() => checkHostAndOrigin(request({ host }), policy)), expected, host);
  }
});

Deno.test("checkHostAndOrigin() on another bind follows MCP_ALLOWED_HOSTS, else IP literals", () => {
  const listed: HostPolicy = {
    bindHost: "0.0.0.0",
    allowedHosts: ["mcp.example.com", "other.example.com:9000"],
  };
  const cases: [string, number][] = [
    ["mcp.example.com", 200],
    ["MCP.example.com:8000", 200],
    ["other.example.com:9000", 200],
    ["other.example.com:9001", 403],
    ["localhost:8000", 200],
    ["192.168.1.20:8000", 403],
    ["evil.example.com", 403],
  ];
  for (const [host, expected] of cases) {
    assertEquals(status(() => checkHostAndOrigin(request({ host }), listed)), expected, host);
  }
  const open: HostPolicy = { bindHost: "0.0.0.0" };
  const defaults: [string, number][] = [
    ["192.168.1.20:8000", 200],
    ["[fd00::1]:8000", 200],
    ["localhost:8000", 200],
    ["1.2.3.4.evil.com", 403],
    ["127.0.0.1.evil.com:8000", 403],
    ["10.0.0.1.nip.io", 403],
    ["evil.example.com", 403],
    ["mcp.example.com:8000", 403],
  ];
  for (const [host, expected] of defaults) {
    assertEquals(status(() => checkHostAndOrigin(request({ host }), open)), expected, host);
  }
});

Deno.test("checkHostAndOrigin() accepts no Origin, listed, loopback and same-origin ones", () => {
  const policy: HostPolicy = {
    bindHost: "0.0.0.0",
    allowedHosts: ["mcp.example.com"],
    allowedOrigins: ["https://app.example.com"],
  };
  const host = "mcp.example.com:8000";
  const cases: [string | undefined, number][] = [
    [undefined, 200],
    ["https://app.example.com", 200],
    ["https://APP.example.com/", 200],
    ["http://localhost:5173", 200],
    ["http://mcp.example.com:8000", 200],
    ["http://mcp.example.com:8001", 403],
    ["https://evil.example.com", 403],
    ["null", 403],
    ["file://", 403],
    ["http://127.evil.com", 403],
    ["http://127.0.0.1.evil.com:8000", 403],
    ["http://localhost.evil.com", 403],
    ["http://app.localhost:3000", 403],
    ["http://[::1]:3000", 200],
    ["http://127.0.0.1:3000", 200],
  ];
  for (const [origin, expected] of cases) {
    const headers: Record<string, string> = { host, ...(origin ? { origin } : {}) };
    assertEquals(status(() => checkHostAndOrigin(request(headers), policy)), expected, origin);
  }
});

Deno.test("checkHostAndOrigin() decides a Host it saw before the same way, and still checks Origin", () => {
  const policy: HostPolicy = { bindHost: "127.0.0.1" };
  for (let i = 0; i < 3; i++) {
    assertEquals(
      status(() => checkHostAndOrigin(request({ host: "localhost:8000" }), policy)),
      200,
    );
    assertEquals(status(() => checkHostAndOrigin(request({ host: "evil.com" }), policy)), 403);
    const cross = { host: "localhost:8000", origin: "https://evil.com" };
    assertEquals(status(() => checkHostAndOrigin(request(cross), policy)), 403);
  }
});

Deno.test("requireAccept(), requireJsonContentType(), checkProtocolVersion() answer 406, 415, 400", () => {
  const both = ["application/json", "text/event-stream"];
  assertEquals(
    status(() => requireAccept(request({ accept: "application/json, text/event-stream" }), both)),
    200,
  );
  assertEquals(status(() => requireAccept(request({ accept: "application/json" }), both)), 406);
  assertEquals(status(() => requireAccept(request({}), both)), 406);
  assertEquals(
    status(() =>
      requireJsonContentType(request({ "content-type": "application/json; charset=utf-8" }))
    ),
    200,
  );
  assertEquals(
    status(() => requireJsonContentType(request({ "content-type": "application/jsonx" }))),
    415,
  );
  assertEquals(status(() => requireJsonContentType(request({}))), 415);
  for (const version of ["2025-03-26", "2025-06-18", "2025-11-25"]) {
    assertEquals(
      status(() => checkProtocolVersion(request({ "mcp-protocol-version": version }))),
      200,
    );
  }
  assertEquals(status(() => checkProtocolVersion(request({}))), 200, "absent: the negotiated one");
  assertEquals(
    status(() => checkProtocolVersion(request({ "mcp-protocol-version": "2026-01-01" }))),
    400,
  );
});

Deno.test("parseJsonRpcBody() refuses batches, bad JSON and non-messages with 400", () => {
  const encode = (text: string) => new TextEncoder().encode(text);
  assertEquals(parseJsonRpcBody(encode('{"jsonrpc":"2.0","id":1,"method":"ping"}')).method, "ping");
  for (
    const text of ['[{"jsonrpc":"2.0","id":1,"method":"ping"}]', "{", '"x"', "null", '{"id":1}']
  ) {
    assertThrows(() => parseJsonRpcBody(encode(text)), HttpError);
  }
});
