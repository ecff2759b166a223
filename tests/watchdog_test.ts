/**
 * tests/_watchdog.ts, as `deno task test` preloads it, fails a test that hangs by name and moves
 * on to the next one, and leaves a test that finishes in time alone.
 * @module
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { baseEnv } from "./_helpers.ts";

const WATCHDOG = new URL("./_watchdog.ts", import.meta.url).pathname;

const HANGING = `
Deno.test("hangs on a write nobody reads", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const peer = await listener.accept();
  const block = new Uint8Array(1 << 16);
  try {
    for (;;) await conn.write(block);
  } finally {
    peer.close();
  }
});
Deno.test({ name: "runs after the hung one", fn: () => {} });
Deno.test("steps in time", async (t) => {
  await t.step("a step", () => new Promise((resolve) => setTimeout(resolve, 10)));
});
`;

Deno.test("tests/_watchdog.ts fails a hanging test by name within its limit and runs the rest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mcpcomm-watchdog-" });
  try {
    await Deno.writeTextFile(`${dir}/hang_test.ts`, HANGING);
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", "--no-check", "--no-lock", `--preload=${WATCHDOG}`, "hang_test.ts"],
      cwd: dir,
      env: { ...baseEnv(), NO_COLOR: "1", MCPCOMM_TEST_TIMEOUT_SECONDS: "1" },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    const decoder = new TextDecoder();
    const out = decoder.decode(output.stdout) + decoder.decode(output.stderr);
    assertEquals(output.code, 1, out);
    assertMatch(out, /hangs on a write nobody reads \.\.\. FAILED/);
    assertMatch(
      out,
      /test "hangs on a write nobody reads" \(\.\/hang_test\.ts:2:6\) did not finish within 1 s/,
    );
    assertMatch(out, /runs after the hung one \.\.\. ok/);
    assertMatch(out, /steps in time \.\.\. ok/);
    assert(out.includes("2 passed") && out.includes("1 failed"), out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
