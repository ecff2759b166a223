import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult, Progress } from "@modelcontextprotocol/client";
import {
  type CacheHint,
  createMcpHandler,
  McpServer as V2McpServer,
} from "@modelcontextprotocol/server";
import { z } from "zod";
import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { eventually, MAIN, runCli, startTestServerB, tempDir, testConfig } from "../_helpers.ts";
import { startTestToolbox } from "../_toolbox.ts";
import { setLogLevel } from "../../src/core/log.ts";
import { connectTarget, disconnect, parseTarget } from "../../src/mcp/targets.ts";
import { defineTool as defineV2Tool, jsonResult as v2JsonResult } from "../../src/mcp/tools.ts";
import { SessionLimit } from "../../src/mcp/sessions.ts";
import { createWebSocketEndpoint, WebSocketServerTransport } from "../../src/mcp/websocket.ts";
import { type Gateway, parsePipelines } from "../../src/server_a/_gateway.ts";
import { startServerA } from "../../src/server_a/mod.ts";
import { serveOnLoopback } from "../_serve.ts";
import { type LegacyOnlyMcpServer, startLegacyOnlyMcp } from "../mcp/_harness.ts";
import { startGateway } from "./_gateway.ts";

setLogLevel("error");

function text(result: unknown): string {
  return ((result as CallToolResult).content[0] as { text: string }).text;
}

function names(list: { name: string }[]): string[] {
  return list.map((x) => x.name);
}

/** The upstream's side of the custom tools: `slow` and the prompt `greet`, in either SDK. */
interface CustomTools {
  started: string[];
  cancelled: string[];
}

function customV2(tools: CustomTools): V2McpServer {
  const mcp = new V2McpServer({ name: "custom", version: "1" }, {
    capabilities: { tools: { listChanged: true }, prompts: {} },
  });
  defineV2Tool(mcp, "slow", {
    description: "Counts to n, one progress notification per step, until released",
    inputSchema: { n: z.number().int(), id: z.string() },
  }, async ({ n, id }, ctx) => {
    tools.started.push(id);
    for (let i = 1; i <= n; i++) {
      await ctx.mcpReq.notify({
        method: "notifications/progress",
        params: { progressToken: ctx.mcpReq._meta?.progressToken ?? 0, progress: i, total: n },
      });
    }
    await aborted(ctx.mcpReq.signal);
    tools.cancelled.push(id);
    return v2JsonResult({ cancelled: id });
  });
  mcp.registerPrompt(
    "greet",
    { description: "A greeting", argsSchema: z.object({ who: z.string() }) },
    ({ who }) => ({
      messages: [{ role: "user", content: { type: "text", text: `Hello ${who}` } }],
    }),
  );
  return mcp;
}

/** What the SDK v1 passes a tool handler, as far as these tests use it. */
interface V1Extra {
  signal: AbortSignal;
  _meta?: { progressToken?: string | number };
  sendNotification(
    notification: { method: string; params: Record<string, unknown> },
  ): Promise<void>;
}

