/**
 * The official MCP conformance suite (code nobody here wrote) against both servers' `/mcp`,
 * with the baseline of scenarios that need the suite's own fixture tools.
 * @module
 */
import { startServerA } from "../../src/server_a/mod.ts";
import { assert, assertEquals } from "../_assert.ts";
import { startTestServerB, testConfig } from "../_helpers.ts";

const SUITE = "npm:@modelcontextprotocol/conformance@0.1.16";
const ROOT = new URL("../../", import.meta.url).pathname;
const BASELINE = new URL("./conformance_baseline.json", import.meta.url).pathname;
const baseline = JSON.parse(await Deno.readTextFile(BASELINE)) as {
  required: string[];
  server: string[];
};
const decoder = new TextDecoder();

function suite(args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--frozen", SUITE, ...args],
    cwd: ROOT,
    signal: AbortSignal.timeout(240_000),
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  });
}

/** Why the suite cannot run here, or `undefined` when it can. */
async function unavailable(): Promise<string | undefined> {
  try {
    const probe = await suite(["--version"]).output();
    if (probe.success) return undefined;
    return decoder.decode(probe.stderr).trim().split("\n").at(-1) ?? "it exits non-zero";
  } catch (error) {
    return String(error);
  }
}

const reason = await unavailable();
const skipped = reason ? ` (SKIPPED: ${SUITE} cannot run here: ${reason})` : "";

interface Check {
  id: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | "SKIPPED";
  errorMessage?: string;
}

/** Runs the active server suite against `mcpUrl` with the baseline; checks the required scenarios. */
async function runSuite(mcpUrl: string): Promise<void> {
  const out = await Deno.makeTempDir({ prefix: "conformance-" });
  try {
    const result = await suite([
      "server",
      "--url",
      mcpUrl,
      "--expected-failures",
      BASELINE,
      "-o",
      out,
    ]).output();
    const stdout = decoder.decode(result.stdout);
    const summary = stdout.slice(stdout.indexOf("=== SUMMARY ==="));
    assertEquals(result.code, 0, `conformance against ${mcpUrl}:\n${summary}`);
    assert(/Baseline check passed/.test(stdout), summary);

    const checks = new Map<string, Check[]>();
    for await (const entry of Deno.readDir(out)) {
      const scenario = entry.name.replace(/^server-/, "").replace(/-\d{4}-\d{2}-\d{2}T.*$/, "");
      const list = JSON.parse(await Deno.readTextFile(`${out}/${entry.name}/checks.json`));
      checks.set(scenario, list);
    }
    for (const scenario of baseline.required) {
      const list = checks.get(scenario);
      assert(list && list.length > 0, `scenario ${scenario} ran`);
      const bad = list.filter((c) => c.status === "FAILURE" || c.status === "WARNING");
      assertEquals(bad, [], `${scenario} against ${mcpUrl}`);
      assert(list.some((c) => c.status === "SUCCESS"), `${scenario} has a successful check`);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

Deno.test({
  name: `conformance suite passes on Server B's /mcp (baseline: fixture scenarios)${skipped}`,
  ignore: reason !== undefined,
  async fn() {
    await using b = await startTestServerB();
    await runSuite(`${b.url}/mcp`);
  },
});

Deno.test({
  name: `conformance suite passes on Server A's /mcp (--transport http)${skipped}`,
  ignore: reason !== undefined,
  async fn() {
    await using b = await startTestServerB();
    const controller = new AbortController();
    const a = await startServerA(
      testConfig({ SERVER_A_HOST: "127.0.0.1", SERVER_A_PORT: "0", SERVER_B_URL: b.url }),
      { transport: "http", signal: controller.signal },
    );
    try {
      await runSuite(`${a.url}/mcp`);
    } finally {
      controller.abort();
      await a.finished;
    }
  },
});
