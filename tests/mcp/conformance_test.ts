/**
 * The official MCP conformance suite (code nobody here wrote) against the servers' `/mcp`, with
 * the baseline of scenarios that need the suite's own fixture tools: 0.2.0-alpha.12 at
 * `--requirements 2026-07-28` and at `--spec-version 2025-11-25` on Server B, Server A and the
 * toolbox.
 * @module
 */
import { startServerA } from "../../src/server_a/mod.ts";
import { assert, assertEquals } from "../_assert.ts";
import { conformanceCommand, conformanceUnavailable } from "../_conformance.ts";
import { startTestServerB, tempDir, tempFile, testConfig } from "../_helpers.ts";
import { startTestToolbox } from "../_toolbox.ts";

const SUITE_2026 = "npm:@modelcontextprotocol/conformance@0.2.0-alpha.12";
const BASELINE_2026 = new URL("./conformance_v2_baseline.json", import.meta.url).pathname;
type Era = "2026-07-28" | "2025-11-25";
const baseline2026 = JSON.parse(await Deno.readTextFile(BASELINE_2026)) as {
  required: Record<Era, string[]>;
  server: string[];
  toolbox: { passes: string[]; required: Record<Era, string[]> };
};
const decoder = new TextDecoder();

const reason2026 = await conformanceUnavailable(SUITE_2026);
const skipped2026 = reason2026 ? ` (SKIPPED: ${SUITE_2026} cannot run here: ${reason2026})` : "";

interface Check {
  id: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | "SKIPPED";
  errorMessage?: string;
}

/** How {@linkcode runSuite} runs the suite. */
interface SuiteRun {
  pkg: string;
  /** Selects the scenarios, e.g. `["--requirements", "2026-07-28"]`; the active suite by default. */
  select: string[];
  baseline: string;
  /** Scenarios whose every check must succeed. */
  required: string[];
}

/** Runs a server suite against `mcpUrl` with its baseline; checks the required scenarios. */
async function runSuite(mcpUrl: string, run: SuiteRun): Promise<void> {
  const out = await tempDir({ prefix: "conformance-" });
  try {
    const result = await conformanceCommand(run.pkg, [
      "server",
      "--url",
      mcpUrl,
      ...run.select,
      "--expected-failures",
      run.baseline,
      "-o",
      out,
    ], 240_000).output();
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
    for (const scenario of run.required) {
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
  name: `conformance 2026-07-28 requirements pass on Server B's /mcp (SDK v2)${skipped2026}`,
  ignore: reason2026 !== undefined,
  async fn() {
    await using b = await startTestServerB();
    await runSuite(`${b.url}/mcp`, {
      pkg: SUITE_2026,
      select: ["--requirements", "2026-07-28"],
      baseline: BASELINE_2026,
      required: baseline2026.required["2026-07-28"],
    });
  },
});

Deno.test({
  name: `conformance 2025-11-25 suite passes on Server B's /mcp (SDK v2)${skipped2026}`,
  ignore: reason2026 !== undefined,
  async fn() {
    await using b = await startTestServerB();
    await runSuite(`${b.url}/mcp`, {
      pkg: SUITE_2026,
      select: ["--spec-version", "2025-11-25"],
      baseline: BASELINE_2026,
      required: baseline2026.required["2025-11-25"],
    });
  },
});

/** Server A over HTTP (Server B behind it) for one suite run. */
async function withServerA(fn: (mcpUrl: string) => Promise<void>): Promise<void> {
  await using b = await startTestServerB();
  const controller = new AbortController();
  const a = await startServerA(
    testConfig({ SERVER_A_HOST: "127.0.0.1", SERVER_A_PORT: "0", SERVER_B_URL: b.url }),
    { transport: "http", signal: controller.signal },
  );
  try {
    await fn(`${a.url}/mcp`);
  } finally {
    controller.abort();
    await a.finished;
  }
}

Deno.test({
  name: `conformance 2026-07-28 requirements pass on Server A's /mcp (SDK v2)${skipped2026}`,
  ignore: reason2026 !== undefined,
  async fn() {
    await withServerA((mcpUrl) =>
      runSuite(mcpUrl, {
        pkg: SUITE_2026,
        select: ["--requirements", "2026-07-28"],
        baseline: BASELINE_2026,
        required: baseline2026.required["2026-07-28"],
      })
    );
  },
});

Deno.test({
  name: `conformance 2025-11-25 suite passes on Server A's /mcp (SDK v2)${skipped2026}`,
  ignore: reason2026 !== undefined,
  async fn() {
    await withServerA((mcpUrl) =>
      runSuite(mcpUrl, {
        pkg: SUITE_2026,
        select: ["--spec-version", "2025-11-25"],
        baseline: BASELINE_2026,
        required: baseline2026.required["2025-11-25"],
      })
    );
  },
});

/** The toolbox's baseline: the v2 one without the entries it passes (see `toolbox.passes`). */
async function toolboxBaseline(): Promise<string> {
  const path = await tempFile({ prefix: "conformance-toolbox-", suffix: ".json" });
  const passes = new Set(baseline2026.toolbox.passes);
  await Deno.writeTextFile(
    path,
    JSON.stringify({ server: baseline2026.server.filter((entry) => !passes.has(entry)) }),
  );
  return path;
}

for (
  const [era, select] of [
    ["2026-07-28", ["--requirements", "2026-07-28"]],
    ["2025-11-25", ["--spec-version", "2025-11-25"]],
  ] as const
) {
  Deno.test({
    name: `conformance ${era} passes on the toolbox's /mcp (SDK v2)${skipped2026}`,
    ignore: reason2026 !== undefined,
    async fn() {
      await using box = await startTestToolbox("conformance");
      const baselinePath = await toolboxBaseline();
      try {
        await runSuite(`${box.url}/mcp`, {
          pkg: SUITE_2026,
          select: [...select],
          baseline: baselinePath,
          required: baseline2026.toolbox.required[era],
        });
      } finally {
        await Deno.remove(baselinePath);
      }
    },
  });
}
