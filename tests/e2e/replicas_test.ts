/**
 * Two Server B and two Server A processes on one PostgreSQL ledger and one Redis, each pair behind
 * nginx (round robin): calls spread over the replicas, one replica of each is killed with SIGKILL
 * while calls run, the MCP session goes on on the other replica (its cut SSE stream resumed there
 * with `Last-Event-ID`), and afterwards the ledger holds every answered call exactly once and
 * every replica (the killed ones restarted) reports the same totals.
 * @module
 */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { assert, assertEquals } from "../_assert.ts";
import { eventually, freePort, hasProgram, readSse, readThenCut } from "../_helpers.ts";
import { redisMissing, startRedis } from "../_redis.ts";
import { POST_HEADERS } from "../mcp/_harness.ts";
import { type SpawnedServer, spawnServer } from "../_spawn.ts";
import { startNginx } from "../_nginx.ts";

const postgresHelper = new URL("../_postgres.ts", import.meta.url);

interface PostgresHelper {
  postgresSkipReason(): Promise<string | undefined>;
  startPostgres(): Promise<AsyncDisposable & { database(name: string): Promise<string> }>;
}

/** The PostgreSQL test helper, when this tree has the PostgreSQL ledger. */
async function postgres(): Promise<PostgresHelper | undefined> {
  try {
    await Deno.stat(new URL("../../src/ledger/postgres.ts", import.meta.url));
    await Deno.stat(postgresHelper);
  } catch {
    return undefined;
  }
  return await import(postgresHelper.href) as PostgresHelper;
}

const pg = await postgres();
const skipReason = redisMissing ??
  (!pg
    ? "this tree has no PostgreSQL ledger (src/ledger/postgres.ts)"
    : await pg.postgresSkipReason()) ??
  (!await hasProgram("nginx", ["-v"])
    ? "nginx is not installed (apt-get install nginx-light)"
    : undefined);