function customV1(tools: CustomTools): McpServer {
  const mcp = new McpServer({ name: "custom", version: "1" }, {
    capabilities: { tools: {}, prompts: {} },
  });
  mcp.registerTool(
    "slow",
    {
      description: "Counts to n, one progress notification per step, until released",
      inputSchema: { n: z.number().int(), id: z.string() },
    },
    (async ({ n, id }: { n: number; id: string }, extra: V1Extra) => {
      tools.started.push(id);
      for (let i = 1; i <= n; i++) {
        await extra.sendNotification({
          method: "notifications/progress",
          params: { progressToken: extra._meta?.progressToken ?? 0, progress: i, total: n },
        });
      }
      await aborted(extra.signal);
      tools.cancelled.push(id);
      return v2JsonResult({ cancelled: id });
    }) as never,
  );
  mcp.registerPrompt(
    "greet",
    { description: "A greeting", argsSchema: { who: z.string() } as never },
    ((args: { who: string }) => ({
      messages: [{ role: "user", content: { type: "text", text: `Hello ${args.who}` } }],
    })) as never,
  );
  return mcp;
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/**
 * An upstream of our own over WebSocket: a slow tool with progress and cancellation, a prompt.
 * `modern` (default): the SDK v2 server behind mcpcomm's `/ws` endpoint, which speaks
 * 2026-07-28 (list changes over `subscriptions/listen`); `legacy`: an SDK v1 server on the
 * socket, which speaks only 2025 (unsolicited list_changed). `addTool(name)` adds a tool to every
 * connection's server, which announces the change.
 */
async function startCustomUpstream(port = 0, era: "modern" | "legacy" = "modern") {
  const tools: CustomTools = { started: [], cancelled: [] };
  const adders: ((name: string) => void)[] = [];
  const ws = createWebSocketEndpoint({
    createServer: () => {
      const mcp = customV2(tools);
      adders.push((name) =>
        defineV2Tool(mcp, name, { description: "Added later" }, () => v2JsonResult({ late: true }))
      );
      return mcp;
    },
    bindHost: "127.0.0.1",
    maxMessageBytes: 1 << 20,
    sessionLimit: new SessionLimit(100),
  });
  const sockets = new Set<WebSocketServerTransport>();
  const served = await serveOnLoopback(async (request) => {
    if (era === "modern") return await ws.handle(request);
    const { socket, response } = Deno.upgradeWebSocket(request, { protocol: "mcp" });
    const transport = new WebSocketServerTransport(socket);
    sockets.add(transport);
    void transport.closed.then(() => sockets.delete(transport));
    const mcp = customV1(tools);
    adders.push((name) =>
      mcp.registerTool(
        name,
        { description: "Added later" },
        () => v2JsonResult({ late: true }) as never,
      )
    );
    await mcp.connect(transport as never);
    return response;
  }, { port });
  return {
    url: `ws://127.0.0.1:${served.port}/ws`,
    port: served.port,
    ...tools,
    addTool(name: string) {
      for (const add of adders) add(name);
    },
    async close() {
      await ws.closeAll();
      await Promise.all([...sockets].map((t) => t.close()));
      await served.stop();
    },
  };
}

/** Resolves when `promise` does; fails naming `what` after `deadlineMs` instead of hanging. */
async function settles<T>(what: string, promise: Promise<T>, deadlineMs = 15_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what}: not within ${deadlineMs} ms`)),
          deadlineMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const stdioToolbox = (name: string, tools: string) =>
  `stdio:${Deno.execPath()} run -A ${MAIN} toolbox --transport stdio --name ${name} --tools ${tools}`;

Deno.test("Gateway aggregates upstreams over WebSocket and stdio under their names", async (t) => {
  await using calc = await startTestToolbox("calculator", { tools: ["math_calc", "echo"] });
  await using gw = await startGateway(
    `calc=${calc.url.replace(/^http/, "ws")}/ws; files=${
      stdioToolbox("filesystem", "list_files,echo")
    }`,
  );
  const { client } = gw;
  await t.step("tools/list: own tools, then NAME_tool for each upstream", async () => {
    const { tools } = await client.listTools();
    assertEquals(names(tools), [
      "own_tool",
      "gateway_upstreams",
      "calc_echo",
      "calc_math_calc",
      "files_echo",
      "files_list_files",
    ]);
    const math = tools.find((x: { name: string }) => x.name === "calc_math_calc")!;
    assertMatch(math.description!, /^\[calc\] Evaluate/);
    assertEquals(Object.keys(math.inputSchema.properties ?? {}), ["expression"]);
  });
  await t.step("calls are forwarded to the right upstream", async () => {
    const math = await client.callTool({
      name: "calc_math_calc",
      arguments: { expression: "2 + 2 * 3" },
    });
    assertEquals(text(math), "2 + 2 * 3 = 8");
    const echo = await client.callTool({ name: "files_echo", arguments: { message: "via stdio" } });
    assertEquals(text(echo), "Echo: via stdio");
    assertEquals((echo.structuredContent as { server: string }).server, "filesystem");
    const own = await client.callTool({ name: "own_tool", arguments: {} });
    assertEquals(own.structuredContent, { own: true });
  });
  await t.step("upstream tool errors pass through", async () => {
    const bad = await client.callTool({ name: "calc_math_calc", arguments: { expression: "1/0" } });
    assertEquals(bad.isError, true);
    assertEquals(text(bad), "Division by zero");
  });
  await t.step("resources are namespaced and readable", async () => {
    const { resources } = await client.listResources();
    assertEquals(resources.map((r: { uri: string }) => r.uri), [
      "upstream://calc/server%3A%2F%2Finfo",
      "upstream://files/server%3A%2F%2Finfo",
    ]);
    assertEquals(names(resources), ["calc_server-info", "files_server-info"]);
    const read = await client.readResource({ uri: "upstream://files/server%3A%2F%2Finfo" });
    assertEquals(read.contents[0]!.uri, "upstream://files/server%3A%2F%2Finfo");
    assertEquals(JSON.parse((read.contents[0] as { text: string }).text).name, "filesystem");
  });
  await t.step("gateway_upstreams reports each upstream", async () => {
    const status = await client.callTool({ name: "gateway_upstreams", arguments: {} });
    const upstreams =
      (status.structuredContent as { upstreams: { name: string; state: string; tools: number }[] })
        .upstreams;
    assertEquals(upstreams.map((u) => [u.name, u.state, u.tools]), [["calc", "up", 2], [
      "files",
      "up",
      2,
    ]]);
  });
  await t.step(
    "an unknown name is still 'not found' (JSON-RPC -32602, as the SDK v2)",
    async () => {
      await assertRejects(
        () => client.callTool({ name: "nobody_echo", arguments: {} }),
        Error,
        "Tool nobody_echo not found",
      );
    },
  );
});

for (const era of ["modern", "legacy"] as const) {
  Deno.test(`Gateway forwards progress and cancellation, prompts and list changes (${era} upstream)`, async (t) => {
    const custom = await startCustomUpstream(0, era);
    try {
      await using gw = await startGateway(`custom=${custom.url}`);
      const { client } = gw;
      assertEquals(
        gw.gateway.status()[0]!.protocol,
        era === "modern" ? "2026-07-28" : "2025-11-25",
      );
      await t.step(
        "progress notifications reach the caller, cancellation reaches the upstream",
        async () => {
          const progress: Progress[] = [];
          const controller = new AbortController();
          const call = client.callTool(
            { name: "custom_slow", arguments: { n: 3, id: "c1" } },
            {
              onprogress: (p: Progress) => {
                progress.push(p);
                if (progress.length === 3) controller.abort("enough");
              },
              signal: controller.signal,
            },
          ).then(() => "answered", (error: Error) => `rejected: ${error}`);
          assertMatch(await call, /^rejected: .*enough/);
          assertEquals(progress.map((p) => [p.progress, p.total]), [[1, 3], [2, 3], [3, 3]]);
          await eventually(() => custom.cancelled.includes("c1"));
        },
      );
      await t.step("prompts are namespaced and forwarded", async () => {
        const { prompts } = await client.listPrompts();
        assertEquals(names(prompts), ["custom_greet"]);
        const got = await client.getPrompt({ name: "custom_greet", arguments: { who: "Ada" } });
        assertEquals((got.messages[0]!.content as { text: string }).text, "Hello Ada");
      });
      await t.step("a tool added upstream appears downstream after list_changed", async () => {
        const changed = Promise.withResolvers<void>();
        client.setNotificationHandler(
          "notifications/tools/list_changed",
          () => changed.resolve(),
        );
        custom.addTool("late");
        await settles("list_changed downstream", changed.promise);
        await eventually(async () =>
          names((await client.listTools()).tools).includes("custom_late")
        );
        const late = await client.callTool({ name: "custom_late", arguments: {} });
        assertEquals(late.structuredContent, { late: true });
      });
    } finally {
      await custom.close();
    }
  });
}

Deno.test("Gateway reports an upstream that is down, serves the rest, and picks it up when it comes", async () => {
  await using calc = await startTestToolbox("calculator", { tools: ["math_calc"] });
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  await using gw = await startGateway(
    `down=ws://127.0.0.1:${port}/ws; calc=${calc.url.replace(/^http/, "ws")}/ws`,
  );
  const { client, gateway } = gw;
  assertEquals(names((await client.listTools()).tools), [
    "own_tool",
    "gateway_upstreams",
    "calc_math_calc",
  ]);
  const down = gateway.status().find((u) => u.name === "down")!;
  assertEquals(down.state, "down");
  assertMatch(down.lastError!, /Cannot connect to ws:\/\/127\.0\.0\.1:\d+\/ws/);
  const status = await client.callTool({ name: "gateway_upstreams", arguments: {} });
  assertMatch(text(status), /^down down ws:\/\/127\.0\.0\.1:\d+\/ws \(0 tools.*\): Cannot connect/);
  const refused = await client.callTool({ name: "down_slow", arguments: { n: 1, id: "x" } });
  assertEquals(refused.isError, true);
  assertMatch(
    text(refused),
    /^Upstream down \(ws:\/\/127\.0\.0\.1:\d+\/ws\) is down: Cannot connect/,
  );
  const math = await client.callTool({
    name: "calc_math_calc",
    arguments: { expression: "10 * 5" },
  });
  assertEquals(text(math), "10 * 5 = 50");

  const changed = Promise.withResolvers<void>();
  client.setNotificationHandler(
    "notifications/tools/list_changed",
    () => changed.resolve(),
  );
  const custom = await startCustomUpstream(port);
  try {
    await settles("list_changed downstream", changed.promise);
    await eventually(() => gateway.status().find((u) => u.name === "down")!.state === "up");
    assert(names((await client.listTools()).tools).includes("down_slow"));
    // And when it goes away again, its tools go with it.
    const gone = Promise.withResolvers<void>();
    client.setNotificationHandler("notifications/tools/list_changed", () => gone.resolve());
    await custom.close();
    await settles("list_changed downstream", gone.promise);
    await eventually(async () => !names((await client.listTools()).tools).includes("down_slow"));
  } finally {
    await custom.close().catch(() => {});
  }
});

