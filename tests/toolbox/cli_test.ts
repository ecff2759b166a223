import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { baseEnv, MAIN, RUN_ARGS, runCli, tempDir } from "../_helpers.ts";
import { spawnServer } from "../_spawn.ts";

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
  const root = await tempDir();
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

Deno.test("mcpcomm toolbox refuses run_command on an open address without a token", async (t) => {
  const runCommand = ["toolbox", "--port", "0", "--tools", "run_command", "--allow-run-command"];
  await t.step("0.0.0.0, no token: exit 2 and one line naming the ways out", async () => {
    const { code, stderr } = await runCli([...runCommand, "--host", "0.0.0.0"]);
    assertEquals(code, 2, stderr);
    const lines = stderr.trim().split("\n");
    assertEquals(lines.length, 1, stderr);
    assertMatch(lines[0]!, /Refusing to serve run_command on 0\.0\.0\.0 without a token/);
    for (const way of ["MCPCOMM_AUTH_TOKEN", "--auth-token", "127.0.0.1", "--insecure-no-auth"]) {
      assert(lines[0]!.includes(way), `${way} missing from: ${stderr}`);
    }
  });
  const token = "tok-Zr8Qm2Lx9Vb4Nc7Kd1";
  const starts: [string, string[], Record<string, string>][] = [
    ["with MCPCOMM_AUTH_TOKEN", [...runCommand, "--host", "0.0.0.0"], {
      MCPCOMM_AUTH_TOKEN: token,
    }],
    ["with --auth-token", [...runCommand, "--host", "0.0.0.0", "--auth-token", token], {}],
    ["with --insecure-no-auth", [...runCommand, "--host", "0.0.0.0", "--insecure-no-auth"], {}],
    ["on 127.0.0.1", [...runCommand, "--host", "127.0.0.1"], {}],
    ["without run_command on 0.0.0.0", ["toolbox", "--port", "0", "--host", "0.0.0.0"], {}],
  ];
  for (const [name, args, env] of starts) {
    await t.step(`starts ${name}`, async () => {
      const child = await spawnServer(args, { env });
      assertEquals((await child.stop()).code, 0, child.lines.join("\n"));
    });
  }
});
