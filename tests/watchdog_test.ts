/**
 * tests/_watchdog.ts, as `deno task test` preloads it, fails a test that hangs by name and moves
 * on to the next one, and leaves a test that finishes in time alone; it removes `tempDir()`
 * folders at each test's end and fails a test that leaves another temporary entry behind.
 * @module
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { baseEnv, tempDir } from "./_helpers.ts";

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

/** Runs `deno test` on `source` (as `name`) in a fresh folder with the watchdog preloaded. */
async function runUnderWatchdog(
  name: string,
  source: string,
  options: { flags?: string[]; env?: Record<string, string> } = {},
): Promise<{ code: number; out: string }> {
  const dir = await tempDir({ prefix: "mcpcomm-watchdog-" });
  await Deno.writeTextFile(`${dir}/${name}`, source);
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-check", ...options.flags ?? [], `--preload=${WATCHDOG}`, name],
    cwd: dir,
    env: { ...baseEnv(), NO_COLOR: "1", ...options.env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const decoder = new TextDecoder();
  return { code: output.code, out: decoder.decode(output.stdout) + decoder.decode(output.stderr) };
}

Deno.test("tests/_watchdog.ts fails a hanging test by name within its limit and runs the rest", async () => {
  const { code, out } = await runUnderWatchdog("hang_test.ts", HANGING, {
    flags: ["--no-lock"],
    env: { MCPCOMM_TEST_TIMEOUT_SECONDS: "1" },
  });
  assertEquals(code, 1, out);
  assertMatch(out, /hangs on a write nobody reads \.\.\. FAILED/);
  assertMatch(
    out,
    /test "hangs on a write nobody reads" \(\.\/hang_test\.ts:2:6\) did not finish within 1 s/,
  );
  assertMatch(out, /runs after the hung one \.\.\. ok/);
  assertMatch(out, /steps in time \.\.\. ok/);
  assert(out.includes("2 passed") && out.includes("1 failed"), out);
});

const HELPERS = new URL("./_helpers.ts", import.meta.url).href;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

const LEAVING = `
import { tempDir } from "${HELPERS}";
const made: string[] = [];
Deno.test("leaves a folder behind", async () => {
  await Deno.makeTempDir({ prefix: "forgotten-" });
});
Deno.test("fails after tempDir()", async () => {
  made.push(await tempDir({ prefix: "failing-" }));
  throw new Error("on purpose");
});
Deno.test("tempDir() folders are gone when their test ended", async () => {
  made.push(await tempDir({ prefix: "kept-" }));
  for (const path of made.slice(0, -1)) {
    if (await Deno.stat(path).then(() => true, () => false)) throw new Error(path + " is still there");
  }
});
Deno.test("removes its own folder", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.remove(dir);
});
`;

Deno.test("tests/_watchdog.ts fails a test that leaves a temporary entry behind and removes tempDir() folders", async () => {
  const tmp = await tempDir({ prefix: "mcpcomm-watchdog-tmp-" });
  const { code, out } = await runUnderWatchdog("leave_test.ts", LEAVING, {
    flags: [`--config=${CONFIG}`],
    env: { TMPDIR: tmp },
  });
  assertEquals(code, 1, out);
  assertMatch(
    out,
    /test "leaves a folder behind" \(\.\/leave_test\.ts:4:6\) left forgotten-\w+ behind in TMPDIR/,
  );
  assertMatch(out, /fails after tempDir\(\) \.\.\. FAILED/);
  assertMatch(out, /tempDir\(\) folders are gone when their test ended \.\.\. ok/);
  assertMatch(out, /removes its own folder \.\.\. ok/);
  assert(out.includes("2 passed") && out.includes("2 failed"), out);
  assertEquals([...Deno.readDirSync(tmp)], [], "the module's TMPDIR folder is gone");
});