Deno.test("Gateway pipeline passes a message through upstream tools in order", async (t) => {
  await using calc = await startTestToolbox("calculator", { tools: ["math_calc"] });
  await using box = await startTestToolbox("echoer", { tools: ["echo"] });
  const ws = (url: string) => `${url.replace(/^http/, "ws")}/ws`;
  await using gw = await startGateway(`calc=${ws(calc.url)}; box=${ws(box.url)}`, {
    pipelines: parsePipelines(
      "calc_then_echo=calc_math_calc>box_echo; broken=box_echo>calc_math_calc",
    ),
  });
  await t.step("each step's text becomes the next step's input", async () => {
    const progress: Progress[] = [];
    const result = await gw.client.callTool(
      { name: "calc_then_echo", arguments: { message: "2 + 3" } },
      {
        onprogress: (p: Progress) => progress.push(p),
      },
    );
    assertEquals(text(result), "Echo: 2 + 3 = 5");
    assertEquals(result.structuredContent, {
      pipeline: "calc_then_echo",
      input: "2 + 3",
      output: "Echo: 2 + 3 = 5",
      steps: [
        { step: 1, tool: "calc_math_calc", output: "2 + 3 = 5" },
        { step: 2, tool: "box_echo", output: "Echo: 2 + 3 = 5" },
      ],
    });
    assertEquals(progress.map((p) => [p.progress, p.total]), [[1, 2], [2, 2]]);
  });
  await t.step("a failing step stops the chain and is named", async () => {
    const result = await gw.client.callTool({ name: "broken", arguments: { message: "hi" } });
    assertEquals(result.isError, true);
    assertEquals(
      text(result),
      'Pipeline broken step 2 (calc_math_calc) failed: Unexpected character ":" at position 5',
    );
  });
});

