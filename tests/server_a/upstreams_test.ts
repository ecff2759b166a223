import {
  type CallToolResult,
  Client,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { runCli, startTestServerB, tempDir, testConfig } from "../_helpers.ts";
import { ENV_SERVER_SCRIPT, startRecordingMcp } from "../mcp/_harness.ts";
import { scrub, setLogLevel } from "../../src/core/log.ts";
import { startServerA } from "../../src/server_a/mod.ts";
import { resolveUpstreams } from "../../src/server_a/_gateway.ts";
import { startGateway } from "./_gateway.ts";

setLogLevel("error");

const TOKEN = "tok-Server-B-only-7fQ2mX9pL4";

function text(result: unknown): string {
  return ((result as CallToolResult).content[0] as { text: string }).text;
}

function ws(url: string): string {
  return url.replace(/^http/, "ws") + "/ws";
}

Deno.test("startServerA() sends MCPCOMM_AUTH_TOKEN to Server B only, never to an upstream", async () => {
  await using b = await startTestServerB({ MCPCOMM_AUTH_TOKEN: TOKEN });
  await using upstream = await startRecordingMcp();
  const controller = new AbortController();
  const a = await startServerA(
    testConfig({
      SERVER_A_HOST: "127.0.0.1",
      SERVER_A_PORT: "0",
      SERVER_B_URL: b.url,
      MCPCOMM_AUTH_TOKEN: TOKEN,
    }),
    {
      transport: "http",
      signal: controller.signal,
      upstreams: [`h=${upstream.url}/mcp`, `s=${upstream.url}/sse`, `w=${ws(upstream.url)}`],
    },
  );
  try {
    await a.gateway!.settled();
    assertEquals(a.gateway!.status().map((u) => u.state), ["up", "up", "up"]);
    const client = new Client({ name: "t", version: "0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${a.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
      }),
    );
    try {
      for (const prefix of ["h", "s", "w"]) {
        const echoed = await client.callTool({
          name: `${prefix}_echo`,
          arguments: { text: prefix },
        });
        assertEquals(text(echoed), prefix);
      }
      const sent = await client.callTool({
        name: "send_message_to_ai",
        arguments: { message: "hi" },
      });
      assertEquals(sent.isError, undefined, text(sent));
      assertEquals((await b.service.ledger.stats()).totalRequests, 1, "Server B got the token");
    } finally {
      await client.close();
    }
    for (const path of ["/mcp", "/sse", "/ws"]) {
      assert(upstream.requests.some((r) => r.path === path), `no request on ${path}`);
    }
    assertEquals(upstream.seen("authorization"), [], "the upstream never sees the token");
  } finally {
    controller.abort();
    await a.finished;
  }
});

Deno.test("--upstream-header reaches its upstream only, ${VAR} expanded, and is never shown", async () => {
  await using one = await startRecordingMcp();
  await using two = await startRecordingMcp();
  const env = { ONE_KEY: "one-key-Hq3Zt8Wd", TWO_TOKEN: "two-token-Lp5Rk2Vx" };
  const upstreams = resolveUpstreams(testConfig(), {
    upstreams: [`one=${one.url}/mcp`, `two=${ws(two.url)}`],
    upstreamHeaders: [
      "one=X-Api-Key: ${ONE_KEY}",
      "two=Authorization: Bearer ${TWO_TOKEN}",
      "two=X-Trace: literal",
    ],
    env,
  });
  await using gw = await startGateway(upstreams);
  assertEquals(text(await gw.client.callTool({ name: "one_echo", arguments: { text: "1" } })), "1");
  assertEquals(text(await gw.client.callTool({ name: "two_echo", arguments: { text: "2" } })), "2");

  assertEquals(one.seen("x-api-key"), [env.ONE_KEY]);
  assertEquals(one.seen("authorization"), []);
  assertEquals(one.seen("x-trace"), []);
  assertEquals(two.seen("authorization"), [`Bearer ${env.TWO_TOKEN}`]);
  assertEquals(two.seen("x-trace"), ["literal"]);
  assertEquals(two.seen("x-api-key"), []);

  const status = await gw.client.callTool({ name: "gateway_upstreams", arguments: {} });
  const shown = JSON.stringify(status);
  for (const secret of Object.values(env)) assert(!shown.includes(secret), "status shows a secret");
  assertEquals(
    scrub(`key ${env.ONE_KEY} token ${env.TWO_TOKEN}`),
    "key [redacted] token [redacted]",
  );
});

