/**
 * `mcpcomm test`: the proof that the chain works. Checks Server B's health and models, then sends
 * two messages through Server A's `send_message_to_ai` tool with a real MCP client, and prints a
 * numbered report (or one JSON object with `--json`).
 * @module
 */
import { Client, InMemoryTransport } from "@modelcontextprotocol/client";
import type { Command } from "../cli.ts";
import { type Config, createLogger, describeError, printOut, VERSION } from "../core/mod.ts";
import { createMemoryLedger } from "../ledger/mod.ts";
import { createServerAMcp, createServerBPool, serverBPoolOptions } from "../server_a/mod.ts";
import { ProcessResponse } from "../wire.ts";

/** The messages the proof sends, as in the seed. */
export const TEST_MESSAGES = ["What is Python?", "Explain AI in one sentence"] as const;

/** Longest wait for Server B's health and models answers, whatever TIMEOUT_SECONDS says. */
const CHECK_TIMEOUT_MS = 10_000;

/** The outcome of one numbered step. */
export interface TestStep {
  step: number;
  name: "health" | "models" | "message";
  ok: boolean;
  /** The step did not run because an earlier one failed. */
  skipped?: boolean;
  error?: string;
  [detail: string]: unknown;
}

/** The machine-readable result of `mcpcomm test --json`. */
export interface TestReport {
  ok: boolean;
  serverBUrl: string;
  steps: TestStep[];
  /** Which step failed and why, when one did. */
  error?: string;
}

const RULE = "=".repeat(60);

/**
 * Runs the proof against Server B at `config.SERVER_B_URL`: Server A runs in this process and is
 * driven by an MCP SDK client over a linked in-memory transport. `print` receives the human
 * report line by line as the steps complete.
 * @example
 * ```ts
 * const report = await runChainTest(loadConfig({ env: { SERVER_B_URL: "http://localhost:8000" } }));
 * report.ok; // true when every step passed
 * ```
 */
