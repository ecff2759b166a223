import { McpServer } from "@modelcontextprotocol/server";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { type Outcome, runCommand } from "../../src/client/_commands.ts";
import { createStyle, formatOutcome } from "../../src/client/format.ts";
import { ServerRegistry } from "../../src/client/_registry.ts";
import { parseTarget } from "../../src/mcp/targets.ts";
import { defineTool, jsonResult } from "../../src/mcp/tools.ts";
import { SessionLimit } from "../../src/mcp/sessions.ts";
import { createWebSocketEndpoint } from "../../src/mcp/websocket.ts";
import { eventually, MAIN, startTestServerB } from "../_helpers.ts";
import { startTestToolbox } from "../_toolbox.ts";
import { serveOnLoopback } from "../_serve.ts";
import { startLegacyOnlyMcp } from "../mcp/_harness.ts";

const plain = createStyle(false);

function registry(): ServerRegistry {
  return new ServerRegistry({ clientName: "test", version: "0", timeoutMs: 20000 });
}

function wsUrl(base: string): string {
  return base.replace(/^http/, "ws") + "/ws";
}

/** The stdio target that spawns a toolbox from source. */
function stdioToolbox(name: string, tools: string): string {
  return `stdio:${Deno.execPath()} run -A ${MAIN} toolbox --transport stdio --name ${name} --tools ${tools}`;
}

async function run(servers: ServerRegistry, line: string): Promise<[Outcome, string]> {
  const outcome = await runCommand(servers, line);
  return [outcome, formatOutcome(outcome, plain)];
}

Deno.test("runCommand() routes, broadcasts and refuses disabled tools across two transports", async (t) => {
  await using calc = await startTestToolbox("calculator", { tools: ["math_calc", "echo"] });
  await using servers = registry();
  await servers.add("calc", parseTarget(wsUrl(calc.url)));
  await servers.add("files", parseTarget(stdioToolbox("filesystem", "list_files,echo")));

  await t.step("servers", async () => {
    const [outcome, text] = await run(servers, "servers");
    assert(outcome.command === "servers");
    assertEquals(outcome.servers.map((s) => [s.name, s.transport, s.serverName]), [
      ["calc", "websocket", "calculator"],
      ["files", "stdio", "filesystem"],
    ]);
    assertMatch(text, /^Connected servers \(2\):\n {2}calc .*websocket/);
  });
  await t.step("tools NAME shows only that server's enabled tools", async () => {
    const [outcome, text] = await run(servers, "tools calc");
    assert(outcome.ok && outcome.command === "tools");
    assertEquals(outcome.results.length, 1);
    assertEquals(text.split("\n")[0], "[calc]:");
    assertMatch(text, /math_calc/);
    assert(!text.includes("list_files"));
  });
  await t.step("tools lists every server, labelled", async () => {
    const [, text] = await run(servers, "tools");
    assertMatch(text, /\[calc\]:\n {2}echo: .*\n {2}math_calc: /);
    assertMatch(text, /\[files\]:\n {2}echo: .*\n {2}list_files: /);
  });
  await t.step("call routes to the named server", async () => {
    const [outcome, text] = await run(servers, 'call calc math_calc {"expression": "2 + 2 * 3"}');
    assert(outcome.ok);
    assertEquals(text, "[calc] 2 + 2 * 3 = 8");
    const [listing, listed] = await run(servers, 'call files list_files {"path": "."}');
    assert(listing.ok);
    assertMatch(listed, /^\[files\]\n {2}Files in \.:\n/);
  });
  await t.step("a disabled tool fails with the server's name", async () => {
    const [outcome, text] = await run(servers, 'call calc list_files {"path": "."}');
    assertEquals(outcome.ok, false);
    assertEquals(text, "[calc] error: Tool list_files is not enabled on calculator");
  });
  await t.step("broadcast answers from every server, labelled", async () => {
    const [outcome, text] = await run(servers, 'broadcast echo {"message": "Hello all servers!"}');
    assert(outcome.ok);
    assertEquals(text, "[calc] Echo: Hello all servers!\n[files] Echo: Hello all servers!");
  });
  await t.step("broadcast of a tool only one server has fails for the other", async () => {
    const [outcome, text] = await run(servers, 'broadcast math_calc {"expression": "1+1"}');
    assertEquals(outcome.ok, false);
    assertMatch(
      text,
      /^\[calc\] 1\+1 = 2\n\[files\] error: Tool math_calc is not enabled on filesystem$/,
    );
  });
  await t.step("resources and read, also in the seed's call spelling", async () => {
    const [outcome] = await run(servers, "resources");
    assert(outcome.ok && outcome.command === "resources");
    assertEquals(outcome.results.map((r) => r.ok && r.value.map((x) => x.uri)), [
      ["server://info"],
      ["server://info"],
    ]);
    const [read, text] = await run(servers, 'call files resources/read {"uri": "server://info"}');
    assert(read.ok && read.command === "read");
    assertMatch(text, /"enabledTools": \[\n\s+"echo",\n\s+"list_files"\n\s+\]/);
    const [listed] = await run(servers, "call calc resources/list {}");
    assert(listed.ok && listed.command === "resources");
  });
});

