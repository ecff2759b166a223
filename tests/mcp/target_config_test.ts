import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { UsageError } from "../../src/core/errors.ts";
import { scrub } from "../../src/core/log.ts";
import {
  expandVariables,
  parseHeaderSpec,
  parseServersFile,
  splitItems,
  validateHeader,
  withHeaders,
} from "../../src/mcp/target_config.ts";
import { parseTargetList } from "../../src/mcp/targets.ts";

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert(error instanceof UsageError, `expected a UsageError, got ${error}`);
    return error.message;
  }
  throw new Error("expected an error");
}

Deno.test("expandVariables() reads ${NAME} from the environment and refuses unset ones", () => {
  const env = { A: "one", B_2: "two", EMPTY: "" };
  assertEquals(expandVariables("${A}-${B_2}-${A}", env, "x"), "one-two-one");
  assertEquals(expandVariables("$A ${ not} $${A}", env, "x"), "$A ${ not} $one");
  assertEquals(
    message(() => expandVariables("${NOPE}", env, "where")),
    "where uses ${NOPE}, which is not set",
  );
  assertEquals(
    message(() => expandVariables("${EMPTY}", env, "w")),
    "w uses ${EMPTY}, which is not set",
  );
});

Deno.test("parseHeaderSpec() reads NAME=Header: value and never repeats a bad item", () => {
  assertEquals(parseHeaderSpec("gh=Authorization: Bearer a:b", "--h"), {
    target: "gh",
    name: "Authorization",
    value: "Bearer a:b",
  });
  for (const bad of ["no-equals-secret-v4lue", "gh=no colon secret-v4lue", "=X: secret-v4lue"]) {
    const said = message(() => parseHeaderSpec(bad, "--upstream-header"));
    assertEquals(said, "--upstream-header: expected NAME=Header-Name: value");
  }
  assertEquals(splitItems(" a=X: 1; b=Y: 2\nc=Z: 3;; "), ["a=X: 1", "b=Y: 2", "c=Z: 3"]);
});

Deno.test("validateHeader() refuses line breaks, control characters, bad and reserved names", () => {
  validateHeader("X-Api-Key", "abc def\tghi é", "w");
  const cases: [string, string, string][] = [
    ["X-Key", "secret\r\nX-Evil: 1", "w: the value of header X-Key holds a line break or NUL"],
    ["X-Key", "secret\nmore", "w: the value of header X-Key holds a line break or NUL"],
    [
      "X-Key",
      "secret\x07",
      "w: the value of header X-Key holds a control or non-Latin-1 character",
    ],
    ["X-Key", "snow ☃", "w: the value of header X-Key holds a control or non-Latin-1 character"],
    ["X-Key", "  ", "w: header X-Key has an empty value"],
    ["X Key", "v", `w: "X Key" is not a header name (letters, digits and !#$%&'*+.^_\`|~-)`],
    ["Mcp-Session-Id", "v", "w: header Mcp-Session-Id is set by the transport and cannot be given"],
    [
      "Sec-WebSocket-Protocol",
      "v",
      "w: header Sec-WebSocket-Protocol is set by the transport and cannot be given",
    ],
  ];
  for (const [name, value, expected] of cases) {
    const said = message(() => validateHeader(name, value, "w"));
    assertEquals(said, expected);
    assert(!said.includes("secret"), said);
  }
});

Deno.test("withHeaders() adds headers to the named target only, the last of a name winning", () => {
  const targets = parseTargetList("a=http://h:1/mcp; b=ws://h:2/ws; c=stdio:cmd");
  const out = withHeaders(
    targets,
    ["a=X-Key: ${KEY}", "b=Authorization: Bearer 1", "b=authorization: Bearer 2"],
    { KEY: "k-0123456789" },
    "--header",
    "server",
  );
  assertEquals(out[0]!.target, {
    kind: "http",
    url: new URL("http://h:1/mcp"),
    headers: { "X-Key": "k-0123456789" },
  });
  assertEquals((out[1]!.target as { headers?: unknown }).headers, {
    authorization: "Bearer 2",
  });
  assertEquals(out[2]!.target, targets[2]!.target);
  assertEquals((targets[0]!.target as { headers?: unknown }).headers, undefined, "input kept");
  assertEquals(scrub("k-0123456789 / Bearer 2"), "[redacted] / [redacted]");

  assertEquals(
    message(() => withHeaders(targets, ["z=X: 1"], {}, "--header", "server")),
    '--header for server "z": there is no such server (servers: a, b, c)',
  );
  assertEquals(
    message(() => withHeaders(targets, ["c=X: 1"], {}, "--header", "server")),
    '--header for server "c": headers go to HTTP and WebSocket targets, not stdio:',
  );
  assertEquals(
    message(() =>
      withHeaders(targets, ["a=X-Key: ${UNSET_ONE}"], {}, "UPSTREAM_HEADERS", "upstream")
    ),
    'UPSTREAM_HEADERS for upstream "a": header X-Key uses ${UNSET_ONE}, which is not set',
  );
});

