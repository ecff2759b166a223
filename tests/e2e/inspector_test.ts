/**
 * The acceptance check: the MCP Inspector in CLI mode, given the Claude-Desktop-style
 * config from `claude_desktop_config.example.json`, spawns `mcpcomm server-a`, lists its three
 * tools and gets Server B's answer from `send_message_to_ai`.
 * @module
 */
import { printError } from "../../src/core/log.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { baseEnv, tempDirSync } from "../_helpers.ts";
import { spawnServer } from "../_spawn.ts";

/** The Inspector version the test pins. */
const INSPECTOR = "@modelcontextprotocol/inspector@1.0.3";
const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

async function npx(args: string[], cwd: string, timeoutMs: number) {
  const output = await new Deno.Command("npx", {
    args: ["-y", INSPECTOR, ...args],
    cwd,
    env: { ...baseEnv(), NO_COLOR: "1", npm_config_update_notifier: "false" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Why the Inspector cannot run here (npx missing or the package not fetchable), or `undefined`. */
async function inspectorUnavailable(): Promise<string | undefined> {
  try {
    const probe = await npx(["--cli", "--help"], tempDirSync(), 240_000);
    if (probe.code === 0) return undefined;
    return `npx could not run ${INSPECTOR}: ${probe.stderr.trim().split("\n").slice(-3).join(" ")}`;
  } catch (error) {
    return `npx could not run ${INSPECTOR}: ${error instanceof Error ? error.message : error}`;
  }
}

const unavailable = await inspectorUnavailable();
if (unavailable) printError(`SKIPPING the MCP Inspector test: ${unavailable}`);

/** The example config with the placeholders made real: this Deno, this clone, this Server B. */
function desktopConfig(serverBUrl: string): string {
  const example = JSON.parse(
    Deno.readTextFileSync(`${ROOT}/claude_desktop_config.example.json`),
  );
  const entry = example.mcpServers["messenger-server-from-source"];
  assertEquals(entry.command, "deno");
  const config = {
    mcpServers: {
      "messenger-server": {
        command: Deno.execPath(),
        args: (entry.args as string[]).map((a) => a.replace("/absolute/path/to/mcpcomm", ROOT)),
        env: { ...entry.env, SERVER_B_URL: serverBUrl },
      },
    },
  };
  const dir = tempDirSync();
  Deno.writeTextFileSync(`${dir}/claude_desktop_config.json`, JSON.stringify(config, null, 2));
  return dir;
}

Deno.test({
  name: unavailable
    ? `MCP Inspector CLI (SKIPPED: ${unavailable})`
    : `MCP Inspector CLI (${INSPECTOR}) lists messenger-server's tools and gets Server B's answer`,
  ignore: unavailable !== undefined,
  fn: async (t) => {
    await using serverB = await spawnServer(["server-b", "--host", "127.0.0.1", "--port", "0"], {
      env: { AI_PROVIDER: "mock" },
    });
    const dir = desktopConfig(serverB.url);
    const base = [
      "--cli",
      "--config",
      `${dir}/claude_desktop_config.json`,
      "--server",
      "messenger-server",
    ];

    await t.step("tools/list shows the three tools", async () => {
      const out = await npx([...base, "--method", "tools/list"], dir, 120_000);
      assertEquals(out.code, 0, out.stdout + out.stderr);
      const { tools } = JSON.parse(out.stdout) as {
        tools: { name: string; inputSchema: unknown }[];
      };
      assertEquals(tools.map((tool) => tool.name).sort(), [
        "get_ai_usage_stats",
        "get_conversation_history",
        "send_message_to_ai",
      ]);
    });

    await t.step("tools/call send_message_to_ai returns Server B's answer", async () => {
      const out = await npx(
        [
          ...base,
          "--method",
          "tools/call",
          "--tool-name",
          "send_message_to_ai",
          "--tool-arg",
          "message=What is Python?",
        ],
        dir,
        120_000,
      );
      assertEquals(out.code, 0, out.stdout + out.stderr);
      const result = JSON.parse(out.stdout) as {
        isError?: boolean;
        content: { text: string }[];
        structuredContent: { model: string; status: string };
      };
      assert(!result.isError, out.stdout);
      assertMatch(result.content[0]!.text, /^\[MOCK RESPONSE #1\] You said: 'What is Python\?'/);
      assertEquals(result.structuredContent.model, "mock-model");
      assertEquals(result.structuredContent.status, "success");
    });

    assertEquals((await serverB.stop()).code, 0);
  },
});
