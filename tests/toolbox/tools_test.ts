import {
  type CallToolResult,
  Client,
  InMemoryTransport,
  ProtocolError,
} from "@modelcontextprotocol/client";
import { serveStdio } from "@modelcontextprotocol/server/stdio";
import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "../_assert.ts";
import { UsageError } from "../../src/core/errors.ts";
import {
  createToolboxMcp,
  selectTools,
  TOOLBOX_TOOLS,
  type ToolboxOptions,
} from "../../src/toolbox/tools.ts";
import { tempDir } from "../_helpers.ts";

async function connect(
  options: Partial<ToolboxOptions> = {},
): Promise<Client & AsyncDisposable> {
  const mcp = createToolboxMcp({
    name: "box",
    version: "0.0.1",
    tools: selectTools(undefined, false),
    root: await tempDir(),
    ...options,
  });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await mcp.connect(b);
  const client = new Client({ name: "test", version: "0" });
  await client.connect(a);
  return Object.assign(client, { [Symbol.asyncDispose]: () => client.close() });
}

function text(result: unknown): string {
  return ((result as CallToolResult).content[0] as { text: string }).text;
}

Deno.test("selectTools() validates --tools and guards run_command", async (t) => {
  await t.step("default: all but run_command", () => {
    assertEquals(selectTools(undefined, true), ["echo", "get_time", "list_files", "math_calc"]);
  });
  await t.step("a list, in canonical order", () => {
    assertEquals(selectTools("math_calc,echo", false), ["echo", "math_calc"]);
    assertEquals(selectTools("math_calc echo", false), ["echo", "math_calc"]);
  });
  await t.step("unknown tool", () => {
    assertThrows(() => selectTools("echo,format_disk", false), UsageError, '"format_disk"');
  });
  await t.step("run_command needs --allow-run-command", () => {
    assertThrows(() => selectTools("run_command", false), UsageError, "--allow-run-command");
    assertEquals(selectTools("run_command,echo", true), ["echo", "run_command"]);
  });
});

Deno.test("createToolboxMcp() lists only enabled tools and refuses the others by name", async () => {
  await using client = await connect({ name: "calc", tools: ["echo", "math_calc"] });
  const { tools } = await client.listTools();
  assertEquals(tools.map((t: { name: string }) => t.name), ["echo", "math_calc"]);
  for (const disabled of TOOLBOX_TOOLS.filter((t) => t !== "echo" && t !== "math_calc")) {
    const result = await client.callTool({ name: disabled, arguments: {} });
    assertEquals(result.isError, true);
    assertEquals(text(result), `Tool ${disabled} is not enabled on calc`);
  }
  const unknown = await assertRejects(
    () => client.callTool({ name: "nonexistent_tool", arguments: {} }),
    ProtocolError,
    "Tool nonexistent_tool not found",
  );
  assertEquals((unknown as ProtocolError).code, -32602);
});

Deno.test("createToolboxMcp() serves a 2026-07-28 client the same tools, with caching hints", async () => {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const served = serveStdio(
    () =>
      createToolboxMcp({ name: "calc", version: "0.0.1", tools: ["echo", "math_calc"], root: "." }),
    {
      transport: serverSide,
    },
  );
  const client = new Client({ name: "test", version: "0" }, {
    versionNegotiation: { mode: { pin: "2026-07-28" } },
  });
  await client.connect(clientSide);
  try {
    assertEquals(client.getProtocolEra(), "modern");
    const listed = await client.listTools();
    assertEquals(listed.tools.map((t) => t.name), ["echo", "math_calc"]);
    assertEquals([listed.ttlMs, listed.cacheScope], [300_000, "public"]);
    const resources = await client.listResources();
    assertEquals([resources.ttlMs, resources.cacheScope], [300_000, "public"]);
    const result = await client.callTool({ name: "math_calc", arguments: { expression: "6*7" } });
    assertEquals(result.structuredContent, { expression: "6*7", result: 42 });
    const refused = await client.callTool({ name: "run_command", arguments: { command: "ls" } });
    assertEquals(refused.isError, true);
    assertEquals(text(refused), "Tool run_command is not enabled on calc");
  } finally {
    await client.close();
    await served.close();
  }
});

Deno.test("createToolboxMcp() tools answer as the seed shows", async (t) => {
  const root = await tempDir();
  await Deno.writeTextFile(`${root}/hello.txt`, "hi");
  await using client = await connect({ root, tools: [...TOOLBOX_TOOLS] });
  await t.step("echo", async () => {
    assertEquals(
      text(await client.callTool({ name: "echo", arguments: { message: "Hi" } })),
      "Echo: Hi",
    );
  });
  await t.step("math_calc", async () => {
    const result = await client.callTool({
      name: "math_calc",
      arguments: { expression: "2 + 2 * 3" },
    });
    assertEquals(text(result), "2 + 2 * 3 = 8");
    assertEquals(result.structuredContent, { expression: "2 + 2 * 3", result: 8 });
    const bad = await client.callTool({ name: "math_calc", arguments: { expression: "invalid" } });
    assertEquals(bad.isError, true);
    assertMatch(text(bad), /Unknown name "invalid"/);
  });
  await t.step("list_files", async () => {
    const result = await client.callTool({ name: "list_files", arguments: { path: "." } });
    assertEquals(text(result), "Files in .:\nhello.txt");
    const missing = await client.callTool({
      name: "list_files",
      arguments: { path: "/nonexistent" },
    });
    assertEquals(missing.isError, true);
    const escape = await client.callTool({ name: "list_files", arguments: { path: "/tmp" } });
    assertEquals(escape.isError, true);
    assertMatch(text(escape), /outside the toolbox root/);
  });
  await t.step("get_time", async () => {
    const result = await client.callTool({ name: "get_time", arguments: { timezone: "UTC" } });
    const iso = (result.structuredContent as { iso: string }).iso;
    assert(Math.abs(Date.parse(iso) - Date.now()) < 60_000);
    const bad = await client.callTool({
      name: "get_time",
      arguments: { timezone: "Mars/Olympus" },
    });
    assertEquals(bad.isError, true);
    assertMatch(text(bad), /Unknown time zone/);
  });
  await t.step("run_command", async () => {
    const result = await client.callTool({ name: "run_command", arguments: { command: "ls" } });
    assertEquals(result.isError, undefined);
    assertMatch(text(result), /exited with code 0\nhello.txt/);
    const failed = await client.callTool({
      name: "run_command",
      arguments: { command: "sh", args: ["-c", "exit 4"] },
    });
    assertEquals(failed.isError, true);
    assertMatch(text(failed), /exited with code 4/);
  });
  await t.step("bad arguments are tool errors", async () => {
    const result = await client.callTool({ name: "echo", arguments: { message: 5 } });
    assertEquals(result.isError, true);
  });
});

Deno.test("createToolboxMcp() serves server://info with the name and enabled tools", async () => {
  await using client = await connect({ name: "files", tools: ["list_files", "echo"] });
  const { resources } = await client.listResources();
  assertEquals(resources.map((r: { uri: string }) => r.uri), ["server://info"]);
  const read = await client.readResource({ uri: "server://info" });
  const info = JSON.parse((read.contents[0] as { text: string }).text);
  assertEquals(info.name, "files");
  assertEquals(info.enabledTools, ["echo", "list_files"]);
});
