import { displayHost, listen } from "../../src/http/serve.ts";
import { ConfigError } from "../../src/core/errors.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { runCli, startTestServerB } from "../_helpers.ts";
import { hasOpenssl, makeTestCerts } from "../_tls.ts";

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

/** Opens a raw connection, sends `sent` one byte every 200 ms, and reads until closed or 10 s. */
async function slowClient(port: number, sent: string): Promise<{ text: string; closed: boolean }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let open = true;
  const writing = (async () => {
    for (const byte of sent) {
      if (!open) return;
      await conn.write(new TextEncoder().encode(byte)).catch(() => open = false);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  let text = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"expired">((resolve) =>
    timer = setTimeout(resolve, 10_000, "expired")
  );
  const buffer = new Uint8Array(4096);
  let closed = false;
  try {
    for (;;) {
      const n = await Promise.race([conn.read(buffer), expired]);
      if (n === "expired") break;
      if (n === null) {
        closed = true;
        break;
      }
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
  } catch {
    closed = true;
  } finally {
    clearTimeout(timer);
    open = false;
    conn.close();
  }
  await writing;
  return { text, closed };
}

Deno.test("Server B with READ_TIMEOUT_SECONDS=1 answers a client that never ends its headers 408 and closes", async () => {
  await using server = await startTestServerB({ HTTP_HOST: "0.0.0.0", READ_TIMEOUT_SECONDS: "1" });
  const { text, closed } = await slowClient(
    Number(new URL(server.url).port),
    `GET /health HTTP/1.1\r\n${"X".repeat(200)}`,
  );
  assert(closed, "still connected after 10 s");
  assertMatch(text, /^HTTP\/1\.1 408 /);
});

Deno.test({
  name:
    "listen() with TLS ends TLS in the guard and closes a client that never starts the handshake",
  ignore: !await hasOpenssl(),
  fn: async () => {
    const certs = await makeTestCerts({ ips: ["127.0.0.1"], dns: ["localhost"] });
    const controller = new AbortController();
    try {
      const tls = {
        cert: await Deno.readTextFile(certs.cert),
        key: await Deno.readTextFile(certs.key),
      };
      const { server, url } = await listen({
        hostname: "0.0.0.0",
        port: 0,
        portSetting: "HTTP_PORT",
        tls,
        readTimeoutSeconds: 1,
        signal: controller.signal,
      }, (_request, info) => new Response(info.remoteAddr.hostname));
      const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(certs.caCert)] });
      try {
        assertEquals(await (await fetch(url, { client })).text(), "127.0.0.1");
      } finally {
        client.close();
      }
      const silent = await slowClient(server.addr.port, "");
      assert(silent.closed, "a client that sent nothing was still connected after 10 s");
      controller.abort();
      await server.finished;
    } finally {
      controller.abort();
      await Deno.remove(certs.dir, { recursive: true });
    }
  },
});

Deno.test("a bad --max-conns value is one line naming MAX_CONNECTIONS_PER_ADDRESS", async () => {
  const result = await runCli(["toolbox", "--port", "0", "--max-conns", "lots"]);
  assertEquals(result.code, 2, result.stderr);
  assertMatch(
    result.stderr,
    /Invalid setting MAX_CONNECTIONS_PER_ADDRESS="lots": expected a non-negative integer \(0 = off\)/,
  );
});