Deno.test("startServerA() with --upstream aggregates a toolbox over each transport, next to its own tools", async (t) => {
  await using box = await startTestToolbox("box", { tools: ["echo", "math_calc"] });
  await using b = await startTestServerB();
  const controller = new AbortController();
  const a = await startServerA(
    testConfig({ SERVER_A_HOST: "127.0.0.1", SERVER_A_PORT: "0", SERVER_B_URL: b.url }),
    {
      transport: "http",
      signal: controller.signal,
      upstreams: [
        `h=${box.url}/mcp`,
        `s=${box.url}/sse`,
        `w=${box.url.replace(/^http/, "ws")}/ws`,
        `p=${stdioToolbox("spawned", "echo")}`,
      ],
    },
  );
  try {
    await a.gateway!.settled();
    const client = await connectTarget(parseTarget(`${a.url}/mcp`), {
      clientName: "t",
      version: "0",
    });
    try {
      await t.step("tools/list holds Server A's tools and every upstream's", async () => {
        const listed = names((await client.listTools()).tools);
        for (
          const name of [
            "send_message_to_ai",
            "gateway_upstreams",
            "h_echo",
            "h_math_calc",
            "s_echo",
            "s_math_calc",
            "w_echo",
            "w_math_calc",
            "p_echo",
          ]
        ) {
          assert(listed.includes(name), `${name} missing from ${listed.join(", ")}`);
        }
      });
      await t.step("a call over each transport", async () => {
        for (const prefix of ["h", "s", "w", "p"]) {
          const result = await client.callTool({
            name: `${prefix}_echo`,
            arguments: { message: prefix },
          });
          assertEquals(text(result), `Echo: ${prefix}`);
        }
      });
      await t.step("Server A's own tool still reaches Server B", async () => {
        const result = await client.callTool({
          name: "send_message_to_ai",
          arguments: { message: "hi" },
        });
        assertEquals(result.isError, undefined);
        assertEquals((await b.service.ledger.stats()).totalRequests, 1);
      });
    } finally {
      await disconnect(client);
    }
    await eventually(() => a.gateway!.sessionCount === 0);
  } finally {
    controller.abort();
    await a.finished;
  }
  assertEquals(a.gateway!.status().map((u) => u.state), ["closed", "closed", "closed", "closed"]);
});

Deno.test("startServerA() spreads send_message_to_ai over several SERVER_B_URLs", async () => {
  await using b1 = await startTestServerB();
  await using b2 = await startTestServerB();
  const controller = new AbortController();
  const a = await startServerA(
    testConfig({
      SERVER_A_HOST: "127.0.0.1",
      SERVER_A_PORT: "0",
      SERVER_B_URL: `${b1.url},${b2.url}`,
    }),
    { transport: "http", signal: controller.signal },
  );
  try {
    const client = await connectTarget(parseTarget(`${a.url}/mcp`), {
      clientName: "t",
      version: "0",
    });
    try {
      for (let i = 0; i < 4; i++) {
        const result = await client.callTool({
          name: "send_message_to_ai",
          arguments: { message: `m${i}` },
        });
        assertEquals(result.isError, undefined, text(result));
      }
      await b2.close();
      for (let i = 4; i < 8; i++) {
        const result = await client.callTool({
          name: "send_message_to_ai",
          arguments: { message: `m${i}` },
        });
        assertEquals(result.isError, undefined, text(result));
      }
    } finally {
      await disconnect(client);
    }
    assertEquals((await b1.service.ledger.stats()).totalRequests, 6);
  } finally {
    controller.abort();
    await a.finished;
  }
});