Deno.test("UPSTREAMS_FILE in the Claude Desktop shape: url with headers, command with env", async () => {
  await using web = await startRecordingMcp();
  const dir = await tempDir();
  const file = `${dir}/upstreams.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      mcpServers: {
        web: { url: `${web.url}/mcp`, headers: { "X-Api-Key": "${WEB_KEY}" } },
        sock: { type: "ws", url: ws(web.url), headers: { "X-Sock": "sock ${WEB_KEY}" } },
        envy: {
          command: Deno.execPath(),
          args: ["eval", "--no-config", ENV_SERVER_SCRIPT],
          env: { CHILD_SECRET: "${PARENT_SECRET}", PLAIN: "plain value" },
        },
        off: { disabled: true, command: "mcpcomm-no-such-binary" },
      },
    }),
  );
  const env = { WEB_KEY: "web-key-Jx7Pn3Qs", PARENT_SECRET: "parent-secret-Bv6Yc1Mf" };
  const upstreams = resolveUpstreams(testConfig({ UPSTREAMS_FILE: file }), {
    upstreams: [`extra=${web.url}/sse`],
    env,
  });
  assertEquals(upstreams.map((u) => u.name), ["extra", "web", "sock", "envy"]);
  await using gw = await startGateway(upstreams);
  assertEquals(gw.gateway.status().map((u) => u.state), ["up", "up", "up", "up"]);

  const child = async (name: string) =>
    text(await gw.client.callTool({ name: "envy_env", arguments: { name } }));
  assertEquals(await child("CHILD_SECRET"), env.PARENT_SECRET);
  assertEquals(await child("PLAIN"), "plain value");
  assertEquals(await child("WEB_KEY"), "(unset)", "only the listed variables reach the child");

  assertEquals(web.seen("x-api-key"), [env.WEB_KEY]);
  assertEquals(web.seen("x-sock"), [`sock ${env.WEB_KEY}`]);
  assert(
    web.requests.filter((r) => r.path === "/sse").every((r) => !r.headers.has("x-api-key")),
    "the flag's upstream gets none of the file's headers",
  );
  const shown = JSON.stringify(await gw.client.callTool({ name: "gateway_upstreams" }));
  for (const secret of Object.values(env)) assert(!shown.includes(secret), "status shows a secret");
});

Deno.test("mcpcomm server-a stops with one line naming an unset variable or a bad upstreams file", async (t) => {
  await t.step("unset variable in --upstream-header", async () => {
    const { code, stderr } = await runCli([
      "server-a",
      "--upstream",
      "gh=http://127.0.0.1:9/mcp",
      "--upstream-header",
      "gh=Authorization: Bearer ${GITHUB_TOKEN_NOT_SET}",
    ]);
    assertEquals(code, 2, stderr);
    assertEquals(stderr.trim().split("\n").length, 1, stderr);
    assertMatch(
      stderr,
      /--upstream-header for upstream "gh": header Authorization uses \$\{GITHUB_TOKEN_NOT_SET\}, which is not set/,
    );
  });
  await t.step("UPSTREAM_HEADERS with a line break in the value, never shown", async () => {
    const { code, stderr } = await runCli(["server-a", "--upstream", "gh=http://127.0.0.1:9/mcp"], {
      env: { UPSTREAM_HEADERS: "gh=X-Key: ${SPLIT}", SPLIT: "secret-one\r\nX-Evil: 1" },
    });
    assertEquals(code, 2, stderr);
    assertEquals(stderr.trim().split("\n").length, 1, stderr);
    assertMatch(
      stderr,
      /UPSTREAM_HEADERS for upstream "gh": the value of header X-Key holds a line break/,
    );
    assert(!stderr.includes("secret-one"), stderr);
  });
  await t.step("a bad entry in --upstreams-file names the file and the JSON path", async () => {
    const dir = await tempDir();
    const file = `${dir}/servers.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        mcpServers: { ok: { url: "http://127.0.0.1:9/mcp" }, bad: { args: ["x"] } },
      }),
    );
    const { code, stderr } = await runCli(["server-a", "--upstreams-file", file]);
    assertEquals(code, 2, stderr);
    assertEquals(stderr.trim().split("\n").length, 1, stderr);
    assert(stderr.includes(`${file}: mcpServers.bad: needs command (stdio) or url`), stderr);
  });
});