export async function runChainTest(
  config: Config,
  options: { signal?: AbortSignal; print?: (line: string) => void } = {},
): Promise<TestReport> {
  const print = options.print ?? (() => {});
  const log = createLogger("test");
  const pool = { ...serverBPoolOptions(config), log };
  const checks = createServerBPool({
    ...pool,
    urls: pool.urls.slice(0, 1),
    timeoutMs: Math.min(pool.timeoutMs, CHECK_TIMEOUT_MS),
  });
  const b = createServerBPool({ ...pool, balancer: { healthIntervalMs: 0 } });
  const report: TestReport = { ok: false, serverBUrl: b.url, steps: [] };
  const names: TestStep["name"][] = [
    "health",
    "models",
    ...TEST_MESSAGES.map(() => "message" as const),
  ];
  const fail = (step: number, error: unknown) => {
    const message = describeError(error);
    report.steps.push({ step, name: names[step - 1]!, ok: false, error: message });
    for (let n = step + 1; n <= names.length; n++) {
      report.steps.push({ step: n, name: names[n - 1]!, ok: false, skipped: true });
    }
    report.error = `Step ${step} (${names[step - 1]}) failed: ${message}`;
    print(`    ✗ ${message}`);
    print("");
    print(RULE);
    print(`  ✗ FAILED at step [${step}]: ${message}`);
    print(RULE);
  };

  print(RULE);
  print("  MCP Server-to-Server Communication — Proof of Concept");
  print(RULE);
  print("");
  const mcp = createServerAMcp({
    client: b,
    ledger: createMemoryLedger(10),
    version: VERSION,
    log,
  });
  const client = new Client({ name: "mcpcomm-test", version: VERSION });
  try {
    print(`[1] Checking Server B health at ${checks.url}...`);
    let provider: string;
    try {
      const health = await checks.health(options.signal);
      provider = health.provider;
      const aiStatus = health.ai.configured
        ? health.ai.status
        : `${health.ai.status}${health.ai.reason ? ` (${health.ai.reason})` : ""}`;
      report.steps.push({ step: 1, name: "health", ok: true, provider, aiStatus });
      print("    ✓ Server B is healthy");
      print(`    Provider: ${provider}`);
      print(`    AI Status: ${aiStatus}`);
      print("");
    } catch (error) {
      fail(1, error);
      return report;
    }

    print("[2] Listing available models on Server B...");
    try {
      const models = await checks.models(options.signal);
      report.steps.push({
        step: 2,
        name: "models",
        ok: true,
        provider: models.provider,
        models: models.models,
      });
      print(`    ✓ Provider: ${models.provider}`);
      print(`    Models: ${JSON.stringify(models.models)}`);
      print("");
    } catch (error) {
      fail(2, error);
      return report;
    }

    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await mcp.connect(serverSide);
    await client.connect(clientSide);
    const timeout = config.TIMEOUT_SECONDS * 1000 * config.RETRY_ATTEMPTS + 5_000;
    for (const [i, message] of TEST_MESSAGES.entries()) {
      const step = i + 3;
      print(`[${step}] Sending message: "${message}"`);
      print(`    MCP client → Server A (send_message_to_ai) → HTTP POST → Server B → ${provider}`);
      try {
        const result = await client.callTool(
          { name: "send_message_to_ai", arguments: { message } },
          { timeout, ...(options.signal ? { signal: options.signal } : {}) },
        );
        const content = result.content as { type: string; text?: string }[];
        const text = content.map((c) => c.text ?? "").join("");
        if (result.isError) throw new Error(text || "send_message_to_ai failed");
        const parsed = ProcessResponse.safeParse(result.structuredContent);
        if (!parsed.success) {
          throw new Error("send_message_to_ai returned no valid structured result");
        }
        const answer = parsed.data;
        report.steps.push({
          step,
          name: "message",
          ok: true,
          message,
          aiResponse: answer.aiResponse,
          model: answer.model,
          tokens: answer.usage.totalTokens,
          estimatedCost: answer.estimatedCost,
          status: answer.status,
          messageId: answer.messageId,
        });
        print("    ✓ Response received!");
        print("");
        print(`    AI Response : ${answer.aiResponse}`);
        print(`    Model       : ${answer.model}`);
        print(`    Tokens      : ${answer.usage.totalTokens}`);
        print(`    Status      : ${answer.status}`);
        print("");
      } catch (error) {
        fail(step, error);
        return report;
      }
    }
    report.ok = true;
    print(RULE);
    print("  ✓ PROOF: Server A communicated with Server B successfully!");
    print("");
    print("  Two separate MCP servers exchanged messages:");
    print(`    messenger-server  →  HTTP POST  →  Server B at ${b.url}  →  ${provider}`);
    print(RULE);
    return report;
  } finally {
    await client.close().catch(() => {});
    await mcp.close().catch(() => {});
    checks.close();
    b.close();
  }
}

/** The `test` subcommand. */
export const testCommand: Command = {
  name: "test",
  summary: "Prove the chain: an MCP client calls Server A, which asks Server B",
  help: `Usage: mcpcomm test [flags]

Checks Server B's health and models, then sends "${TEST_MESSAGES.join('" and "')}"
through Server A's send_message_to_ai tool (Server A runs in this process, driven by an MCP
client), and prints a numbered report. Exits 0 only when every step passed; otherwise 1, saying
which step failed and why.

Flags:
  --server-b-url URL   Server B's URL (SERVER_B_URL, default http://localhost:8000); with
                       several, comma-separated, steps 1-2 check the first and the messages
                       go through Server A's balancer
  --ca-cert FILE       Trust this PEM CA for an https:// Server B (SERVER_B_CA_CERT)
  --json               Print one JSON object instead of the report
  -h, --help           Show this help`,
  options: {
    "server-b-url": { type: "string" },
    "ca-cert": { type: "string" },
    json: { type: "boolean" },
  },
  settingFlags: { "server-b-url": "SERVER_B_URL", "ca-cert": "SERVER_B_CA_CERT" },
  async run({ config, flags, signal }) {
    const json = flags.json === true;
    const report = await runChainTest(config, { signal, ...(json ? {} : { print: printOut }) });
    if (json) printOut(JSON.stringify(report));
    return report.ok ? 0 : 1;
  },
};
