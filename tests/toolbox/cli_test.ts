import { assertEquals, assertMatch } from "../_assert.ts";
import { baseEnv, MAIN, RUN_ARGS, runCli } from "../_helpers.ts";

Deno.test("mcpcomm toolbox refuses a bad command line with one line and exit 2", async (t) => {
  const cases: [string[], RegExp][] = [
    [["--tools", "echo,format_disk"], /Unknown tool "format_disk" in --tools/],
    [["--tools", "run_command"], /add --allow-run-command/],
    [["--port", "99999"], /--port "99999" is not a port number/],
    [["--root", "/nonexistent-mcpcomm"], /--root "\/nonexistent-mcpcomm" is not a directory/],
    [["--transport", "carrier-pigeon"], /--transport accepts "http" or "stdio"/],
    [["--name", "bad/name"], /--name "bad\/name" must be/],
  ];
  for (const [args, pattern] of cases) {
    await t.step(args.join(" "), async () => {
      const { code, stderr } = await runCli(["toolbox", ...args]);
      assertEquals(code, 2, stderr);
      assertEquals(stderr.trim().split("\n").length, 1, stderr);
      assertMatch(stderr, pattern);
    });
  }
});

Deno.test("mcpcomm toolbox --allow-run-command runs an argument vector, confined to --root", async () => {
  const root = await Deno.makeTempDir();
  await Deno.writeTextFile(`${root}/marker.txt`, "");
  const target =
    `stdio:${Deno.execPath()} run -A ${MAIN} toolbox --transport stdio --name admin --root ${root} --tools run_command --tools list_files --allow-run-command`;
  const { code, stdout, stderr } = await runCli([
    "client",
    `admin=${target}`,
    "-e",
    'call admin run_command {"command": "ls"}',
    "-e",
    'call admin run_command {"command": "sh", "args": ["-c", "echo $0", "not; a shell"]}',
    "-e",
    'call admin list_files {"path": ".."}',
  ]);
  assertEquals(code, 1, stderr);
  assertMatch(stdout, /\[admin\]\n {2}ls exited with code 0\n {2}marker\.txt\n/);
  assertMatch(stdout, /sh exited with code 0\n {2}not; a shell\n/);
  assertMatch(stdout, /\[admin\] error: Path "\.\." is outside the toolbox root/);
});

Deno.test("mcpcomm toolbox --transport stdio exits when its stdin closes", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...RUN_ARGS, "toolbox", "--transport", "stdio"],
    env: { ...baseEnv(), NO_COLOR: "1" },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  await child.stdin.close();
  const output = await child.output();
  assertEquals(output.code, 0, new TextDecoder().decode(output.stderr));
  assertEquals(new TextDecoder().decode(output.stdout), "");
});
