import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { baseEnv, MAIN, RUN_ARGS, runCli } from "../_helpers.ts";
import { startTestToolbox } from "../_toolbox.ts";

function ws(url: string): string {
  return url.replace(/^http/, "ws") + "/ws";
}

Deno.test("mcpcomm client --exec runs commands in order and exits 0 when all succeed", async () => {
  await using calc = await startTestToolbox("calculator", { tools: ["math_calc", "echo"] });
  await using files = await startTestToolbox("filesystem", { tools: ["list_files", "echo"] });
  const { code, stdout, stderr } = await runCli([
    "client",
    `calc=${ws(calc.url)}`,
    `files=${ws(files.url)}`,
    "--exec",
    "servers",
    "--exec",
    'call calc math_calc {"expression": "2 + 2 * 3"}',
    "-e",
    'broadcast echo {"message": "Hello from all servers!"}',
  ]);
  assertEquals(code, 0, stderr);
  assert(!stdout.includes("\x1b["), "no colour when not a terminal");
  assertMatch(stdout, /Connected servers \(2\)/);
  assertMatch(stdout, /\[calc\] 2 \+ 2 \* 3 = 8\n/);
  assertMatch(
    stdout,
    /\[calc\] Echo: Hello from all servers!\n\[files\] Echo: Hello from all servers!\n/,
  );
});

Deno.test("mcpcomm client --exec exits 1 when a command failed, after running the rest", async () => {
  await using calc = await startTestToolbox("calc", { tools: ["math_calc"] });
  const { code, stdout } = await runCli([
    "client",
    `calc=${ws(calc.url)}`,
    "--exec",
    'call calc list_files {"path": "."}',
    "--exec",
    'call calc math_calc {"expression": "10 * 5"}',
  ]);
  assertEquals(code, 1);
  assertMatch(
    stdout,
    /\[calc\] error: Tool list_files is not enabled on calc\n\[calc\] 10 \* 5 = 50/,
  );
});

Deno.test("mcpcomm client --json prints one JSON object per command", async () => {
  await using box = await startTestToolbox("box", { tools: ["echo", "get_time"] });
  const { code, stdout, stderr } = await runCli([
    "client",
    ws(box.url),
    "--json",
    "-e",
    "tools server1",
    "-e",
    "broadcast get_time {}",
  ]);
  assertEquals(code, 0, stderr);
  const lines = stdout.trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(lines.map((l) => [l.command, l.ok]), [["add", true], ["tools", true], [
    "broadcast",
    true,
  ]]);
  assertEquals(lines[1].results[0].value.map((t: { name: string }) => t.name), [
    "echo",
    "get_time",
  ]);
  assertEquals(lines[2].results[0].server, "server1");
  assertMatch(lines[2].results[0].value.structuredContent.iso, /^\d{4}-/);
});

Deno.test("mcpcomm client --mode test passes against toolboxes over all four transports", async () => {
  await using calc = await startTestToolbox("calculator", { tools: ["math_calc", "echo"] });
  await using files = await startTestToolbox("filesystem", { tools: ["list_files", "echo"] });
  const stdio =
    `stdio:${Deno.execPath()} run -A ${MAIN} toolbox --transport stdio --name timekeeper --tools get_time,echo`;
  const { code, stdout, stderr } = await runCli([
    "client",
    `calc=${ws(calc.url)}`,
    `time=${stdio}`,
    `sse=${files.url}/sse`,
    `http=${files.url}/mcp`,
    "--mode",
    "test",
  ]);
  assertEquals(code, 0, stdout + stderr);
  for (
    const line of [
      "PASS [calc] tools/list: 2 tools: echo, math_calc",
      "PASS [calc] server://info matches tools/list",
      "PASS [calc] call math_calc: 2 + 2 * 3 = 8",
      "PASS [calc] disabled tool refused: Tool get_time is not enabled on calculator",
      "PASS [time] call get_time",
      "PASS [time] disabled tool refused: Tool list_files is not enabled on timekeeper",
      "PASS [sse] call list_files: Files in .",
      "PASS [http] disabled tool refused: Tool get_time is not enabled on filesystem",
      "PASS [*] broadcast echo: answered by calc, time, sse, http",
      "PASS [*] add and remove a server",
    ]
  ) {
    assert(stdout.includes(line), `missing "${line}" in\n${stdout}`);
  }
  assertMatch(stdout, /\d+ passed, 0 failed, 0 skipped\n$/);
});

Deno.test("mcpcomm client --mode test fails when a server is unreachable", async () => {
  await using box = await startTestToolbox("box");
  const { code, stdout } = await runCli([
    "client",
    `ok=${ws(box.url)}`,
    "dead=http://127.0.0.1:1/mcp",
    "--mode",
    "test",
    "--json",
  ]);
  assertEquals(code, 1);
  const lines = stdout.trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(lines[0].command, "add");
  assertEquals(lines[0].ok, false);
  assertMatch(lines[0].error, /Cannot connect to http:\/\/127\.0\.0\.1:1\/mcp/);
  const report = lines.at(-1);
  assertEquals([report.mode, report.ok, report.failed], ["test", false, 0]);
});

Deno.test("mcpcomm client reads commands from a pipe when stdin is not a terminal", async () => {
  await using box = await startTestToolbox("box", { tools: ["echo"] });
  const child = new Deno.Command(Deno.execPath(), {
    args: [...RUN_ARGS, "client", `box=${ws(box.url)}`],
    env: { ...baseEnv(), NO_COLOR: "1" },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(
    new TextEncoder().encode('call box echo {"message": "piped"}\nservers\nquit\ntools\n'),
  );
  await writer.close();
  const output = await child.output();
  const stdout = new TextDecoder().decode(output.stdout);
  assertEquals(output.code, 0);
  assertMatch(stdout, /\[box\] Echo: piped\nConnected servers \(1\)/);
  assert(!stdout.includes("[box]:\n"), "commands after quit are not run");
  assert(!stdout.includes("mcp>"), "no prompt without a terminal");
});

Deno.test("mcpcomm client refuses bad arguments with exit 2", async (t) => {
  for (
    const [args, pattern] of [
      [["client", "--mode", "fast"], /--mode accepts/],
      [["client", "x=ftp://h/mcp"], /Invalid target/],
      [["client", "a=h:1", "a=h:2"], /given twice/],
      [["client", "--transport", "pigeon"], /--transport accepts/],
    ] as const
  ) {
    await t.step(args.join(" "), async () => {
      const { code, stderr } = await runCli([...args]);
      assertEquals(code, 2, stderr);
      assertMatch(stderr, pattern);
    });
  }
});
