import { HttpError } from "../../src/core/errors.ts";
import { readBody, readJson } from "../../src/http/body.ts";
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
