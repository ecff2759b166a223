/**
 * The official MCP conformance suite's client scenarios (0.2.0-alpha.12) with `mcpcomm client` as
 * the client: its own mock servers, `_conformance_client.ts` turning each scenario into the
 * `--exec` lines that do its work, and a baseline of the scenarios that cannot apply.
 * @module
 */
import { assert, assertEquals } from "../_assert.ts";
import { conformanceCommand, conformanceUnavailable } from "../_conformance.ts";
import { tempDir } from "../_helpers.ts";

const SUITE = "npm:@modelcontextprotocol/conformance@0.2.0-alpha.12";
const DRIVER = new URL("./_conformance_client.ts", import.meta.url).pathname;
const BASELINE = new URL("./conformance_baseline.json", import.meta.url).pathname;
const baseline = JSON.parse(await Deno.readTextFile(BASELINE)) as {
  required: Record<"2026-07-28" | "2025-11-25", string[]>;
};
const decoder = new TextDecoder();
const reason = await conformanceUnavailable(SUITE);
const skipped = reason ? ` (SKIPPED: ${SUITE} cannot run here: ${reason})` : "";

/** Runs the client scenarios `select` picks; checks the baseline and the `required` scenarios. */
async function runClientSuite(select: string[], required: string[]): Promise<void> {
  const out = await tempDir({ prefix: "conformance-client-" });
  try {
    const command = `${Deno.execPath()} run -A ${DRIVER}`;
    const result = await conformanceCommand(SUITE, [
      "client",
      "--command",
      command,
      ...select,
      "--expected-failures",
      BASELINE,
      "-o",
      out,
    ]).output();
    const stdout = decoder.decode(result.stdout);
    const summary = stdout.slice(stdout.indexOf("=== SUITE SUMMARY ==="));
    assertEquals(result.code, 0, `${summary}\n${decoder.decode(result.stderr).slice(-2000)}`);
    assert(/Baseline check passed/.test(stdout), summary);
    const checks = new Map<string, { status: string }[]>();
    for (const dir of [out, `${out}/auth`]) {
      for await (const entry of Deno.readDir(dir)) {
        if (!entry.isDirectory || entry.name === "auth") continue;
        const scenario = `${dir === out ? "" : "auth/"}${
          entry.name.replace(/-\d{4}-\d{2}-\d{2}T.*$/, "")
        }`;
        checks.set(
          scenario,
          JSON.parse(await Deno.readTextFile(`${dir}/${entry.name}/checks.json`)),
        );
      }
    }
    for (const scenario of required) {
      const list = checks.get(scenario);
      assert(list && list.length > 0, `scenario ${scenario} ran`);
      const bad = list.filter((c) => c.status === "FAILURE" || c.status === "WARNING");
      assertEquals(bad, [], scenario);
      assert(list.some((c) => c.status === "SUCCESS"), `${scenario} has a successful check`);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

Deno.test({
  name: `conformance 2026-07-28 client requirements pass with mcpcomm client${skipped}`,
  ignore: reason !== undefined,
  async fn() {
    await runClientSuite(["--requirements", "2026-07-28"], baseline.required["2026-07-28"]);
  },
});

Deno.test({
  name: `conformance 2025-11-25 client scenarios pass with mcpcomm client${skipped}`,
  ignore: reason !== undefined,
  async fn() {
    await runClientSuite(
      ["--spec-version", "2025-11-25", "--suite", "all"],
      baseline.required["2025-11-25"],
    );
  },
});
