/**
 * The MCP Inspector's CLI (code nobody here wrote) lists and calls the toolbox's tools over `/mcp`
 * and `/sse`, and sees a disabled tool refused.
 * @module
 */
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { inspector, inspectorUnavailable } from "../_npx.ts";
import { startTestToolbox } from "../_toolbox.ts";

const reason = await inspectorUnavailable();

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
