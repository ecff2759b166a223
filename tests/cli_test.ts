import { type Command, commandMap, DOCS_PAGES, parseCommandLine } from "../src/cli.ts";
import { COMMANDS, MAIN_FLAGS } from "../src/commands/mod.ts";
import { serverBCommand } from "../src/commands/_server_b.ts";
import { UsageError } from "../src/core/errors.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import { baseEnv, runCli } from "./_helpers.ts";

Deno.test("parseCommandLine() maps setting flags to setting names", () => {
  const parsed = parseCommandLine(serverBCommand, [
    "--port",
    "9000",
    "--host=127.0.0.1",
    "--provider",
    "openai",
    "--mcp",
    "stdio",
  ]);
  assertEquals(parsed.settings, {
    HTTP_PORT: "9000",
    HTTP_HOST: "127.0.0.1",
    AI_PROVIDER: "openai",
  });
  assertEquals(parsed.flags.mcp, "stdio");
  assertEquals(parsed.help, false);
  assertEquals(parsed.positionals, []);
});

Deno.test("parseCommandLine() recognises --help and -h", () => {
  assertEquals(parseCommandLine(serverBCommand, ["--help"]).help, true);
  assertEquals(parseCommandLine(serverBCommand, ["-h"]).help, true);
});

Deno.test("parseCommandLine() joins a repeated multiple flag with commas", () => {
  const command: Command = {
    ...serverBCommand,
    options: { url: { type: "string", multiple: true } },
    settingFlags: { url: "SERVER_B_URL" },
  };
  const parsed = parseCommandLine(command, ["--url", "http://a:1", "--url", "http://b:2"]);
  assertEquals(parsed.settings, { SERVER_B_URL: "http://a:1,http://b:2" });
});

Deno.test("parseCommandLine() throws UsageError naming the command for a bad command line", async (t) => {
  const cases: [string[], RegExp][] = [
    [["--colour"], /Unknown option '--colour'/],
    [["--port"], /--port/],
    [["extra"], /Unexpected argument 'extra'/],
  ];
  for (const [args, pattern] of cases) {
    await t.step(args.join(" "), () => {
      const error = assertThrows(() => parseCommandLine(serverBCommand, args), UsageError);
      assertMatch(error.message, pattern);
      assertMatch(error.message, /\(see mcpcomm server-b --help\)$/);
      assertEquals(error.message.includes("\n"), false);
    });
  }
});

Deno.test("mcpcomm server-b --mcp with anything but stdio exits 2 with one line", async () => {
  const { code, stderr, stdout } = await runCli(["server-b", "--mcp", "http", "--port", "0"]);
  assertEquals(code, 2);
  assertEquals(stdout, "");
  assertEquals(stderr.trim(), 'mcpcomm server-b: --mcp accepts only "stdio", got "http"');
});

Deno.test("mcpcomm without a command prints the help and exits 2; --help exits 0", async () => {
  const none = await runCli([]);
  assertEquals(none.code, 2);
  assertMatch(none.stdout, /Usage: mcpcomm <command>/);
  assertMatch(none.stdout, /server-b/);
  const help = await runCli(["--help"]);
  assertEquals(help.code, 0);
  assertEquals(help.stdout, none.stdout);
});

Deno.test("commandMap() lists each subcommand with its summary and main flags, then the docs", () => {
  const map = commandMap(COMMANDS, { version: "9.9.9", mainFlags: MAIN_FLAGS });
  assertMatch(map, /^mcpcomm 9\.9\.9: /);
  const lines = map.split("\n");
  for (const command of COMMANDS) {
    const at = lines.findIndex((line) => line.startsWith(`  ${command.name} `));
    assert(at > 0, `no line for ${command.name}`);
    assert(lines[at]!.endsWith(command.summary), lines[at]);
    assertEquals(lines[at + 1]!.trim(), MAIN_FLAGS[command.name]);
  }
  assertMatch(map, /Run `mcpcomm <command> --help` for all of a command's flags/);
  for (const [path] of DOCS_PAGES) assertMatch(map, new RegExp(`^  ${path} `, "m"));
  assertEquals(
    Math.max(...lines.map((line) => line.length)) <= 100,
    true,
    "lines over 100 columns",
  );
});

Deno.test("MAIN_FLAGS names flags each subcommand has, for every subcommand", () => {
  assertEquals(Object.keys(MAIN_FLAGS).sort(), COMMANDS.map((c) => c.name).sort());
  for (const command of COMMANDS) {
    const named = [...MAIN_FLAGS[command.name]!.matchAll(/(?:^|\s|')(--?)([a-zA-Z][\w-]*)/g)];
    assert(named.length > 0, command.name);
    for (const [, dashes, flag] of named) {
      const known = dashes === "--"
        ? Object.hasOwn(command.options, flag!)
        : Object.values(command.options).some((option) => option.short === flag);
      assert(known, `mcpcomm ${command.name} has no flag ${dashes}${flag}`);
    }
  }
});

Deno.test("DOCS_PAGES names every docs page, and each one exists", () => {
  const root = new URL("../", import.meta.url);
  const pages = [...Deno.readDirSync(new URL("docs/", root))]
    .filter((entry) => entry.name.endsWith(".md"))
    .map((entry) => `docs/${entry.name}`);
  const named = DOCS_PAGES.map(([path]) => path);
  assertEquals(pages.filter((page) => !named.includes(page)), []);
  for (const path of named) assert(Deno.statSync(new URL(path, root)).isFile, path);
});

Deno.test("deno task start --help prints the same map as mcpcomm --help", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "start", "--help"],
    cwd: new URL("../", import.meta.url),
    env: { ...baseEnv(), NO_COLOR: "1" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const direct = await runCli(["--help"]);
  assertEquals(output.code, 0, new TextDecoder().decode(output.stderr));
  assertEquals(new TextDecoder().decode(output.stdout), direct.stdout);
  assertMatch(direct.stdout, /mcpcomm <command> --help/);
});