Deno.test("runCommand() adds and removes servers, mixing transports", async (t) => {
  await using a = await startTestToolbox("ws-server");
  await using b = await startTestToolbox("sse-server-1");
  await using c = await startTestToolbox("http-server");
  await using servers = registry();
  await servers.add("ws1", parseTarget(wsUrl(a.url)));
  await t.step("add HOST:PORT sse, add an http URL", async () => {
    const [added, text] = await run(servers, `add sse1 ${new URL(b.url).host} sse`);
    assert(added.ok, text);
    assertMatch(text, /^Added sse1 \(sse http:\/\/127\.0\.0\.1:\d+\/sse\)$/);
    const [http, httpText] = await run(servers, `add mcp1 ${c.url}/mcp`);
    assert(http.ok, httpText);
    assertMatch(httpText, /^Added mcp1 \(streamable-http http:\/\/127\.0\.0\.1:\d+\/mcp\)$/);
  });
  await t.step("a taken name is refused", async () => {
    const [dup, text] = await run(servers, `add sse1 ${wsUrl(b.url)}`);
    assertEquals(dup.ok, false);
    assertMatch(text, /already connected/);
  });
  await t.step("servers, call and broadcast across the three transports", async () => {
    const [listed] = await run(servers, "servers");
    assert(listed.command === "servers");
    assertEquals(listed.servers.map((s) => [s.name, s.transport, s.serverName]), [
      ["ws1", "websocket", "ws-server"],
      ["sse1", "sse", "sse-server-1"],
      ["mcp1", "streamable-http", "http-server"],
    ]);
    const [, sseText] = await run(servers, 'call sse1 echo {"message": "SSE server 1"}');
    assertEquals(sseText, "[sse1] Echo: SSE server 1");
    const [broadcast, text] = await run(servers, "broadcast get_time {}");
    assert(broadcast.ok && broadcast.command === "broadcast");
    assertEquals(broadcast.results.map((r) => r.server), ["ws1", "sse1", "mcp1"]);
    assertMatch(
      text,
      /^\[ws1\] Current time: .*\n\[sse1\] Current time: .*\n\[mcp1\] Current time: /,
    );
  });
  await t.step("remove", async () => {
    const [removed] = await run(servers, "remove sse1");
    assert(removed.ok);
    assertEquals(servers.names, ["ws1", "mcp1"]);
    const [gone, goneText] = await run(servers, 'call sse1 echo {"message": "x"}');
    assertEquals(gone.ok, false);
    assertEquals(goneText, '[sse1] error: Unknown server "sse1" (connected: ws1, mcp1)');
  });
});

Deno.test("runCommand() explains bad input without throwing", async (t) => {
  await using box = await startTestToolbox("box");
  await using servers = registry();
  await servers.add("box", parseTarget(wsUrl(box.url)));
  const cases: [string, RegExp][] = [
    ["frobnicate", /Unknown command "frobnicate"; type help/],
    ["call box", /Usage: call NAME TOOL \[JSON\]/],
    ["call box echo {not json}", /not valid JSON/],
    ['call box echo ["a"]', /must be a JSON object/],
    ["call nonexistent_server echo {}", /Unknown server "nonexistent_server"/],
    ["call box nonexistent_tool {}", /nonexistent_tool/],
    ['call box math_calc {"expression": "invalid"}', /Unknown name "invalid"/],
    ['call box list_files {"path": "/nonexistent"}', /outside the toolbox root|No such directory/],
    ["add x ftp://h/mcp", /Invalid target/],
    ["add dead 127.0.0.1:1", /Cannot add dead: Cannot connect to http:\/\/127\.0\.0\.1:1\/mcp/],
    ["remove nobody", /Unknown server "nobody"/],
    ["read box", /Usage: read NAME URI/],
    ["read box server://nothing", /error/],
  ];
  for (const [line, pattern] of cases) {
    await t.step(line, async () => {
      const [outcome, text] = await run(servers, line);
      assertEquals(outcome.ok, false, text);
      assertMatch(text, pattern);
    });
  }
  await t.step("help and quit succeed", async () => {
    const [help, text] = await run(servers, "help");
    assert(help.ok);
    for (
      const word of [
        "servers",
        "add",
        "remove",
        "tools",
        "call",
        "broadcast",
        "resources",
        "read",
        "quit",
      ]
    ) {
      assert(text.includes(`  ${word}`), word);
    }
    assertEquals((await run(servers, "quit"))[0].command, "quit");
  });
});

