import { watchClient } from "../../src/http/watch_client.ts";
import { assert, assertEquals } from "../_assert.ts";

Deno.test("watchClient() aborts with the client's reason once a long request's client leaves", async () => {
  const seen = Promise.withResolvers<unknown>();
  const leave = new AbortController();
  await using server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (request) => {
    const client = watchClient(request);
    client.signal.addEventListener("abort", () => seen.resolve(client.signal.reason));
    setTimeout(() => leave.abort(), 30);
    return new Promise<Response>((resolve) =>
      client.signal.addEventListener("abort", () => {
        client.done();
        resolve(new Response("late"));
      })
    );
  });
  const answer = fetch(`http://127.0.0.1:${server.addr.port}/`, { signal: leave.signal });
  await answer.catch(() => {});
  const reason = await seen.promise;
  assert(reason !== undefined, "no reason");
});

Deno.test("watchClient() never aborts once done, even when the client leaves later", async () => {
  const request = new Request("http://localhost/");
  const client = watchClient(request);
  client.done();
  await new Promise((resolve) => setTimeout(resolve, 30));
  assertEquals(client.signal.aborted, false);
});
