import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { postJson, runCli } from "./_helpers.ts";
import { spawnServer } from "./_spawn.ts";
import { delay } from "../src/core/retry.ts";

Deno.test("mcpcomm --version prints the version from deno.json", async () => {
  const { code, stdout } = await runCli(["--version"]);
  assertEquals(code, 0);
  assertMatch(stdout, /^mcpcomm \d+\.\d+\.\d+\n$/);
});

Deno.test("mcpcomm with an unknown command exits 2 with one line", async () => {
  const { code, stderr } = await runCli(["server-c"]);
  assertEquals(code, 2);
  assertEquals(stderr.trim().split("\n").length, 1);
  assertMatch(stderr, /Unknown command "server-c"/);
});

Deno.test("mcpcomm server-b with an unknown flag exits 2 with one line", async () => {
  const { code, stderr } = await runCli(["server-b", "--colour"]);
  assertEquals(code, 2);
  assertEquals(stderr.trim().split("\n").length, 1);
  assertMatch(stderr, /--colour/);
});

Deno.test("mcpcomm server-b --help describes its flags", async () => {
  const { code, stdout } = await runCli(["server-b", "--help"]);
  assertEquals(code, 0);
  assert(stdout.includes("--port"));
});

Deno.test("mcpcomm server-b refuses a bad setting with one line naming it", async (t) => {
  for (
    const [env, name] of [
      [{ HTTP_PORT: "abc" }, "HTTP_PORT"],
      [{ AI_TEMPERATURE: "7" }, "AI_TEMPERATURE"],
      [{ AI_PROVIDER: "gemini" }, "AI_PROVIDER"],
    ] as const
  ) {
    await t.step(name, async () => {
      const { code, stderr } = await runCli(["server-b"], { env });
      assertEquals(code, 2);
      assertEquals(stderr.trim().split("\n").length, 1, stderr);
      assertMatch(stderr, new RegExp(`${name}=`));
    });
  }
});

Deno.test("mcpcomm server-b takes two SIGINTs 50 ms apart (Ctrl+C under deno task) as one graceful stop", async () => {
  await using server = await spawnServer([
    "server-b",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--db",
    ":memory:",
  ], {
    env: { MOCK_DELAY_MS: "1500", LOG_LEVEL: "debug", SHUTDOWN_TIMEOUT_SECONDS: "30" },
  });
  const { child, url } = server;
  const answer = postJson(`${url}/process`, { message: "finish me" });
  await server.waitForLine('"msg":"request started"');
  child.kill("SIGINT");
  await delay(50);
  child.kill("SIGINT");
  const response = await answer.catch((error) => error);
  assert(response instanceof Response, `the in-flight request failed: ${response}`);
  assertEquals(response.status, 200);
  assertMatch((await response.json()).aiResponse, /finish me/);
  const status = await child.status;
  await server.closed;
  assertEquals(status.code, 0, server.lines.join("\n"));
});
