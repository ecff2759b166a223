/**
 * Two Server A replicas (`--transport http`, in this process) on one real Redis behind a
 * round-robin "balancer" (the v2 SDK client's `fetch`): a 2025-era session goes on whichever
 * replica a request lands on, and a DELETE on either ends it on both.
 * @module
 */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { assert, assertEquals } from "../_assert.ts";
import { startTestServerB } from "../_helpers.ts";
import { redisMissing, startRedis } from "../_redis.ts";
import { openSession, postMcp } from "../mcp/_harness.ts";
import { startHttpServerA, type ToolAnswer } from "./_server_a.ts";

const skipped = redisMissing ? ` (skipped: ${redisMissing})` : "";

Deno.test({
  name: `Server A replicas on one Redis serve one 2025-era session to an SDK client${skipped}`,
  ignore: redisMissing !== undefined,
  fn: async () => {
    await using redis = await startRedis({ password: "replica-pass-1234" });
    await using b = await startTestServerB();
    const env = { SERVER_B_URL: b.url, MCPCOMM_DB: ":memory:", MCPCOMM_REDIS: redis.url };
    await using a1 = await startHttpServerA(env);
    await using a2 = await startHttpServerA(env);
    const replicas = [a1.url!, a2.url!];
    const landed: string[] = [];
    let turn = 0;
    const balance = (input: string | URL | Request, init?: RequestInit) => {
      const target = replicas[turn++ % replicas.length]!;
      const url = new URL(input instanceof Request ? input.url : input);
      const rewritten = `${target}${url.pathname}${url.search}`;
      landed.push(target);
      return fetch(rewritten, init);
    };
    const transport = new StreamableHTTPClientTransport(a1.mcpUrl, { fetch: balance });
    const client = new Client({ name: "balanced", version: "1.0.0" });
    await client.connect(transport);
    try {
      assertEquals(client.getProtocolEra(), "legacy");
      const sessionId = transport.sessionId;
      assert(sessionId, "a 2025-era session");
      for (const message of ["one", "two", "three"]) {
        const answer = await client.callTool({
          name: "send_message_to_ai",
          arguments: { message },
        }) as ToolAnswer;
        assert(!answer.isError, JSON.stringify(answer));
        assert(
          answer.content[0]?.text?.includes(`You said: '${message}'`),
          answer.content[0]?.text,
        );
      }
      assertEquals(transport.sessionId, sessionId);
      assert(landed.includes(replicas[0]!) && landed.includes(replicas[1]!), landed.join(" "));
      assertEquals(
        (await a1.ledger.stats()).totalRequests + (await a2.ledger.stats()).totalRequests,
        3,
      );
      await transport.terminateSession();
      for (const url of replicas) {
        const gone = await postMcp(url, { jsonrpc: "2.0", id: 9, method: "ping" }, {
          "mcp-session-id": sessionId,
        });
        assertEquals(gone.status, 404, url);
        await gone.body?.cancel();
      }
    } finally {
      await client.close();
    }
    // Raw HTTP: a session opened on one replica answers tools/list on the other.
    const id = await openSession(replicas[1]!);
    const listed = await postMcp(replicas[0]!, { jsonrpc: "2.0", id: 2, method: "tools/list" }, {
      "mcp-session-id": id,
    });
    assertEquals(listed.status, 200);
    assert((await listed.text()).includes("send_message_to_ai"));
  },
});