/** nginx round robin over two upstreams: `a` (Server A replicas) and `b` (Server B replicas). */
async function startBalancer(
  ports: { a: number[]; b: number[]; listenA: number; listenB: number },
) {
  const upstream = (name: string, list: number[]) =>
    `upstream ${name} {\n${
      list.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=2s;`).join("\n")
    }\n    keepalive 8;\n}`;
  const server = (port: number, name: string) =>
    `server {
    listen 127.0.0.1:${port};
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    proxy_buffering off;
    proxy_request_buffering off;
    proxy_read_timeout 120s;
    proxy_next_upstream error timeout;
    location / { proxy_pass http://${name}; }
}`;
  const nginx = await startNginx(
    `${upstream("a", ports.a)}
${upstream("b", ports.b)}
${server(ports.listenA, "a")}
${server(ports.listenB, "b")}
`,
    { prefix: "mcpcomm-replicas-nginx-", workerConnections: 256 },
  );
  await eventually(
    async () => (await Deno.connect({ hostname: "127.0.0.1", port: ports.listenA })).close(),
    { what: "nginx to listen", timeoutMs: 5_000 },
  );
  return nginx;
}

interface Replica {
  port: number;
  process: SpawnedServer;
}

async function start(role: "a" | "b", port: number, env: Record<string, string>): Promise<Replica> {
  const args = role === "b"
    ? ["server-b", "--host", "127.0.0.1", "--port", String(port)]
    : ["server-a", "--transport", "http", "--host", "127.0.0.1", "--port", String(port)];
  return { port, process: await spawnServer(args, { env }) };
}

async function kill(replica: Replica): Promise<void> {
  replica.process.child.kill("SIGKILL");
  await replica.process.stop();
}

/** How many requests to `path` a replica logged. */
function served(replica: Replica, path: string): number {
  return replica.process.lines.filter((line) =>
    line.includes(`"msg":"request"`) && line.includes(`"path":"${path}"`)
  ).length;
}

interface ToolResult {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content: { text?: string }[];
}

/** One tool call on `url` in a session of its own. */
async function callOnce(url: string, name: string, args: Record<string, unknown> = {}) {
  const client = new Client({ name: "replicas-check", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    const result = await client.callTool({ name, arguments: args }) as ToolResult;
    assert(!result.isError, JSON.stringify(result.content));
    return result.structuredContent ?? JSON.parse(result.content[0]?.text ?? "{}");
  } finally {
    await client.close();
  }
}

/** Resumes the stream after `lastEventId` at `url` until the answer to `id` comes back. */
function resume(url: string, session: string, lastEventId: string, id: number) {
  return eventually(async () => {
    const response = await fetch(url, {
      headers: {
        accept: "text/event-stream",
        "mcp-session-id": session,
        "mcp-protocol-version": "2025-11-25",
        "last-event-id": lastEventId,
      },
    });
    assertEquals(response.status, 200, await response.clone().text().catch(() => ""));
    const answer = (await readSse(response)).map((e) => JSON.parse(e.data || "{}"))
      .find((m) => m.id === id);
    return answer ?? false;
  }, { what: `the answer to ${id} on ${url}`, intervalMs: 50 });
}

Deno.test({
  name:
    `Two Server A and two Server B on one PostgreSQL and one Redis behind nginx survive SIGKILL${
      skipReason ? ` (skipped: ${skipReason})` : ""
    }`,
  ignore: skipReason !== undefined,
  fn: async () => {
    await using redis = await startRedis();
    await using db = await pg!.startPostgres();
    const ledgerUrl = await db.database("ledger");
    const [pa1, pa2, pb1, pb2, listenA, listenB] = Array.from({ length: 6 }, () => freePort());
    const common = {
      MCPCOMM_DB: ledgerUrl,
      MCPCOMM_REDIS: redis.url,
      MCP_SESSION_IDLE_MINUTES: "5",
      MOCK_DELAY_MS: "30",
      READ_TIMEOUT_SECONDS: "0",
      MAX_CONNECTIONS_PER_ADDRESS: "0",
    };
    const bEnv = { ...common, AI_PROVIDER: "mock" };
    const aEnv = { ...common, SERVER_B_URL: `http://127.0.0.1:${listenB}` };
    await using _balancer = await startBalancer({
      a: [pa1!, pa2!],
      b: [pb1!, pb2!],
      listenA: listenA!,
      listenB: listenB!,
    });
    const replicas: Replica[] = [];
    try {
      let [b1, b2] = await Promise.all([start("b", pb1!, bEnv), start("b", pb2!, bEnv)]);
      let [a1, a2] = await Promise.all([start("a", pa1!, aEnv), start("a", pa2!, aEnv)]);
      replicas.push(a1, a2, b1, b2);
      const mcpUrl = `http://127.0.0.1:${listenA}/mcp`;
      const transport = new StreamableHTTPClientTransport(new URL(mcpUrl));
      const client = new Client({ name: "replicas", version: "1.0.0" });
      await client.connect(transport);
      const session = transport.sessionId!;
      assert(session, "a 2025-era session through nginx");
      const answered: string[] = [];
      const send = async (message: string) => {
        const result = await client.callTool({
          name: "send_message_to_ai",
          arguments: { message },
        }) as ToolResult;
        // A call whose replica was killed under it may fail (nginx 502): it is not answered.
        if (result.isError) return false;
        assert(
          result.content[0]?.text?.includes(`You said: '${message}'`),
          result.content[0]?.text,
        );
        answered.push(message);
        return true;
      };

      for (let i = 0; i < 6; i++) assert(await send(`before ${i}`), `before ${i}`);
      for (const replica of [a1, a2]) assert(served(replica, "/mcp") > 0, "calls spread over A");
      for (const replica of [b1, b2]) {
        assert(served(replica, "/process") > 0, "calls spread over B");
      }

      // A call on a1 whose SSE stream is cut after its priming event; its answer goes to Redis.
      const cut = await fetch(`http://127.0.0.1:${pa1}/mcp`, {
        method: "POST",
        headers: {
          ...POST_HEADERS,
          "mcp-session-id": session,
          "mcp-protocol-version": "2025-11-25",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 4242,
          method: "tools/call",
          params: {
            name: "send_message_to_ai",
            arguments: { message: "cut stream" },
            _meta: { progressToken: "cut" },
          },
        }),
      });
      const [priming] = await readThenCut(cut, 1);
      assert(priming?.id, "a priming event with an ID");
      await resume(`http://127.0.0.1:${pa2}/mcp`, session, priming.id, 4242);

      // Calls in flight while one replica of each is killed.
      const inFlight = Array.from({ length: 4 }, (_, i) => send(`during ${i}`).catch(() => false));
      await new Promise((r) => setTimeout(r, 20));
      await Promise.all([kill(a1), kill(b1)]);
      await Promise.all(inFlight);

      // The cut stream resumes through nginx, on a2 (a1 is gone), from Redis.
      const resumed = await resume(mcpUrl, session, priming.id, 4242);
      assert(JSON.stringify(resumed.result).includes("You said: 'cut stream'"));
      answered.push("cut stream");

      // The session goes on, on the surviving replicas.
      for (let i = 0; i < 6; i++) assert(await send(`after ${i}`), `after ${i}`);
      assertEquals(transport.sessionId, session);
      await client.close();

      // The killed replicas come back on their ports: every replica reports the same totals.
      [a1, b1] = await Promise.all([start("a", pa1!, aEnv), start("b", pb1!, bEnv)]);
      replicas.push(a1, b1);
      const bStats = await Promise.all(
        [b1, b2].map((b) => callOnce(`http://127.0.0.1:${b.port}/mcp`, "get_ai_stats")),
      );
      assertEquals(bStats[1], bStats[0]);
      const aStats = await Promise.all(
        [a1, a2].map((a) => callOnce(`http://127.0.0.1:${a.port}/mcp`, "get_ai_usage_stats")),
      );
      assertEquals(aStats[1], aStats[0]);
      const bHealth = await Promise.all(
        [b1, b2].map(async (b) =>
          (await (await fetch(`http://127.0.0.1:${b.port}/health`)).json()).messagesProcessed
        ),
      );
      assertEquals(bHealth[1], bHealth[0]);

      // Every answered call is in both ledgers exactly once (an unanswered one may be there once).
      for (
        const [a, tool] of [[a2, "get_conversation_history"], [
          b2,
          "get_received_messages",
        ]] as const
      ) {
        const history = await callOnce(`http://127.0.0.1:${a.port}/mcp`, tool, { limit: 100 }) as {
          messages: { message: string }[];
        };
        const counts = new Map<string, number>();
        for (const { message } of history.messages) {
          counts.set(message, (counts.get(message) ?? 0) + 1);
        }
        for (const message of answered) assertEquals(counts.get(message), 1, `${tool}: ${message}`);
        for (const [message, count] of counts) assertEquals(count, 1, `${tool}: ${message}`);
        assert(
          history.messages.length <= answered.length + 4,
          `${tool}: ${history.messages.length}`,
        );
      }
      assert(answered.length >= 13, `answered ${answered.length}`);
      assertEquals((bStats[0] as { totalRequests: number }).totalRequests, bHealth[0]);
    } finally {
      await Promise.all(replicas.map((r) => r.process.stop()));
    }
  },
});
