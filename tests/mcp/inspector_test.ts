/**
 * The MCP Inspector's CLI (code nobody here wrote, run with npx on the machine's Node) lists and
 * calls tools on both servers over `/mcp` and over `/sse`, with and without the token.
 * @module
 */
import { startServerA } from "../../src/server_a/mod.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { startTestServerB, testConfig } from "../_helpers.ts";
import { INSPECTOR, inspector, inspectorUnavailable } from "../_npx.ts";

const TOKEN = "tok-Inspector-7Hq2Xw9Lc4";
const reason = await inspectorUnavailable();
const skipped = reason ? ` (SKIPPED: ${INSPECTOR} --cli cannot run here: ${reason})` : "";

interface Target {
  /** Base URL of the server. */
  url: string;
  tools: string[];
  call: { name: string; args: string[]; expect: RegExp };
}

const TRANSPORTS = [["http", "/mcp"], ["sse", "/sse"]] as const;

/** Lists and calls tools over both transports; with `token`, also checks refusal without it. */
async function exercise(target: Target, token?: string): Promise<void> {
  const auth = token ? ["--header", `Authorization: Bearer ${token}`] : [];
  await Promise.all(TRANSPORTS.map(async ([transport, path]) => {
    const where = `${transport} ${target.url}${path}`;
    const common = [`${target.url}${path}`, "--transport", transport];
    const [list, call, refused] = await Promise.all([
      inspector([...common, ...auth, "--method", "tools/list"]),
      inspector([
        ...common,
        ...auth,
        "--method",
        "tools/call",
        "--tool-name",
        target.call.name,
        ...target.call.args.flatMap((arg) => ["--tool-arg", arg]),
      ]),
      token ? inspector([...common, "--method", "tools/list"]) : undefined,
    ]);
    assertEquals(list.code, 0, `tools/list over ${where}: ${list.out}`);
    const listed = JSON.parse(list.out.slice(list.out.indexOf("{"), list.out.lastIndexOf("}") + 1));
    assertEquals(listed.tools.map((t: { name: string }) => t.name).sort(), target.tools, where);
    assertEquals(call.code, 0, `tools/call over ${where}: ${call.out}`);
    assertMatch(call.out, target.call.expect);
    assert(!/"isError": true/.test(call.out), call.out);
    if (refused) {
      assertEquals(refused.code, 1, `without the token over ${where}: ${refused.out}`);
      assertMatch(refused.out, /401|unauthorized|Unauthorized/);
      assert(!refused.out.includes(TOKEN), "the token is never echoed");
    }
  }));
}

const B_TOOLS = ["configure_ai_model", "get_ai_stats", "get_received_messages", "process_message"];
const A_TOOLS = ["get_ai_usage_stats", "get_conversation_history", "send_message_to_ai"];

for (const token of [undefined, TOKEN]) {
  const mode = token ? "with MCPCOMM_AUTH_TOKEN" : "without a token";

  Deno.test({
    name:
      `MCP Inspector CLI lists and calls Server B's tools over /mcp and /sse, ${mode}${skipped}`,
    ignore: reason !== undefined,
    async fn() {
      await using b = await startTestServerB(token ? { MCPCOMM_AUTH_TOKEN: token } : {});
      await exercise({
        url: b.url,
        tools: B_TOOLS,
        call: {
          name: "process_message",
          args: ["message=hello inspector"],
          expect: /You said: 'hello inspector'/,
        },
      }, token);
    },
  });

  Deno.test({
    name:
      `MCP Inspector CLI lists and calls Server A's tools over /mcp and /sse, ${mode}${skipped}`,
    ignore: reason !== undefined,
    async fn() {
      const env: Record<string, string> = token ? { MCPCOMM_AUTH_TOKEN: token } : {};
      await using b = await startTestServerB(env);
      const controller = new AbortController();
      const a = await startServerA(
        testConfig({ SERVER_A_HOST: "127.0.0.1", SERVER_A_PORT: "0", SERVER_B_URL: b.url, ...env }),
        { transport: "http", signal: controller.signal },
      );
      try {
        await exercise({
          url: a.url!,
          tools: A_TOOLS,
          call: {
            name: "send_message_to_ai",
            args: ["message=via server A"],
            expect: /You said: 'via server A'/,
          },
        }, token);
      } finally {
        controller.abort();
        await a.finished;
      }
    },
  });
}
