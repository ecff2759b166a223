import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { BoundedEventStore } from "../../src/mcp/_event_store.ts";
import { assert, assertEquals } from "../_assert.ts";
import { openSession, postMcp, startMcpHttp } from "./_harness.ts";

const note = (n: number): JSONRPCMessage => ({
  jsonrpc: "2.0",
  method: "notifications/message",
  params: { level: "info", data: n },
});

async function replay(store: BoundedEventStore, after: string) {
  const sent: [string, JSONRPCMessage][] = [];
  const stream = await store.replayEventsAfter(after, {
    send: (id, message) => {
      sent.push([id, message]);
      return Promise.resolve();
    },
  });
  return { stream, sent };
}

Deno.test("BoundedEventStore replays a stream's later events, skipping priming events", async () => {
  const store = new BoundedEventStore();
  const a1 = await store.storeEvent("a", {} as JSONRPCMessage);
  const a2 = await store.storeEvent("a", note(1));
  await store.storeEvent("b", note(2));
  const a3 = await store.storeEvent("a", note(3));
  assertEquals(await store.getStreamIdForEventId(a2), "a");
  const { stream, sent } = await replay(store, a1);
  assertEquals(stream, "a");
  assertEquals(sent, [[a2, note(1)], [a3, note(3)]]);
  assertEquals((await replay(store, a3)).sent, []);
  assertEquals((await replay(store, "999")).stream, "");
  assertEquals(await store.getStreamIdForEventId("not-an-id"), undefined);
});

Deno.test("BoundedEventStore keeps at most maxEvents and maxBytes, oldest dropped first", async () => {
  const store = new BoundedEventStore({ maxEvents: 3 });
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push(await store.storeEvent("s", note(i)));
  assertEquals(store.size, 3);
  assertEquals(await store.getStreamIdForEventId(ids[1]!), undefined, "evicted");
  assertEquals((await replay(store, ids[2]!)).sent.map(([id]) => id), [ids[3], ids[4]]);

  const small = new BoundedEventStore({ maxBytes: 300 });
  for (let i = 0; i < 50; i++) await small.storeEvent("s", note(i));
  assert(small.bytes <= 300, `${small.bytes} bytes kept`);
  assert(small.size >= 1 && small.size < 50);
});

/** Reads a live SSE body event by event. */
function sseReader(response: Response) {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  return {
    events,
    async until(check: () => boolean) {
      while (!check()) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`stream ended after ${events.length} events`);
        parser.feed(decoder.decode(value, { stream: true }));
      }
    },
    cancel: () => reader.cancel(),
  };
}

Deno.test("createMcpHttpHandler() resumes a cut stream: GET with Last-Event-ID gets the missed answer", async () => {
  await using server = await startMcpHttp();
  const { url } = server;
  const session = await openSession(url);
  const headers = { "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" };

  const call = await postMcp(url, {
    jsonrpc: "2.0",
    id: 42,
    method: "tools/call",
    params: { name: "wait", arguments: { text: "resumed" } },
  }, headers);
  assertEquals(call.status, 200);
  const first = sseReader(call);
  await first.until(() => first.events.length >= 1);
  const priming = first.events[0]!;
  assert(priming.id, "the stream starts with a priming event carrying an ID");
  assertEquals(priming.data, "");
  await first.cancel();

  server.release();
  const resumed = await fetch(`${url}/mcp`, {
    headers: { ...headers, accept: "text/event-stream", "last-event-id": priming.id },
  });
  assertEquals(resumed.status, 200);
  const second = sseReader(resumed);
  await second.until(() => second.events.some((e) => e.data.includes('"id":42')));
  const answer = JSON.parse(second.events.find((e) => e.data.includes('"id":42'))!.data);
  assertEquals(answer.result.content[0].text, "released resumed");
  await second.cancel();

  const stale = await fetch(`${url}/mcp`, {
    headers: { ...headers, accept: "text/event-stream", "last-event-id": "123456789" },
  });
  assertEquals(stale.status, 400, "an event ID the store no longer has cannot be resumed");
  await stale.body?.cancel();
});