Deno.test("mcpcomm server-a --upstream and PIPELINES, spawned over stdio by mcpcomm client", async () => {
  await using box = await startTestToolbox("calculator", { tools: ["math_calc", "echo"] });
  // The spawned Server A reads .env in its working directory (the client's).
  const cwd = await tempDir();
  await Deno.writeTextFile(`${cwd}/.env`, "PIPELINES=calc_then_echo=calc_math_calc>calc_echo\n");
  const serverA = `stdio:${Deno.execPath()} run -A ${MAIN} server-a --upstream calc=${
    box.url.replace(/^http/, "ws")
  }/ws`;
  const { code, stdout, stderr } = await runCli([
    "client",
    `a=${serverA}`,
    "--json",
    "-e",
    'call a calc_math_calc {"expression": "sqrt(16) * 2"}',
    "-e",
    'call a calc_then_echo {"message": "2 + 3"}',
  ], { cwd });
  assertEquals(code, 0, stdout + stderr);
  const [added, call, pipeline] = stdout.trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(added.ok, true);
  assertEquals(call.result.content[0].text, "sqrt(16) * 2 = 8");
  assertEquals(pipeline.result.content[0].text, "Echo: 2 + 3 = 5");
});

Deno.test("Gateway never shadows Server A's own tool with an upstream tool of the same name", async () => {
  await using box = await startTestToolbox("calculator", { tools: ["echo", "math_calc"] });
  await using gw = await startGateway(`calc=${box.url.replace(/^http/, "ws")}/ws`, {}, "calc_echo");
  const listed = names((await gw.client.listTools()).tools);
  assertEquals(listed, ["calc_echo", "gateway_upstreams", "calc_math_calc"]);
  const result = await gw.client.callTool({ name: "calc_echo", arguments: { message: "x" } });
  assertEquals(result.structuredContent, { own: true });
});