Deno.test("parseServersFile() reads the Claude Desktop mcpServers shape", () => {
  const env = { TOKEN: "tok-5Fh8Kq2Mz", CHILD: "child-3Wx7Rb" };
  const targets = parseServersFile(
    JSON.stringify({
      mcpServers: {
        local: { command: "mcpcomm", args: ["toolbox"], env: { K: "${CHILD}", PLAIN: "p" } },
        bare: { command: "mcpcomm", type: "stdio" },
        web: { url: "https://h/mcp", headers: { Authorization: "Bearer ${TOKEN}" } },
        legacy: { url: "http://h/sse" },
        forced: { url: "http://h/events", type: "sse" },
        streamable: { url: "http://h/sse", type: "streamable-http" },
        sock: { url: "wss://h/ws" },
        off: { disabled: true, url: "not even a url" },
      },
      globalShortcut: "ignored",
    }),
    "servers.json",
    env,
  );
  assertEquals(targets.map((t) => [t.name, t.target.kind]), [
    ["local", "stdio"],
    ["bare", "stdio"],
    ["web", "http"],
    ["legacy", "sse"],
    ["forced", "sse"],
    ["streamable", "http"],
    ["sock", "ws"],
  ]);
  assertEquals(targets[0]!.target, {
    kind: "stdio",
    command: "mcpcomm",
    args: ["toolbox"],
    env: { K: env.CHILD, PLAIN: "p" },
  });
  assertEquals(targets[1]!.target, { kind: "stdio", command: "mcpcomm", args: [] });
  assertEquals((targets[2]!.target as { headers?: unknown }).headers, {
    Authorization: `Bearer ${env.TOKEN}`,
  });
  assertEquals(scrub(`${env.TOKEN} ${env.CHILD}`), "[redacted] [redacted]");
});

Deno.test("parseServersFile() names the file and the JSON path of each problem", async (t) => {
  const cases: [string, unknown, string][] = [
    ["not an object", [], "f.json: expected a JSON object with mcpServers"],
    ["no mcpServers", { servers: {} }, "f.json: mcpServers: expected an object of servers by name"],
    [
      "entry not an object",
      { mcpServers: { a: "x" } },
      "f.json: mcpServers.a: expected an object with command or url",
    ],
    [
      "neither",
      { mcpServers: { a: { args: [] } } },
      "f.json: mcpServers.a: needs command (stdio) or url",
    ],
    [
      "both",
      { mcpServers: { a: { command: "x", url: "http://h/mcp" } } },
      "f.json: mcpServers.a: has both command and url",
    ],
    [
      "bad name",
      { mcpServers: { "my server": { command: "x" } } },
      'f.json: mcpServers["my server"]: Invalid server name "my server": use 1-32 letters, digits, "_" or "-", starting with a letter or digit',
    ],
    [
      "args",
      { mcpServers: { a: { command: "x", args: ["ok", 2] } } },
      "f.json: mcpServers.a.args[1]: expected a string",
    ],
    [
      "env value",
      { mcpServers: { a: { command: "x", env: { K: 1 } } } },
      "f.json: mcpServers.a.env.K: expected a string",
    ],
    [
      "env name",
      { mcpServers: { a: { command: "x", env: { "K-1": "v" } } } },
      'f.json: mcpServers.a.env: "K-1" is not a variable name (letters, digits, _)',
    ],
    [
      "env unset",
      { mcpServers: { a: { command: "x", env: { K: "${UNSET_CHILD}" } } } },
      "f.json: mcpServers.a.env: variable K uses ${UNSET_CHILD}, which is not set",
    ],
    [
      "headers on stdio",
      { mcpServers: { a: { command: "x", headers: {} } } },
      "f.json: mcpServers.a.headers: applies to url servers only",
    ],
    [
      "env on url",
      { mcpServers: { a: { url: "http://h/mcp", env: {} } } },
      "f.json: mcpServers.a.env: applies to command servers only",
    ],
    [
      "bad url",
      { mcpServers: { a: { url: "ftp://user:secret-pw@h/" } } },
      "f.json: mcpServers.a.url: expected an http(s):// or ws(s):// URL",
    ],
    [
      "unknown type",
      { mcpServers: { a: { url: "http://h/mcp", type: "grpc" } } },
      "f.json: mcpServers.a.type: expected one of stdio, http, streamable-http, streamableHttp, sse, ws, websocket",
    ],
    [
      "type against scheme",
      { mcpServers: { a: { url: "http://h/mcp", type: "ws" } } },
      'f.json: mcpServers.a.type: "ws" does not match the URL\'s scheme http:',
    ],
    [
      "header unset",
      {
        mcpServers: {
          gh: { url: "http://h/mcp", headers: { Authorization: "Bearer ${UNSET_GH}" } },
        },
      },
      "f.json: mcpServers.gh.headers: header Authorization uses ${UNSET_GH}, which is not set",
    ],
    [
      "header value",
      { mcpServers: { gh: { url: "http://h/mcp", headers: { "X-Key": "secret-v\nX-Evil: 1" } } } },
      "f.json: mcpServers.gh.headers: the value of header X-Key holds a line break or NUL",
    ],
  ];
  for (const [name, json, expected] of cases) {
    await t.step(name, () => {
      const said = message(() => parseServersFile(JSON.stringify(json), "f.json", {}));
      assertEquals(said, expected);
      assert(!said.includes("secret"), said);
    });
  }
  await t.step("invalid JSON: the position, never the text", () => {
    const said = message(() =>
      parseServersFile('{"mcpServers": {"a": {"headers": {"X": "secret-v4lue"}}', "f.json", {})
    );
    assert(said.startsWith("f.json: not valid JSON"), said);
    assert(!said.includes("secret"), said);
  });
  assertThrows(() => parseServersFile("", "f.json", {}), UsageError, "f.json: not valid JSON");
});
