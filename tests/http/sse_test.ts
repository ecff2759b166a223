import { sseComment, sseEvent, sseText } from "../../src/http/sse.ts";
import { assertEquals } from "../_assert.ts";

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("sseEvent() encodes an event name, an id and JSON data", () => {
  assertEquals(decode(sseEvent({ text: "a\nb" })), 'data: {"text":"a\\nb"}\n\n');
  assertEquals(decode(sseEvent({ x: 1 }, "done", "7")), 'event: done\nid: 7\ndata: {"x":1}\n\n');
});

Deno.test("sseText() writes text as it is, one data: line per line", () => {
  assertEquals(
    decode(sseText("/messages?sessionId=a%20b", "endpoint")),
    "event: endpoint\ndata: /messages?sessionId=a%20b\n\n",
  );
  assertEquals(decode(sseText("a\nb")), "data: a\ndata: b\n\n");
});

Deno.test("sseComment() is a comment line clients ignore", () => {
  assertEquals(decode(sseComment("keepalive")), ": keepalive\n\n");
});
