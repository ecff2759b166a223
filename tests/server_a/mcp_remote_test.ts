/**
 * mcp-remote (code nobody here wrote, run with npx on the machine's Node), the stdio-to-HTTP
 * proxy that stdio-only clients use to reach a remote server, carries a v2 SDK stdio client to
 * Server A's `/mcp` with the bearer token: it lists the tools and calls one.
 * @module
 */
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { assert, assertEquals } from "../_assert.ts";
import { freePort, startTestServerB, tempDir } from "../_helpers.ts";
import { connectViaMcpRemote, MCP_REMOTE, mcpRemoteUnavailable } from "../_mcp_remote.ts";
import { npxEnv } from "../_npx.ts";
import { startOidcProvider } from "../fakes/oidc_provider.ts";
import { startHttpServerA } from "./_server_a.ts";

const TOKEN = "tok-McpRemote-5Rk8Vb2Qz7";

const reason = await mcpRemoteUnavailable();
const skipped = reason ? ` (SKIPPED: ${MCP_REMOTE} cannot run here: ${reason})` : "";

Deno.test({
  name: `mcp-remote carries a v2 stdio client to Server A's /mcp with the token${skipped}`,
  ignore: reason !== undefined,
  async fn() {
    await using b = await startTestServerB();
    await using a = await startHttpServerA({
      SERVER_B_URL: b.url,
      MCPCOMM_DB: ":memory:",
      MCPCOMM_AUTH_TOKEN: TOKEN,
    });
    const client = new Client({ name: "via-mcp-remote", version: "1.0.0" });
    await client.connect(
      new StdioClientTransport({
        command: "npx",
        args: [
          "-y",
          MCP_REMOTE,
          a.mcpUrl.href,
          "--transport",
          "http-only",
          "--header",
          `Authorization: Bearer ${TOKEN}`,
        ],
        env: npxEnv(),
        stderr: "ignore",
      }),
    );
    try {
      assertEquals(client.getServerVersion()?.name, "messenger-server");
      const { tools } = await client.listTools();
      assertEquals(tools.map((t) => t.name).sort(), [
        "get_ai_usage_stats",
        "get_conversation_history",
        "send_message_to_ai",
      ]);
      const result = await client.callTool({
        name: "send_message_to_ai",
        arguments: { message: "Through mcp-remote" },
      });
      assertEquals(result.isError, undefined, JSON.stringify(result));
      const first = result.content[0];
      assert(first?.type === "text" && first.text.includes("You said: 'Through mcp-remote'"));
      assertEquals((await a.ledger.stats()).totalRequests, 1);
    } finally {
      await client.close();
    }
  },
});

Deno.test({
  name: `mcp-remote reaches an OAuth-protected Server A through discovery alone${skipped}`,
  ignore: reason !== undefined,
  async fn() {
    const port = freePort();
    const resource = `http://127.0.0.1:${port}`;
    await using idp = await startOidcProvider({
      defaultResource: resource,
      authorizationCode: true,
    });
    await using b = await startTestServerB();
    await using a = await startHttpServerA({
      SERVER_A_PORT: String(port),
      SERVER_B_URL: b.url,
      MCPCOMM_DB: ":memory:",
      OAUTH_ISSUER: idp.issuer,
      OAUTH_RESOURCE: resource,
      OAUTH_REQUIRED_SCOPES: "mcp",
    });
    // The "browser": xdg-open (as `open` runs it) hands the URL to $BROWSER, which follows the
    // provider's redirects (it approves at once) to mcp-remote's loopback callback.
    const dir = await tempDir({ prefix: "mcp-remote-browser-" });
    const browser = `${dir}/browser`;
    await Deno.writeTextFile(
      browser,
      `#!/bin/sh\nexec curl -s -o /dev/null -L -b "${dir}/jar" -c "${dir}/jar" "$1"\n`,
    );
    await Deno.chmod(browser, 0o755);
    try {
      const client = await connectViaMcpRemote(a.mcpUrl.href, {}, { BROWSER: browser });
      try {
        const { tools } = await client.listTools();
        assert(tools.some((t) => t.name === "send_message_to_ai"));
      } finally {
        await client.close();
      }
      assertEquals([idp.registrations, idp.authorizations], [1, 1]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
