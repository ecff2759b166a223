import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "../_assert.ts";
import { MAIN, startTestServerB } from "../_helpers.ts";
import { startTestToolbox } from "../_toolbox.ts";
import { legacyOnlyStdioTarget, startLegacyOnlyMcp } from "./_harness.ts";
import { UsageError } from "../../src/core/errors.ts";
import { setLogLevel } from "../../src/core/log.ts";
import {
  connectTarget,
  describeTarget,
  disconnect,
  parseNamedTarget,
  parseTarget,
  parseTargetList,
  protocolOf,
  splitCommandLine,
  TargetError,
  transportLabel,
} from "../../src/mcp/targets.ts";

Deno.test("parseTarget() recognises each transport", async (t) => {
  const cases: [string, string | undefined, string, string][] = [
    ["http://127.0.0.1:8080/mcp", undefined, "http", "http://127.0.0.1:8080/mcp"],
    ["https://box.example/mcp", undefined, "http", "https://box.example/mcp"],
    ["http://127.0.0.1:8080/sse", undefined, "sse", "http://127.0.0.1:8080/sse"],
    ["ws://127.0.0.1:8080/ws", undefined, "ws", "ws://127.0.0.1:8080/ws"],
    ["wss://box.example/ws", undefined, "ws", "wss://box.example/ws"],
    ["localhost:8080", undefined, "http", "http://localhost:8080/mcp"],
    ["localhost:8081", "sse", "sse", "http://localhost:8081/sse"],
    ["localhost:8082", "ws", "ws", "ws://localhost:8082/ws"],
    ["localhost:8082", "websocket", "ws", "ws://localhost:8082/ws"],
    ["[::1]:8080", undefined, "http", "http://[::1]:8080/mcp"],
  ];
  for (const [text, hint, kind, url] of cases) {
    await t.step(`${text} ${hint ?? ""}`, () => {
      const target = parseTarget(text, hint);
      assertEquals(target.kind, kind);
      assertEquals(describeTarget(target), url);
    });
  }
  await t.step("stdio with quoted arguments", () => {
    assertEquals(parseTarget(`stdio:mcpcomm toolbox --name "my box" --root '/tmp/a b'`), {
      kind: "stdio",
      command: "mcpcomm",
      args: ["toolbox", "--name", "my box", "--root", "/tmp/a b"],
    });
  });
});

Deno.test("parseTarget() refuses what it cannot reach, saying what it accepts", async (t) => {
  for (const text of ["ftp://x/mcp", "not a target", "stdio:", "stdio:   ", "file:///etc/passwd"]) {
    await t.step(text, () => {
      assertThrows(() => parseTarget(text), UsageError);
    });
  }
  assertThrows(() => parseTarget("localhost:1", "carrier-pigeon"), UsageError, "carrier-pigeon");
  assertThrows(() => parseTarget('stdio:echo "open'), UsageError, "Unclosed");
});

Deno.test("parseNamedTarget() and parseTargetList() read NAME=TARGET", () => {
  assertEquals(parseNamedTarget("calc=ws://h:1/ws").name, "calc");
  assertEquals(parseNamedTarget("ws://h:1/ws", "server1").name, "server1");
  assertEquals(parseNamedTarget("files=h:1", undefined, "sse").target.kind, "sse");
  assertThrows(() => parseNamedTarget("ws://h:1/ws"), UsageError, "NAME=TARGET");
  assertThrows(() => parseNamedTarget("a".repeat(40) + "=h:1"), UsageError, "Invalid server name");
  const list = parseTargetList("a=http://h:1/mcp; b=stdio:cmd --x=1 ;\nc=ws://h:2/ws");
  assertEquals(list.map((t) => t.name), ["a", "b", "c"]);
  assertEquals(list[1]!.target, { kind: "stdio", command: "cmd", args: ["--x=1"] });
  assertThrows(() => parseTargetList("a=h:1;a=h:2"), UsageError, "used twice");
});

Deno.test("splitCommandLine() groups quotes and escapes without a shell", () => {
  assertEquals(splitCommandLine(`a  "b c" 'd "e"' f\\ g ""`), ["a", "b c", 'd "e"', "f g", ""]);
  assertEquals(splitCommandLine("echo $HOME; rm -rf /"), ["echo", "$HOME;", "rm", "-rf", "/"]);
});

