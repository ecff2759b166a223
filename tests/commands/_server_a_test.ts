import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { runCli } from "../_helpers.ts";

Deno.test("mcpcomm server-a --help describes its flags and tools", async () => {
  const { code, stdout } = await runCli(["server-a", "--help"]);
  assertEquals(code, 0);
  for (const word of ["--server-b-url", "--transport", "--host", "--port", "send_message_to_ai"]) {
    assert(stdout.includes(word), `missing ${word}`);
  }
});

Deno.test("mcpcomm server-a refuses a bad transport or setting with one line, exit 2", async (t) => {
  for (
    const [args, pattern] of [
      [["--transport", "sse"], /--transport accepts "stdio" or "http", got "sse"/],
      [["--server-b-url", "ftp://b"], /SERVER_B_URL="ftp:\/\/b"/],
      [["--transport", "http", "--port", "http"], /SERVER_A_PORT="http"/],
      [
        ["--db-sync", "off"],
        /^mcpcomm server-a: Invalid setting MCPCOMM_DB_SYNC="off": expected one of full, normal$/m,
      ],
      [["--server-b"], /--server-b/],
    ] as const
  ) {
    await t.step(args.join(" "), async () => {
      const { code, stderr, stdout } = await runCli(["server-a", ...args]);
      assertEquals(code, 2);
      assertEquals(stdout, "");
      assertEquals(stderr.trim().split("\n").length, 1, stderr);
      assertMatch(stderr, pattern);
    });
  }
});
