/**
 * Pipelines (the seed's chain of responsibility): a tool that passes a message through upstream
 * tools in order, each step's text output becoming the next step's input.
 * Configured by the `PIPELINES` setting: `NAME=TOOL[:ARG]>TOOL[:ARG]...`, several separated by `;`,
 * where TOOL is a namespaced gateway tool (`calc_math_calc`) and ARG the argument that receives
 * the text (default: the tool's first required string argument).
 * @module
 */
import type { CallToolResult, Tool } from "@modelcontextprotocol/client";
import { UsageError } from "../core/mod.ts";
import { errorResult } from "../mcp/mod.ts";

/**
 * What a gateway call forwards from the downstream request: its cancellation signal, a way to
 * send it notifications (progress) and its `_meta` (the progress token).
 */
export interface CallForwarding {
  signal: AbortSignal;
  sendNotification(
    notification: { method: string; params?: Record<string, unknown> },
  ): Promise<void>;
  _meta?: { progressToken?: string | number | undefined; [key: string]: unknown } | undefined;
  /** Sends a request to the downstream client within the call (sampling, elicitation, roots). */
  sendRequest?(request: { method: string; params?: Record<string, unknown> }): Promise<unknown>;
  /**
   * Who asked: the call's `Authorization` header (empty without one). A call held for input
   * answers only retries from the same caller.
   */
  caller?: string;
}

/** One step of a pipeline. */
export interface PipelineStep {
  tool: string;
  /** The argument that receives the text; found from the tool's input schema when absent. */
  arg?: string;
}

/** A configured pipeline. */
export interface Pipeline {
  name: string;
  steps: PipelineStep[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Parses the `PIPELINES` setting; throws {@linkcode UsageError} naming the bad part.
 * @example
 * ```ts
 * parsePipelines("calc_then_echo=calc_math_calc>files_echo:message");
 * // [{ name: "calc_then_echo", steps: [{ tool: "calc_math_calc" }, { tool: "files_echo", arg: "message" }] }]
 * ```
 */
export function parsePipelines(text: string | undefined): Pipeline[] {
  const out: Pipeline[] = [];
  for (const item of (text ?? "").split(";").map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf("=");
    const name = item.slice(0, eq).trim();
    if (eq < 0 || !NAME.test(name)) {
      throw new UsageError(`Invalid pipeline "${item}": expected NAME=TOOL>TOOL...`);
    }
    const steps = item.slice(eq + 1).split(">").map((s) => s.trim());
    if (steps.length === 0 || steps.some((s) => !/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/.test(s))) {
      throw new UsageError(`Invalid pipeline "${item}": steps are TOOL or TOOL:ARG separated by >`);
    }
    if (out.some((p) => p.name === name)) {
      throw new UsageError(`Pipeline "${name}" is defined twice`);
    }
    out.push({
      name,
      steps: steps.map((s) => {
        const [tool, arg] = s.split(":");
        return arg ? { tool: tool!, arg } : { tool: tool! };
      }),
    });
  }
  return out;
}

/** The argument of `tool` that takes the text: its first required string, else its first string. */
export function textArgument(tool: Tool): string | undefined {
  const schema = tool.inputSchema as {
    properties?: Record<string, { type?: unknown }>;
    required?: string[];
  };
  const strings = Object.entries(schema.properties ?? {})
    .filter(([, p]) => p.type === "string")
    .map(([name]) => name);
  return strings.find((s) => schema.required?.includes(s)) ?? strings[0];
}

function textOf(result: CallToolResult): string {
  return (result.content ?? []).flatMap((c) => c.type === "text" ? [c.text] : []).join("\n");
}

/** What {@linkcode runPipeline} needs from the gateway. */
export interface PipelineDeps {
  tools(): Map<string, { tool: Tool }>;
  call(name: string, args: Record<string, unknown>): Promise<CallToolResult | undefined>;
}

/**
 * Runs `message` through the steps. Stops at the first failing step with a tool error naming
 * it. Reports progress (`step / steps`) when the caller asked for it.
 */
export async function runPipeline(
  pipeline: Pipeline,
  message: string,
  deps: PipelineDeps,
  extra: CallForwarding,
): Promise<CallToolResult> {
  const token = extra._meta?.progressToken;
  const trace: { step: number; tool: string; output: string }[] = [];
  let text = message;
  for (const [index, step] of pipeline.steps.entries()) {
    extra.signal.throwIfAborted();
    const label = `Pipeline ${pipeline.name} step ${index + 1} (${step.tool})`;
    const entry = deps.tools().get(step.tool);
    if (!entry) return errorResult(`${label}: the tool is not available (is its upstream down?)`);
    const arg = step.arg ?? textArgument(entry.tool);
    if (!arg) {
      return errorResult(
        `${label}: cannot tell which argument takes the text; write ${step.tool}:ARG`,
      );
    }
    const result = await deps.call(step.tool, { [arg]: text });
    if (!result) return errorResult(`${label}: the tool is not available`);
    if (result.isError) return errorResult(`${label} failed: ${textOf(result)}`);
    text = textOf(result);
    trace.push({ step: index + 1, tool: step.tool, output: text });
    if (token !== undefined) {
      await extra.sendNotification({
        method: "notifications/progress",
        params: {
          progressToken: token,
          progress: index + 1,
          total: pipeline.steps.length,
          message: `${step.tool} done`,
        },
      }).catch(() => {});
    }
  }
  return {
    content: [{ type: "text", text }],
    structuredContent: { pipeline: pipeline.name, input: message, output: text, steps: trace },
  };
}
