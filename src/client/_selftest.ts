/**
 * `mcpcomm client --mode test`: the seed's automated checks against every connected server
 * (tools, filtering against `server://info`, calls, disabled tools, broadcast, add/remove).
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/client";
import { describeError } from "../core/mod.ts";
import { resultText } from "./format.ts";
import type { ServerRegistry } from "./_registry.ts";

/** One check's outcome. */
export interface CheckResult {
  /** The server checked, or `*` for checks across servers. */
  server: string;
  check: string;
  /** `skip` when the server does not offer what the check needs. */
  status: "pass" | "fail" | "skip";
  detail: string;
}

const SAMPLES: Record<string, [Record<string, unknown>, (text: string) => boolean]> = {
  echo: [{ message: "mcpcomm self-test" }, (t) => t.includes("mcpcomm self-test")],
  get_time: [{}, (t) => /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(t)],
  math_calc: [{ expression: "2 + 2 * 3" }, (t) => /= 8\b/.test(t)],
  list_files: [{ path: "." }, (t) => t.startsWith("Files in")],
};

class Checks {
  readonly results: CheckResult[] = [];
  constructor(private readonly onResult: (r: CheckResult) => void) {}

  async run(server: string, check: string, fn: () => Promise<string | { skip: string }>) {
    let result: CheckResult;
    try {
      const detail = await fn();
      result = typeof detail === "string"
        ? { server, check, status: "pass", detail }
        : { server, check, status: "skip", detail: detail.skip };
    } catch (error) {
      result = { server, check, status: "fail", detail: describeError(error) };
    }
    this.results.push(result);
    this.onResult(result);
  }
}

function expectOk(result: CallToolResult, check: (text: string) => boolean): string {
  const text = resultText(result);
  if (result.isError) throw new Error(`tool error: ${text}`);
  if (!check(text)) throw new Error(`unexpected answer: ${text.slice(0, 200)}`);
  return text.split("\n")[0]!.slice(0, 120);
}

/**
 * Runs every check; `onResult` sees each as it finishes. Resolves to all results.
 * @example
 * ```ts
 * const results = await runSelfTest(servers, (r) => printOut(`${r.status} ${r.check}`));
 * ```
 */
export async function runSelfTest(
  servers: ServerRegistry,
  onResult: (result: CheckResult) => void = () => {},
): Promise<CheckResult[]> {
  const checks = new Checks(onResult);
  if (servers.names.length === 0) {
    await checks.run(
      "*",
      "servers connected",
      () => Promise.reject(new Error("no server connected")),
    );
    return checks.results;
  }
  const toolsOf = new Map<string, string[]>();
  for (const name of servers.names) {
    let tools: string[] = [];
    await checks.run(name, "tools/list", async () => {
      tools = (await servers.tools(name)).map((t) => t.name);
      toolsOf.set(name, tools);
      return `${tools.length} tools: ${tools.join(", ") || "none"}`;
    });
    let available: string[] | undefined;
    await checks.run(name, "server://info matches tools/list", async () => {
      const resources = await servers.resources(name);
      if (!resources.some((r) => r.uri === "server://info")) {
        return { skip: "no server://info resource" };
      }
      const read = await servers.read(name, "server://info");
      const info = JSON.parse((read.contents[0] as { text?: string }).text ?? "{}");
      const enabled = [...(info.enabledTools ?? [])].sort();
      available = info.availableTools;
      if (JSON.stringify(enabled) !== JSON.stringify([...tools].sort())) {
        throw new Error(
          `server://info lists ${enabled.join(", ")}, tools/list ${tools.join(", ")}`,
        );
      }
      return `${info.name}: ${enabled.join(", ")}`;
    });
    for (const [tool, [args, check]] of Object.entries(SAMPLES)) {
      if (!tools.includes(tool)) continue;
      await checks.run(
        name,
        `call ${tool}`,
        async () => expectOk(await servers.call(name, tool, args), check),
      );
    }
    await checks.run(name, "disabled tool refused", async () => {
      const disabled = available?.find((t) => !tools.includes(t));
      if (!disabled) {
        return {
          skip: available ? "every tool is enabled" : "server does not list its available tools",
        };
      }
      const result = await servers.call(name, disabled, {});
      const text = resultText(result);
      if (!result.isError || !/not enabled/.test(text)) {
        throw new Error(`calling ${disabled} gave: ${text.slice(0, 200)}`);
      }
      return text;
    });
    await checks.run(name, "unknown tool refused", async () => {
      try {
        const result = await servers.call(name, "mcpcomm_no_such_tool", {});
        if (!result.isError) throw new Error("an unknown tool answered without error");
        return resultText(result).slice(0, 120);
      } catch (error) {
        if (error instanceof Error && error.message.startsWith("an unknown tool")) throw error;
        return `protocol error: ${describeError(error)}`;
      }
    });
  }

  const withEcho = servers.names.filter((n) => toolsOf.get(n)?.includes("echo"));
  await checks.run("*", "broadcast echo", async () => {
    if (withEcho.length === 0) return { skip: "no server offers echo" };
    const results = await servers.fanOut(
      (n) => servers.call(n, "echo", { message: "broadcast" }),
      withEcho,
    );
    const failed = results.filter((r) => !r.ok || r.value.isError);
    if (failed.length) throw new Error(`failed on ${failed.map((r) => r.server).join(", ")}`);
    return `answered by ${results.map((r) => r.server).join(", ")}`;
  });

  const first = servers.names[0]!;
  const summary = servers.servers().find((s) => s.name === first)!;
  await checks.run("*", "add and remove a server", async () => {
    const temp = `selftest-${crypto.randomUUID().slice(0, 8)}`;
    await servers.addLike(temp, first);
    try {
      if (!servers.names.includes(temp)) throw new Error(`${temp} missing after add`);
      await servers.tools(temp);
    } finally {
      await servers.remove(temp);
    }
    if (servers.names.includes(temp)) throw new Error(`${temp} still listed after remove`);
    return `re-connected ${summary.target} as ${temp}, listed its tools, removed it`;
  });
  return checks.results;
}
