/**
 * The client command the conformance suite runs. The suite passes the scenario in
 * `MCP_CONFORMANCE_SCENARIO`, the tool calls some scenarios want in `MCP_CONFORMANCE_CONTEXT` and
 * the server URL as the last argument, and splits its command on spaces; this driver turns that
 * into the `mcpcomm client --exec` lines that do the scenario's work and runs `mcpcomm client`.
 * @module
 */
import { MAIN, tempDir } from "../_helpers.ts";

/** The `--exec` lines for each scenario; any other scenario connects and lists tools. */
export const SCENARIO_COMMANDS: Readonly<Record<string, readonly string[]>> = {
  "initialize": ["tools"],
  "tools_call": ['call server1 add_numbers {"a": 2, "b": 3}'],
  "sse-retry": ["call server1 test_reconnection"],
  "request-metadata": ["tools"],
  "http-invalid-tool-headers": ["tools", 'call server1 valid_tool {"region": "us-west1"}'],
  "auth/scope-step-up": ["tools", "call server1 test-tool {}"],
};

/** Flags some scenarios need: the DPoP scenarios' servers do not advertise DPoP themselves. */
const SCENARIO_FLAGS: Readonly<Record<string, readonly string[]>> = {
  "auth/dpop": ["--dpop"],
  "auth/dpop-nonce": ["--dpop"],
};

/**
 * Runs `mcpcomm client --json` with `exec` against `url` (or the servers of `extra` flags);
 * resolves its exit code and output. OAuth state goes to a directory of this run; the suite's
 * authorization servers approve without a user, so `--oauth-auto` follows their redirect.
 */
async function mcpcommClient(
  url: string | undefined,
  exec: readonly string[],
  extra: string[] = [],
) {
  const oauthDir = await tempDir({ prefix: "conformance-oauth-" });
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "client",
      "--json",
      "--oauth-dir",
      oauthDir,
      "--oauth-auto",
      "--client-metadata-url",
      "https://conformance-test.local/client-metadata.json",
      ...SCENARIO_FLAGS[Deno.env.get("MCP_CONFORMANCE_SCENARIO") ?? ""] ?? [],
      ...extra,
      ...exec.flatMap((e) => ["--exec", e]),
      ...(url ? [url] : []),
    ],
    stdin: "null",
    stderr: "inherit",
  }).output().finally(() => Deno.remove(oauthDir, { recursive: true }));
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

/** The client-credentials scenarios: the suite's credentials in a `--config` file's `oauth`. */
async function clientCredentials(url: string, context: Context): Promise<number> {
  const dir = await tempDir({ prefix: "conformance-cc-" });
  try {
    const oauth: Record<string, string> = { clientId: context.client_id! };
    if (context.private_key_pem) {
      await Deno.writeTextFile(`${dir}/key.pem`, context.private_key_pem);
      Object.assign(oauth, { privateKeyFile: `${dir}/key.pem`, authMethod: "private_key_jwt" });
    } else {
      Object.assign(oauth, { clientSecret: "${CC_SECRET}", authMethod: "client_secret_basic" });
    }
    await Deno.writeTextFile(
      `${dir}/servers.json`,
      JSON.stringify({ mcpServers: { server1: { url, oauth } } }),
    );
    Deno.env.set("CC_SECRET", context.client_secret ?? "unused");
    return (await mcpcommClient(undefined, ["tools"], ["--config", `${dir}/servers.json`])).code;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** auth/pre-registration: the suite's client in a `--config` file's `oauth` (no registration). */
async function preRegistered(url: string, context: Context): Promise<number> {
  const dir = await tempDir({ prefix: "conformance-pre-" });
  try {
    const oauth = {
      grant: "authorization_code",
      clientId: context.client_id!,
      clientSecret: "${PRE_SECRET}",
    };
    await Deno.writeTextFile(
      `${dir}/servers.json`,
      JSON.stringify({ mcpServers: { server1: { url, oauth } } }),
    );
    Deno.env.set("PRE_SECRET", context.client_secret ?? "unused");
    return (await mcpcommClient(undefined, ["tools"], ["--config", `${dir}/servers.json`])).code;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

interface Context {
  toolCalls?: { name: string; arguments: Record<string, unknown> }[];
  client_id?: string;
  client_secret?: string;
  private_key_pem?: string;
}

if (import.meta.main) {
  const scenario = Deno.env.get("MCP_CONFORMANCE_SCENARIO") ?? "";
  const context = JSON.parse(Deno.env.get("MCP_CONFORMANCE_CONTEXT") ?? "{}") as Context;
  const url = Deno.args.at(-1);
  if (!url) throw new Error(`No server URL given for scenario "${scenario}"`);
  if (scenario === "json-schema-2020-12-preservation") Deno.exit(await echoSchema(url));
  if (scenario.startsWith("auth/client-credentials")) {
    Deno.exit(await clientCredentials(url, context));
  }
  if (scenario === "auth/pre-registration") Deno.exit(await preRegistered(url, context));
  const exec = SCENARIO_COMMANDS[scenario] ??
    (context.toolCalls
      ? [
        "tools",
        ...context.toolCalls.map((c) => `call server1 ${c.name} ${JSON.stringify(c.arguments)}`),
      ]
      : ["tools"]);
  Deno.exit((await mcpcommClient(url, exec)).code);
}
