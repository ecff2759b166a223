/**
 * The client command the conformance suite runs. The suite passes the scenario in
 * `MCP_CONFORMANCE_SCENARIO`, the tool calls some scenarios want in `MCP_CONFORMANCE_CONTEXT` and
 * the server URL as the last argument, and splits its command on spaces; this driver turns that
 * into the `mcpcomm client --exec` lines that do the scenario's work and runs `mcpcomm client`.
 * @module
 */
import { MAIN } from "../_helpers.ts";

/** The `--exec` lines for each scenario; any other scenario connects and lists tools. */
export const SCENARIO_COMMANDS: Readonly<Record<string, readonly string[]>> = {
  "initialize": ["tools"],
  "tools_call": ['call server1 add_numbers {"a": 2, "b": 3}'],
  "sse-retry": ["call server1 test_reconnection"],
  "request-metadata": ["tools"],
  "http-invalid-tool-headers": ["tools", 'call server1 valid_tool {"region": "us-west1"}'],
};

/** Runs `mcpcomm client --json` with `exec` against `url`; resolves its exit code and output. */
async function mcpcommClient(url: string, exec: readonly string[]) {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "client", "--json", ...exec.flatMap((e) => ["--exec", e]), url],
    stdin: "null",
    stderr: "inherit",
  }).output();
  const lines = new TextDecoder().decode(stdout);
  await Deno.stdout.write(stdout);
  return { code, outcomes: lines.split("\n").filter(Boolean).map((l) => JSON.parse(l)) };
}

/**
 * json-schema-2020-12-preservation: lists tools, then hands the focal tool's `inputSchema`, as
 * `mcpcomm client` received it, back to the echo tool.
 */
async function echoSchema(url: string): Promise<number> {
  const listed = await mcpcommClient(url, ["tools server1"]);
  const tools = (listed.outcomes.find((o) => o.command === "tools")?.results?.[0]?.value ??
    []) as { name: string; inputSchema: unknown }[];
  const focal = tools.find((t) => !/echo/i.test(t.name));
  const echo = tools.find((t) => /echo/i.test(t.name));
  if (!focal || !echo) return 1;
  const args = JSON.stringify({ schema: focal.inputSchema });
  return (await mcpcommClient(url, [`call server1 ${echo.name} ${args}`])).code;
}

if (import.meta.main) {
  const scenario = Deno.env.get("MCP_CONFORMANCE_SCENARIO") ?? "";
  const context = JSON.parse(Deno.env.get("MCP_CONFORMANCE_CONTEXT") ?? "{}") as {
    toolCalls?: { name: string; arguments: Record<string, unknown> }[];
  };
  const url = Deno.args.at(-1);
  if (!url) throw new Error(`No server URL given for scenario "${scenario}"`);
  if (scenario === "json-schema-2020-12-preservation") Deno.exit(await echoSchema(url));
  const exec = SCENARIO_COMMANDS[scenario] ??
    (context.toolCalls
      ? [
        "tools",
        ...context.toolCalls.map((c) => `call server1 ${c.name} ${JSON.stringify(c.arguments)}`),
      ]
      : ["tools"]);
  Deno.exit((await mcpcommClient(url, exec)).code);
}
