/**
 * The MCP Inspector's CLI (code nobody here wrote) lists and calls the toolbox's tools over `/mcp`
 * and `/sse`, and sees a disabled tool refused.
 * @module
 */
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { startTestToolbox } from "../_toolbox.ts";

const INSPECTOR = "@modelcontextprotocol/inspector@1.0.3";
const decoder = new TextDecoder();

async function inspector(args: string[]): Promise<{ code: number; out: string }> {
  const env: Record<string, string> = { NO_COLOR: "1", npm_config_update_notifier: "false" };
  for (const key of ["HOME", "PATH", "TMPDIR", "npm_config_cache"]) {
    const value = Deno.env.get(key);
    if (value) env[key] = value;
  }
  const result = await new Deno.Command("npx", {
    args: ["-y", INSPECTOR, "--cli", ...args],
    // npx may first download the package: bounded, so a stalled download cannot hang the run.
    signal: AbortSignal.timeout(240_000),
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: result.code, out: decoder.decode(result.stdout) + decoder.decode(result.stderr) };
}

async function unavailable(): Promise<string | undefined> {
  try {
    const probe = await inspector(["--help"]);
    return probe.code === 0 ? undefined : `exit code ${probe.code}`;
  } catch (error) {
    return `npx is not runnable (${error instanceof Error ? error.message : error})`;
  }
}

const reason = await unavailable();

Deno.test({
  name: `MCP Inspector CLI lists and calls toolbox tools over /mcp and /sse${
    reason ? ` (SKIPPED: ${reason})` : ""
  }`,
  ignore: reason !== undefined,
  fn: async (t) => {
    await using box = await startTestToolbox("calc", { tools: ["math_calc", "echo"] });
    for (const [transport, path] of [["http", "/mcp"], ["sse", "/sse"]] as const) {
      await t.step(path, async () => {
        const url = `${box.url}${path}`;
        const listed = await inspector([url, "--transport", transport, "--method", "tools/list"]);
        assertEquals(listed.code, 0, listed.out);
        const names = [...listed.out.matchAll(/"name": "([^"]+)"/g)].map((m) => m[1]);
        assertEquals(names, ["echo", "math_calc"]);
        const called = await inspector([
          url,
          "--transport",
          transport,
          "--method",
          "tools/call",
          "--tool-name",
          "math_calc",
          "--tool-arg",
          "expression=2 + 2 * 3",
        ]);
        assertEquals(called.code, 0, called.out);
        assertMatch(called.out, /"text": "2 \+ 2 \* 3 = 8"/);
        const refused = await inspector([
          url,
          "--transport",
          transport,
          "--method",
          "tools/call",
          "--tool-name",
          "get_time",
        ]);
        assert(refused.out.includes('"text": "Tool get_time is not enabled on calc"'), refused.out);
        assertMatch(refused.out, /"isError": true/);
      });
    }
  },
});
