import { type Command, parseCommandLine } from "../src/cli.ts";
import { serverBCommand } from "../src/commands/server_b.ts";
import { UsageError } from "../src/core/errors.ts";
import { assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import { runCli } from "./_helpers.ts";

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
