import { displayHost, listen } from "../src/serve.ts";
import { ConfigError } from "../src/errors.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "./_assert.ts";
import { runCli } from "./_helpers.ts";

Deno.test("listen() serves, resolves the bound port and a URL to show", async () => {
  const controller = new AbortController();
  const { server, addr, url } = await listen(
    { hostname: "127.0.0.1", port: 0, portSetting: "HTTP_PORT", signal: controller.signal },
    () => new Response("ok"),
  );
  assert(addr.port > 0);
  assertEquals(url, `http://127.0.0.1:${addr.port}`);
  assertEquals(await (await fetch(url)).text(), "ok");
  controller.abort();
  await server.finished;
});

Deno.test("displayHost() shows 0.0.0.0 as 127.0.0.1 and IPv6 in brackets", () => {
  assertEquals(displayHost("0.0.0.0"), "127.0.0.1");
  assertEquals(displayHost("::1"), "[::1]");
  assertEquals(displayHost("10.0.0.5"), "10.0.0.5");
});

Deno.test("listen() on a port in use throws a ConfigError naming the setting and address", async () => {
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = busy.addr as Deno.NetAddr;
  const error = await assertRejects(
    () =>
      listen(
        { hostname: "127.0.0.1", port, portSetting: "SERVER_A_PORT" },
        () => new Response("never"),
      ),
    ConfigError,
  );
  assertMatch(
    error.message,
    new RegExp(`^SERVER_A_PORT: 127\\.0\\.0\\.1:${port} is already in use`),
  );
});

for (
  const [command, setting, flags] of [
    ["server-b", "HTTP_PORT", []],
    ["server-a", "SERVER_A_PORT", ["--transport", "http"]],
  ] as const
) {
  Deno.test(`mcpcomm ${command} on a port in use exits 2 with one line naming ${setting}`, async () => {
    using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = busy.addr as Deno.NetAddr;
    const result = await runCli(
      [command, ...flags, "--host", "127.0.0.1", "--port", String(port)],
      {
        env: { MCPCOMM_DB: ":memory:", SERVER_B_URL: "http://127.0.0.1:9" },
      },
    );
    assertEquals(result.code, 2, result.stderr);
    const lines = result.stderr.trim().split("\n").filter((l) => !l.startsWith("{"));
    assertEquals(lines, [
      `mcpcomm ${command}: ${setting}: 127.0.0.1:${port} is already in use (another process ` +
      `listens there); choose another port with ${setting}`,
    ]);
    assert(!result.stderr.includes("os error"), result.stderr);
  });
}

Deno.test("listen() on an address this machine does not have names the host setting", async () => {
  const error = await assertRejects(
    () =>
      listen(
        { hostname: "192.0.2.1", port: 0, portSetting: "HTTP_PORT", hostSetting: "HTTP_HOST" },
        () => new Response("never"),
      ),
    ConfigError,
  );
  assertMatch(error.message, /^HTTP_HOST: cannot listen on 192\.0\.2\.1:0/);
});
