import { HttpError } from "../../src/core/errors.ts";
import { newSessionId, SessionTable } from "../../src/mcp/sessions.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { openSession, startMcpHttp } from "./_harness.ts";
import { eventually } from "../_helpers.ts";

function table(maxSessions = 3) {
  let now = 0;
  const closed: string[] = [];
  const sessions = new SessionTable<string>({
    idleMs: 1000,
    maxSessions,
    now: () => now,
    close: (_value, id, reason) => {
      closed.push(`${id}:${reason}`);
      return Promise.resolve();
    },
  });
  return {
    sessions,
    closed,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

Deno.test("newSessionId() gives 40 hex digits, different every time", () => {
  const ids = new Set(Array.from({ length: 1000 }, newSessionId));
  assertEquals(ids.size, 1000);
  for (const id of ids) assert(/^[0-9a-f]{40}$/.test(id));
});

Deno.test("SessionTable.reserve() answers 503 with Retry-After past the cap", async () => {
  const { sessions, advance } = table(2);
  sessions.reserve()();
  sessions.add("a", "A");
  advance(400);
  const release = sessions.reserve();
  const error = assertThrows(() => sessions.reserve(), HttpError) as HttpError;
  assertEquals(error.status, 503);
  assertEquals(error.headers["retry-after"], "1", "the idle session expires within a second");
  release();
  sessions.reserve()();
  await sessions.closeAll();
});

Deno.test("SessionTable.sweep() closes sessions idle for idleMs, never one with an open stream", async () => {
  const { sessions, closed, advance } = table();
  const a = sessions.add("a", "A");
  const b = sessions.add("b", "B");
  sessions.add("c", "C");
  const streamDone = sessions.openStream(b);
  advance(600);
  sessions.get("c");
  advance(500);
  assertEquals(await sessions.sweep(), 1);
  assertEquals(closed, ["a:expired"]);
  assertEquals(sessions.get("a"), undefined);
  advance(2000);
  assertEquals(await sessions.sweep(), 1, "c expires; b has a stream open");
  streamDone();
  streamDone();
  assertEquals(b.streams, 0, "closing a stream twice counts once");
  advance(999);
  assertEquals(await sessions.sweep(), 0);
  advance(1);
  assertEquals(await sessions.sweep(), 1);
  assertEquals(sessions.size, 0);
  assertEquals(a.streams, 0);
});

Deno.test("SessionTable.closeAll() closes every session and refuses new ones", async () => {
  const { sessions, closed } = table();
  sessions.add("a", "A");
  sessions.add("b", "B");
  await sessions.closeAll();
  assertEquals(closed.sort(), ["a:closed", "b:closed"]);
  assertEquals(sessions.size, 0);
  assertThrows(() => sessions.reserve(), HttpError, "shutting down");
});

Deno.test("createMcpHttpHandler() forgets all of 1,000 abandoned sessions once they expire", async () => {
  await using server = await startMcpHttp({ MCP_SESSION_IDLE_MINUTES: "0.02" });
  for (let batch = 0; batch < 20; batch++) {
    await Promise.all(Array.from({ length: 50 }, () => openSession(server)));
  }
  assert(server.mcp.sessionCount > 0);
  assertEquals(server.servers.length, 1000);
  await eventually(() => server.mcp.sessionCount === 0, {
    what: "1,000 sessions to expire",
    timeoutMs: 60_000,
  });
  assert(server.servers.every((s) => !s.isConnected()), "every MCP server was closed");
});