Deno.test("connectTarget() names the target it cannot reach", async (t) => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  for (
    const text of [
      `http://127.0.0.1:${port}/mcp`,
      `http://127.0.0.1:${port}/sse`,
      `ws://127.0.0.1:${port}/ws`,
    ]
  ) {
    await t.step(text, async () => {
      await assertRejects(
        () => connectTarget(parseTarget(text), { clientName: "t", version: "0", timeoutMs: 10000 }),
        TargetError,
        `Cannot connect to ${text}`,
      );
    });
  }
  await t.step("stdio child that dies says why", async () => {
    await assertRejects(
      () =>
        connectTarget(parseTarget(`stdio:sh -c "echo bad setting >&2; exit 2"`), {
          clientName: "t",
          version: "0",
          timeoutMs: 10000,
        }),
      TargetError,
      "(its stderr: bad setting)",
    );
  });
  await t.step("stdio command that does not exist", async () => {
    await assertRejects(
      () =>
        connectTarget(parseTarget("stdio:mcpcomm-no-such-binary"), {
          clientName: "t",
          version: "0",
          timeoutMs: 10000,
        }),
      TargetError,
      "Cannot connect to stdio:mcpcomm-no-such-binary",
    );
  });
});

Deno.test("connectTarget() speaks 2026-07-28 to a server offering it, 2025 to one that does not", async (t) => {
  setLogLevel("error");
  await using serverB = await startTestServerB();
  await using box = await startTestToolbox("box", { tools: ["echo"] });
  await using old = await startLegacyOnlyMcp();
  const cases: [string, string, "modern" | "legacy"][] = [
    [`${serverB.url}/mcp`, "streamable-http", "modern"],
    [`${serverB.url}/sse`, "sse", "legacy"],
    [`${box.url}/mcp`, "streamable-http", "modern"],
    [`${box.url}/sse`, "sse", "legacy"],
    [`${box.url.replace(/^http/, "ws")}/ws`, "websocket", "modern"],
    [
      `stdio:${Deno.execPath()} run -A ${MAIN} toolbox --transport stdio --name box --tools echo`,
      "stdio",
      "modern",
    ],
    [`${old.url}/mcp`, "streamable-http", "legacy"],
    [`${old.url}/sse`, "sse", "legacy"],
    [`${old.url.replace(/^http/, "ws")}/ws`, "websocket", "legacy"],
    [legacyOnlyStdioTarget(), "stdio", "legacy"],
  ];
  for (const [text, label, era] of cases) {
    await t.step(`${label} ${era}: ${text.slice(0, 40)}`, async () => {
      const target = parseTarget(text);
      assertEquals(transportLabel(target), label);
      const client = await connectTarget(target, {
        clientName: "t",
        version: "0",
        timeoutMs: 20_000,
      });
      try {
        const protocol = protocolOf(client);
        assertEquals(protocol.era, era);
        assertMatch(protocol.revision, era === "modern" ? /^2026-07-28$/ : /^2025-/);
        const { tools } = await client.listTools();
        assert(tools.length > 0);
      } finally {
        await disconnect(client);
      }
    });
  }
});

Deno.test("connectTarget() spawns a stdio server once, probing and falling back on that child", async (t) => {
  setLogLevel("error");
  const exits = new URL("./_discover_exits_stdio.ts", import.meta.url).pathname;
  const cases: [string, string, "modern" | "legacy", number][] = [
    [
      "modern",
      `${Deno.execPath()} run -A ${MAIN} toolbox --transport stdio --tools echo`,
      "modern",
      1,
    ],
    ["2025 only", legacyOnlyStdioTarget().slice("stdio:".length), "legacy", 1],
    [
      "exits on the probe: spawned again for initialize",
      `${Deno.execPath()} run ${exits}`,
      "legacy",
      2,
    ],
  ];
  for (const [label, command, era, spawns] of cases) {
    await t.step(label, async () => {
      const log = await Deno.makeTempFile({ prefix: "mcpcomm-spawns-" });
      try {
        const target = parseTarget(`stdio:sh -c 'echo spawned >> ${log}; exec ${command}'`);
        const client = await connectTarget(target, {
          clientName: "t",
          version: "0",
          timeoutMs: 20_000,
        });
        try {
          assertEquals(protocolOf(client).era, era);
          assert((await client.listTools()).tools.length > 0);
        } finally {
          await disconnect(client);
        }
        assertEquals((await Deno.readTextFile(log)).split("\n").filter(Boolean).length, spawns);
      } finally {
        await Deno.remove(log);
      }
    });
  }
});