/** A pass-through proxy on a free port in front of `http://127.0.0.1:{port}` that counts `initialize` requests. */
async function startCountingProxy(port: number) {
  let initializes = 0;
  const served = await serveOnLoopback(async (request) => {
    const url = new URL(request.url);
    const body = request.method === "POST" ? await request.text() : undefined;
    if (body?.includes('"method":"initialize"')) initializes++;
    const headers = new Headers(request.headers);
    headers.delete("host");
    return await fetch(`http://127.0.0.1:${port}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      body: body ?? null,
      signal: request.signal,
    });
  });
  return {
    url: `http://127.0.0.1:${served.port}`,
    get initializes() {
      return initializes;
    },
    close: () => served.stop(),
  };
}

/** An echo toolbox that can be stopped and started again on the same port; disposing stops it. */
async function restartableEcho() {
  let current = await startTestToolbox("calculator", { tools: ["echo"] });
  const port = Number(new URL(current.url).port);
  return {
    url: current.url,
    stop: () => current.close(),
    async restart() {
      current = await startTestToolbox("calculator", { tools: ["echo"], port });
      return current;
    },
    [Symbol.asyncDispose]: () => current.close(),
  };
}

function upstreamStatus(gateway: Gateway, name: string) {
  return gateway.status().find((u) => u.name === name)!;
}

// The shared connection is what requests without a downstream session use (2026-07-28 clients):
// the tests of its re-initialisation and cache drive it with a session-less downstream.
Deno.test("Gateway re-initialises a 2025 Streamable HTTP upstream restarted on the same port and retries the call once", async () => {
  const first = await startLegacyOnlyMcp();
  let second: LegacyOnlyMcpServer | undefined;
  try {
    await using gw = await startGateway(`h=${first.url}/mcp`, { era: "modern" });
    const { client } = gw;
    assertEquals(gw.gateway.status()[0]!.protocol, "2025-11-25");
    assertEquals(
      text(await client.callTool({ name: "h_echo", arguments: { text: "one" } })),
      "one",
    );

    await first.close();
    second = await startLegacyOnlyMcp({ port: first.port });
    const again = await client.callTool({ name: "h_echo", arguments: { text: "two" } });
    assertEquals(again.isError, undefined, text(again));
    assertEquals(text(again), "two");

    const status = await client.callTool({ name: "gateway_upstreams", arguments: {} });
    const h = (status.structuredContent as {
      upstreams: { name: string; state: string; connections: number }[];
    })
      .upstreams.find((u) => u.name === "h")!;
    assertEquals([h.state, h.connections], ["up", 2]);
    assertEquals(second.sessionCount, 1);
  } finally {
    await first.close();
    await second?.close();
  }
});

Deno.test("Gateway keeps using a 2026-07-28 Streamable HTTP upstream restarted on the same port: no session to re-initialise", async () => {
  await using echo = await restartableEcho();
  await using gw = await startGateway(`h=${echo.url}/mcp`);
  const { client, gateway } = gw;
  assertEquals(upstreamStatus(gateway, "h").protocol, "2026-07-28");
  assertEquals(
    text(await client.callTool({ name: "h_echo", arguments: { message: "one" } })),
    "Echo: one",
  );

  await echo.stop();
  const second = await echo.restart();
  const again = await client.callTool({ name: "h_echo", arguments: { message: "two" } });
  assertEquals(again.isError, undefined, text(again));
  assertEquals(text(again), "Echo: two");
  assertEquals(
    [upstreamStatus(gateway, "h").state, upstreamStatus(gateway, "h").connections],
    ["up", 1],
  );
  assertEquals(second.sessionCount, 0);
});

Deno.test("Gateway reports a stopped Streamable HTTP upstream down on the next call and picks it up again", async () => {
  await using echo = await restartableEcho();
  await using gw = await startGateway(`h=${echo.url}/mcp`);
  const { client, gateway } = gw;
  assertEquals(
    text(await client.callTool({ name: "h_echo", arguments: { message: "one" } })),
    "Echo: one",
  );

  await echo.stop();
  const failed = await client.callTool({ name: "h_echo", arguments: { message: "two" } });
  assertEquals(failed.isError, true);
  assertMatch(
    text(failed),
    /^Upstream h \(http:\/\/127\.0\.0\.1:\d+\/mcp\) is down: .*connection refused/,
  );
  const status = await client.callTool({ name: "gateway_upstreams", arguments: {} });
  assertMatch(text(status), /^h down http:\/\/127\.0\.0\.1:\d+\/mcp .*connection refused/);
  assertEquals(upstreamStatus(gateway, "h").state, "down");

  await echo.restart();
  await eventually(() => upstreamStatus(gateway, "h").state === "up", {
    what: "the upstream comes back",
  });
  const back = await client.callTool({ name: "h_echo", arguments: { message: "three" } });
  assertEquals(text(back), "Echo: three");
  assertEquals(upstreamStatus(gateway, "h").connections, 2);
});

Deno.test("Gateway re-initialises once for many calls that find the upstream's session gone", async () => {
  const first = await startLegacyOnlyMcp();
  const proxy = await startCountingProxy(first.port);
  let second: LegacyOnlyMcpServer | undefined;
  try {
    await using gw = await startGateway(`h=${proxy.url}/mcp`, { era: "modern" });
    const { client } = gw;
    assertEquals(
      text(await client.callTool({ name: "h_echo", arguments: { text: "one" } })),
      "one",
    );
    assertEquals(proxy.initializes, 1);

    await first.close();
    second = await startLegacyOnlyMcp({ port: first.port });
    const messages = Array.from({ length: 8 }, (_, i) => `m${i}`);
    const answers = await Promise.all(
      messages.map((message) => client.callTool({ name: "h_echo", arguments: { text: message } })),
    );
    assertEquals(answers.map(text), messages);
    assertEquals(proxy.initializes, 2);
    assertEquals(second.sessionCount, 1);
  } finally {
    await first.close();
    await second?.close();
    await proxy.close();
  }
});

Deno.test("Gateway re-initialises an SSE or WebSocket upstream whose server restarts on the same port", async (t) => {
  for (const [kind, endpoint] of [["sse", "/sse"], ["ws", "/ws"]] as const) {
    await t.step(kind, async () => {
      await using echo = await restartableEcho();
      const base = kind === "ws" ? echo.url.replace(/^http/, "ws") : echo.url;
      await using gw = await startGateway(`u=${base}${endpoint}`);
      const { client, gateway } = gw;
      assertEquals(
        text(await client.callTool({ name: "u_echo", arguments: { message: "one" } })),
        "Echo: one",
      );
      await echo.stop();
      const second = await echo.restart();
      await eventually(() => {
        const u = upstreamStatus(gateway, "u");
        return u.state === "up" && u.connections === 2;
      }, { what: "a new session" });
      const again = await client.callTool({ name: "u_echo", arguments: { message: "two" } });
      assertEquals(text(again), "Echo: two");
      // Over SSE (2025 era, stateful) the downstream session has its own connection too.
      assertEquals(second.sessionCount, kind === "sse" ? 2 : 1);
    });
  }
});

Deno.test("Gateway does not send again a call that may have reached an upstream whose connection then closed", async () => {
  const first = await startCustomUpstream();
  let second: Awaited<ReturnType<typeof startCustomUpstream>> | undefined;
  try {
    await using gw = await startGateway(`c=${first.url}`);
    const { client, gateway } = gw;
    const call = client.callTool({ name: "c_slow", arguments: { n: 1, id: "once" } });
    await eventually(() => first.started.includes("once"), {
      what: "the call reaches the upstream",
    });
    await first.close();
    const failed = await call;
    assertEquals(failed.isError, true);
    assertMatch(text(failed), /^Upstream c failed on slow: .*Connection closed/);
    second = await startCustomUpstream(first.port);
    await eventually(() => {
      const c = upstreamStatus(gateway, "c");
      return c.state === "up" && c.connections === 2;
    }, { what: "a new session" });
    assertEquals(second.started, []);
  } finally {
    await first.close();
    await second?.close();
  }
});

Deno.test("Gateway speaks 2026-07-28 to Server B and the toolbox, and falls back to 2025 for a 2025-only server", async () => {
  await using serverB = await startTestServerB();
  await using box = await startTestToolbox("box", { tools: ["echo"] });
  await using old = await startLegacyOnlyMcp();
  await using gw = await startGateway(
    `b=${serverB.url}/mcp; box=${box.url}/mcp; old=${old.url}/mcp`,
  );
  assertEquals(
    gw.gateway.status().map((u) => [u.name, u.state, u.protocol]),
    [["b", "up", "2026-07-28"], ["box", "up", "2026-07-28"], ["old", "up", "2025-11-25"]],
  );
  const { tools } = await gw.client.listTools();
  assert(names(tools).includes("b_get_ai_stats"), names(tools).join(", "));
  assertEquals(
    text(await gw.client.callTool({ name: "box_echo", arguments: { message: "hi" } })),
    "Echo: hi",
  );
  assertEquals(
    text(await gw.client.callTool({ name: "old_echo", arguments: { text: "hi" } })),
    "hi",
  );
  const history = await gw.client.callTool({
    name: "b_get_ai_stats",
    arguments: {},
  });
  assert(!history.isError, text(history));
  const status = text(await gw.client.callTool({ name: "gateway_upstreams", arguments: {} }));
  assertMatch(status, /^b up http:\/\/127\.0\.0\.1:\d+\/mcp MCP 2026-07-28 /m);
  assertMatch(status, /^box up http:\/\/127\.0\.0\.1:\d+\/mcp MCP 2026-07-28 /m);
  assertMatch(status, /^old up http:\/\/127\.0\.0\.1:\d+\/mcp MCP 2025-11-25 /m);
});

/**
 * A 2026-07-28 upstream (SDK v2 `createMcpHandler`) whose tools/list carries `hint`, counting the
 * tools/list requests it answers; `add(name)` adds a tool and announces the change. On a free
 * port unless `port` is given (to restart one where the last one was), with `tools` (default
 * `alpha`).
 */
async function startModernUpstream(
  hint: CacheHint,
  options: { port?: number; tools?: string[] } = {},
) {
  const toolNames = [...(options.tools ?? ["alpha"])];
  let listed = 0;
  const create = () =>
    createMcpHandler(() => {
      const mcp = new V2McpServer({ name: "modern", version: "1" }, {
        capabilities: { tools: { listChanged: true } },
        cacheHints: { "tools/list": hint },
      });
      for (const name of toolNames) {
        defineV2Tool(mcp, name, { description: `Tool ${name}` }, () => v2JsonResult({ name }));
      }
      return mcp;
    }, { legacy: "reject" });
  let handler = create();
  const served = await serveOnLoopback(async (request) => {
    const body = request.method === "POST" ? await request.clone().json().catch(() => ({})) : {};
    if ((body as { method?: string }).method === "tools/list") listed++;
    return await handler.fetch(request);
  }, { port: options.port ?? 0 });
  return {
    url: `${served.url}/mcp`,
    port: served.port,
    get listed() {
      return listed;
    },
    add(name: string) {
      toolNames.push(name);
      handler.notify.toolsChanged();
    },
    /** Ends the open subscriptions/listen streams, serving on with a new handler. */
    async endStreams() {
      const old = handler;
      handler = create();
      await old.close();
    },
    async [Symbol.asyncDispose]() {
      await handler.close();
      await served.stop();
    },
  };
}

Deno.test("Gateway serves an upstream's list from cache while its ttlMs says fresh, until list_changed", async () => {
  await using upstream = await startModernUpstream({ ttlMs: 60_000, cacheScope: "public" });
  await using gw = await startGateway(`m=${upstream.url}`);
  assertEquals(gw.gateway.status()[0]!.protocol, "2026-07-28");
  assertEquals(upstream.listed, 1);
  for (let i = 0; i < 3; i++) {
    const { tools } = await gw.client.listTools();
    assert(names(tools).includes("m_alpha"));
  }
  assertEquals(upstream.listed, 1);
  upstream.add("beta");
  await eventually(() => upstream.listed === 2);
  await eventually(async () => names((await gw.client.listTools()).tools).includes("m_beta"));
  assertEquals(upstream.listed, 2);
});

Deno.test("Gateway asks again for an upstream's list whose ttlMs has run out", async () => {
  await using upstream = await startModernUpstream({ ttlMs: 0, cacheScope: "public" });
  await using gw = await startGateway(`m=${upstream.url}`);
  assertEquals(upstream.listed, 1);
  await gw.client.listTools();
  await gw.client.listTools();
  assertEquals(upstream.listed, 3);
});

Deno.test("Gateway reports a stopped 2026-07-28 upstream down on the next call and picks it up again", async () => {
  const first = await startTestServerB();
  const port = Number(new URL(first.url).port);
  let second: Awaited<ReturnType<typeof startTestServerB>> | undefined;
  try {
    await using gw = await startGateway(`b=${first.url}/mcp`);
    const { client, gateway } = gw;
    const call = () => client.callTool({ name: "b_get_ai_stats", arguments: {} });
    assertEquals((await call()).isError, undefined);
    await first.close();
    const down = await call();
    assert(down.isError);
    assertMatch(text(down), /^Upstream b \(http:\/\/127\.0\.0\.1:\d+\/mcp\) is down: /);
    second = await startTestServerB({ HTTP_PORT: String(port) });
    await eventually(() => gateway.status()[0]!.state === "up");
    const again = await call();
    assertEquals(again.isError, undefined, text(again));
    assertEquals(gateway.status()[0]!.protocol, "2026-07-28");
  } finally {
    await first.close();
    await second?.close();
  }
});

/** A proxy in front of the Streamable HTTP server at `url`, counting the tools/list requests. */
async function countingProxy(url: string) {
  let listed = 0;
  const proxy = await serveOnLoopback(async (request) => {
    const body = request.method === "POST" ? await request.clone().json().catch(() => ({})) : {};
    if ((body as { method?: string }).method === "tools/list") listed++;
    const path = new URL(request.url);
    return await fetch(new Request(`${url}${path.pathname}${path.search}`, request));
  });
  return {
    url: proxy.url,
    get listed() {
      return listed;
    },
    stop: () => proxy.stop(),
  };
}

Deno.test("Gateway keeps a 2025 upstream's list, which has no ttlMs, without asking again", async () => {
  await using box = await startLegacyOnlyMcp();
  const proxy = await countingProxy(box.url);
  try {
    await using gw = await startGateway(`box=${proxy.url}/mcp`, { era: "modern" });
    assertEquals(gw.gateway.status()[0]!.protocol, "2025-11-25");
    for (let i = 0; i < 3; i++) {
      assert(names((await gw.client.listTools()).tools).includes("box_echo"));
    }
    assertEquals(proxy.listed, 1);
  } finally {
    await proxy.stop();
  }
});

Deno.test("Gateway re-initialises a 2026-07-28 upstream whose subscriptions/listen stream ends", async () => {
  await using upstream = await startModernUpstream({ ttlMs: 60_000, cacheScope: "public" });
  await using gw = await startGateway(`m=${upstream.url}`);
  assertEquals(gw.gateway.status()[0]!.connections, 1);
  await upstream.endStreams();
  await eventually(() => gw.gateway.status()[0]!.connections === 2);
  assertEquals(gw.gateway.status()[0]!.state, "up");
  upstream.add("gamma");
  await eventually(async () => names((await gw.client.listTools()).tools).includes("m_gamma"));
});

Deno.test("Gateway re-initialises a 2026-07-28 upstream restarted on the same port and follows its changes again", async () => {
  const hint: CacheHint = { ttlMs: 60_000, cacheScope: "public" };
  const first = await startModernUpstream(hint);
  let second: Awaited<ReturnType<typeof startModernUpstream>> | undefined;
  try {
    await using gw = await startGateway(`m=${first.url}`);
    const m = () => gw.gateway.status()[0]!;
    assertEquals([m().protocol, m().connections], ["2026-07-28", 1]);
    await first[Symbol.asyncDispose]();
    second = await startModernUpstream(hint, { port: first.port, tools: ["alpha", "beta"] });
    await eventually(() => m().state === "up" && m().connections === 2, {
      what: "a new connection",
    });
    assert(names((await gw.client.listTools()).tools).includes("m_beta"));
    second.add("gamma");
    await eventually(async () => names((await gw.client.listTools()).tools).includes("m_gamma"), {
      what: "the new upstream's change followed",
    });
    const alpha = await gw.client.callTool({ name: "m_alpha", arguments: {} });
    assertEquals(alpha.structuredContent, { name: "alpha" });
  } finally {
    await second?.[Symbol.asyncDispose]();
  }
});

Deno.test("Gateway calls an upstream tool without asking for its tools/list again", async (t) => {
  for (const ttlMs of [0, 60_000]) {
    await t.step(`ttlMs ${ttlMs}`, async () => {
      await using upstream = await startModernUpstream({ ttlMs, cacheScope: "public" });
      await using gw = await startGateway(`m=${upstream.url}`);
      assertEquals(upstream.listed, 1);
      for (let i = 0; i < 3; i++) {
        const result = await gw.client.callTool({ name: "m_alpha", arguments: {} });
        assertEquals(result.isError, undefined, text(result));
      }
      assertEquals(upstream.listed, 1);
    });
  }
});

Deno.test("Gateway calls a 2025 upstream's tool on a session's own connection without asking for its tools/list", async () => {
  await using box = await startLegacyOnlyMcp();
  const proxy = await countingProxy(box.url);
  try {
    await using gw = await startGateway(`box=${proxy.url}/mcp`);
    assert(names((await gw.client.listTools()).tools).includes("box_echo"));
    const before = proxy.listed;
    for (let i = 0; i < 3; i++) {
      const result = await gw.client.callTool({ name: "box_echo", arguments: { text: "hi" } });
      assertEquals(result.isError, undefined, text(result));
    }
    assertEquals(proxy.listed, before);
  } finally {
    await proxy.stop();
  }
});
