import { HttpError } from "../../src/core/errors.ts";
import {
  errorResponse,
  isIpLiteral,
  isLoopbackHost,
  methodNotAllowed,
  pathOf,
  publicUrl,
  readBody,
  readJson,
  sseEvent,
} from "../../src/http/util.ts";
import { assertEquals, assertRejects } from "../_assert.ts";

function streamOf(
  chunks: Uint8Array[],
  onPull?: (index: number) => void,
): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      onPull?.(i);
      if (i >= chunks.length) return controller.close();
      controller.enqueue(chunks[i++]!);
    },
  }, { highWaterMark: 0 });
}

function post(body: BodyInit | null, headers: Record<string, string> = {}): Request {
  return new Request("http://b/process", { method: "POST", body, headers });
}

Deno.test("readBody() joins chunks up to the limit", async () => {
  const chunks = [new Uint8Array([1, 2]), new Uint8Array([3]), new Uint8Array([4, 5])];
  assertEquals(await readBody(post(streamOf(chunks)), 5), new Uint8Array([1, 2, 3, 4, 5]));
  assertEquals(await readBody(post(null), 5), new Uint8Array());
});

Deno.test("readBody() stops reading at the first chunk past the limit", async () => {
  let pulls = 0;
  const chunks = Array.from({ length: 100 }, () => new Uint8Array(10));
  const error = await assertRejects(
    () => readBody(post(streamOf(chunks, () => pulls++)), 25),
    HttpError,
  );
  assertEquals((error as HttpError).status, 413);
  assertEquals((error as HttpError).code, "payload_too_large");
  assertEquals(pulls, 3);
});

Deno.test("readBody() refuses a declared Content-Length over the limit without reading", async () => {
  let pulls = 0;
  const request = post(streamOf([new Uint8Array(1)], () => pulls++), { "content-length": "1000" });
  await assertRejects(() => readBody(request, 10), HttpError, "larger than 10 bytes");
  assertEquals(pulls, 0);
});

Deno.test("readJson() parses JSON and answers 400 invalid_json otherwise", async () => {
  assertEquals(await readJson(post('{"a":[1,"é"]}'), 100), { a: [1, "é"] });
  const error = await assertRejects(() => readJson(post("{"), 100), HttpError);
  assertEquals([(error as HttpError).status, (error as HttpError).code], [400, "invalid_json"]);
});

Deno.test("readJson() parses a body with a Content-Length the same way", async () => {
  const body = JSON.stringify({ text: "é".repeat(20) });
  const length = String(new TextEncoder().encode(body).byteLength);
  assertEquals(await readJson(post(body, { "content-length": length }), 100), {
    text: "é".repeat(20),
  });
  for (const bad of ["{", "", "[1,]"]) {
    const error = await assertRejects(
      () => readJson(post(bad, { "content-length": String(bad.length) }), 100),
      HttpError,
    );
    assertEquals([(error as HttpError).status, (error as HttpError).code], [400, "invalid_json"]);
  }
  const error = await assertRejects(
    () => readJson(post(body, { "content-length": length }), 40),
    HttpError,
    "larger than 40 bytes",
  );
  assertEquals((error as HttpError).status, 413);
});

Deno.test("pathOf() is the pathname new URL() gives, plain or not", () => {
  const urls = [
    "http://127.0.0.1:8000/process",
    "http://[::1]:8000/health/ready?verbose=1",
    "https://b.example/x-y_z~/",
    "http://h",
    "http://h/",
    "http://h//process",
    "http://h/a/../process",
    "http://h/./process",
    "http://h/%2e%2e/process",
    "http://h/proc%65ss",
    "http://h/a b",
    "http://h/ä",
    "http://h/a\\b",
    "http://h?x/process",
    "http://h#x/process",
    "http://h\\x/process",
    "http://user@h/x/process",
    "http://h/p?q#f",
  ];
  for (const url of urls) assertEquals(pathOf(url), new URL(url).pathname, url);
});

Deno.test("errorResponse() answers HttpError as itself and anything else as 500 without details", async () => {
  const known = errorResponse(new HttpError(418, "invalid_request", "short and stout"));
  assertEquals(known.status, 418);
  assertEquals(await known.json(), {
    error: { code: "invalid_request", message: "short and stout", retryable: false },
  });
  const logged: unknown[] = [];
  const log = {
    debug() {},
    info() {},
    warn() {},
    error: (...args: unknown[]) => logged.push(args),
  };
  const unknown = errorResponse(new Error("db password is hunter2"), log);
  assertEquals(unknown.status, 500);
  const text = await unknown.text();
  assertEquals(JSON.parse(text), {
    error: { code: "internal", message: "Internal server error", retryable: false },
  });
  assertEquals(text.includes("hunter2"), false);
  assertEquals(logged.length, 1);
});

Deno.test("methodNotAllowed() is a 405 with Allow", () => {
  const response = methodNotAllowed(["GET", "HEAD"]).toResponse();
  assertEquals(response.status, 405);
  assertEquals(response.headers.get("allow"), "GET, HEAD");
});

Deno.test("sseEvent() encodes an event name, an id and JSON data", () => {
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  assertEquals(decode(sseEvent({ text: "a\nb" })), 'data: {"text":"a\\nb"}\n\n');
  assertEquals(decode(sseEvent({ x: 1 }, "done", "7")), 'event: done\nid: 7\ndata: {"x":1}\n\n');
});

Deno.test("publicUrl() drops credentials, query and fragment", () => {
  assertEquals(publicUrl("http://u:p@host:11434/v1?key=k#f"), "http://host:11434/v1");
  assertEquals(publicUrl("https://api.openai.com/v1"), "https://api.openai.com/v1");
});

Deno.test("isLoopbackHost() counts only localhost and loopback IP literals", () => {
  const loopback = [
    "localhost",
    "LOCALHOST",
    "127.0.0.1",
    "127.1.2.3",
    "127.255.255.255",
    "::1",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "::ffff:127.0.0.1",
    "[::ffff:7f00:1]",
  ];
  for (const host of loopback) assertEquals(isLoopbackHost(host), true, host);
  const others = [
    "127.0.0.1.evil.com",
    "127.evil.com",
    "127.0.0.1.nip.io",
    "localhost.evil.com",
    "localhost.",
    "a.localhost",
    "127.0.0.256",
    "0127.0.0.1",
    "127.1",
    "::1%lo",
    "[::1",
    "::",
    "::ffff:10.0.0.1",
    "0.0.0.0",
    "10.0.0.1",
    "example.com",
    "",
  ];
  for (const host of others) assertEquals(isLoopbackHost(host), false, host);
});

Deno.test("isIpLiteral() knows IPv4 and IPv6 literals from DNS names that look like them", () => {
  for (const host of ["10.0.0.1", "0.0.0.0", "255.255.255.255", "::", "fd00::1", "[fd00::1]"]) {
    assertEquals(isIpLiteral(host), true, host);
  }
  for (
    const host of ["1.2.3.4.evil.com", "256.1.1.1", "1.2.3", "01.2.3.4", "[fd00::1", "a::b::c", "x"]
  ) {
    assertEquals(isIpLiteral(host), false, host);
  }
});
