import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { runCommand } from "../../src/toolbox/_command.ts";
import { tempDir } from "../_helpers.ts";

Deno.test("runCommand() runs an argument vector without a shell", async () => {
  const cwd = await tempDir();
  const out = await runCommand(["sh", "-c", 'printf "%s" "$0"', "; echo injected"], {
    cwd,
    timeoutMs: 10000,
  });
  assertEquals(out.exitCode, 0);
  assertEquals(out.stdout, "; echo injected");
  const pwd = await runCommand(["pwd"], { cwd, timeoutMs: 10000 });
  assertEquals(pwd.stdout.trim(), await Deno.realPath(cwd));
});

Deno.test("runCommand() reports a non-zero exit and stderr", async () => {
  const out = await runCommand(["sh", "-c", "echo oops >&2; exit 3"], {
    cwd: "/",
    timeoutMs: 10000,
  });
  assertEquals(out.exitCode, 3);
  assertEquals(out.stderr, "oops\n");
  assertEquals(out.timedOut, false);
});

Deno.test("runCommand() kills a program at the timeout", async () => {
  const out = await runCommand(["sleep", "30"], { cwd: "/", timeoutMs: 200 });
  assertEquals(out.timedOut, true);
  assertEquals(out.exitCode, null);
});

Deno.test("runCommand() caps captured output", async () => {
  const out = await runCommand(["head", "-c", "100000", "/dev/zero"], {
    cwd: "/",
    timeoutMs: 10000,
    maxOutputBytes: 1000,
  });
  assertEquals(out.stdout.length, 1000);
  assert(out.stdoutTruncated);
});

Deno.test("runCommand() rejects a program that does not exist", async () => {
  await assertRejects(() => runCommand(["no-such-program-mcpcomm"], { cwd: "/", timeoutMs: 1000 }));
});

Deno.test("runCommand() does not hand the toolbox's environment to the program", async () => {
  Deno.env.set("MCPCOMM_TEST_SECRET", "do-not-leak-this-value");
  try {
    const out = await runCommand(["env"], { cwd: "/", timeoutMs: 10000 });
    assertEquals(out.exitCode, 0);
    assert(!out.stdout.includes("do-not-leak-this-value"));
    assert(out.stdout.includes("PATH="));
  } finally {
    Deno.env.delete("MCPCOMM_TEST_SECRET");
  }
});