Deno.test("registry marks a server whose connection dropped", async () => {
  const box = await startTestToolbox("fleeting");
  await using servers = registry();
  await servers.add("f", parseTarget(wsUrl(box.url)));
  await box.close();
  await eventually(() => !servers.servers()[0]!.connected);
  const [outcome, text] = await run(servers, 'call f echo {"message": "x"}');
  assertEquals(outcome.ok, false);
  assertMatch(text, /disconnected/);
});

Deno.test("ServerRegistry frees the server-side session on remove and close, over every transport", async () => {
  // 2025 sessions over each transport (a 2025-only server), and the toolbox's 2026-07-28
  // WebSocket connection; its 2026-07-28 /mcp keeps no session at all.
  await using old = await startLegacyOnlyMcp();
  await using box = await startTestToolbox("box");
  const servers = registry();
  await servers.add("h", parseTarget(`${old.url}/mcp`));
  await servers.add("s", parseTarget(`${old.url}/sse`));
  await servers.add("w", parseTarget(wsUrl(old.url)));
  await servers.add("m", parseTarget(`${box.url}/mcp`));
  await servers.add("mw", parseTarget(wsUrl(box.url)));
  assertEquals(servers.servers().map((s) => s.protocol), [
    "2025-11-25",
    "2025-11-25",
    "2025-11-25",
    "2026-07-28",
    "2026-07-28",
  ]);
  assertEquals([old.sessionCount, box.sessionCount], [3, 1]);
  await servers.remove("h");
  await eventually(() => old.sessionCount === 2);
  await servers.close();
  await eventually(() => old.sessionCount === 0 && box.sessionCount === 0);
});

Deno.test("broadcast calls every server at once, not one after another", async () => {
  // Each server's tool answers only once both servers have been called: sequential calls would
  // time out.
  let arrived = 0;
  const both = Promise.withResolvers<void>();
  const createServer = () => {
    const mcp = new McpServer({ name: "barrier", version: "1" }, { capabilities: { tools: {} } });
    defineTool(mcp, "barrier", { description: "Waits for the other server's call" }, async () => {
      if (++arrived === 2) both.resolve();
      await both.promise;
      return jsonResult({ arrived });
    });
    return mcp;
  };
  const ws = createWebSocketEndpoint({
    createServer,
    bindHost: "127.0.0.1",
    maxMessageBytes: 1 << 20,
    sessionLimit: new SessionLimit(100),
  });
  const served = await serveOnLoopback((request) => ws.handle(request));
  const url = `ws://127.0.0.1:${served.port}/ws`;
  const servers = new ServerRegistry({ clientName: "test", version: "0", timeoutMs: 5000 });
  try {
    await servers.add("one", parseTarget(url));
    await servers.add("two", parseTarget(url));
    const [outcome, text] = await run(servers, "broadcast barrier {}");
    assert(outcome.ok, text);
    assertEquals(arrived, 2);
  } finally {
    await servers.close();
    await ws.closeAll();
    await served.stop();
  }
});

Deno.test("servers shows the MCP revision each server speaks", async () => {
  await using serverB = await startTestServerB();
  await using old = await startLegacyOnlyMcp();
  await using servers = registry();
  await servers.add("modern", parseTarget(`${serverB.url}/mcp`));
  await servers.add("legacy", parseTarget(`${old.url}/mcp`));
  const [outcome, text] = await run(servers, "servers");
  assert(outcome.command === "servers");
  assertEquals(outcome.servers.map((s) => [s.name, s.protocol]), [
    ["modern", "2026-07-28"],
    ["legacy", "2025-11-25"],
  ]);
  assertMatch(text, /modern .* MCP 2026-07-28\n.*legacy .* MCP 2025-11-25$/);
});
