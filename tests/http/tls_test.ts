import { ConfigError, UpstreamError } from "../../src/core/errors.ts";
import { createServerBClient } from "../../src/server_a/_b_client.ts";
import { readCaCerts, readServerTls } from "../../src/http/tls.ts";
import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "../_assert.ts";
import { runCli, startTestServerB } from "../_helpers.ts";
import { hasOpenssl, makeTestCerts, type TestCerts } from "../_tls.ts";

const opensslMissing = !await hasOpenssl();
if (opensslMissing) {
  Deno.stderr.writeSync(
    new TextEncoder().encode("tls_test.ts: TLS tests skipped: openssl is not installed\n"),
  );
}
const skip = opensslMissing ? " (skipped: no openssl)" : "";

async function withCerts(fn: (certs: TestCerts) => Promise<void>): Promise<void> {
  const certs = await makeTestCerts({ ips: ["127.0.0.1"], dns: ["localhost"] });
  try {
    await fn(certs);
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
}

/** Registers a test given fresh certificates; skipped, and named so, without openssl. */
function tlsTest(name: string, fn: (certs: TestCerts) => Promise<void>): void {
  Deno.test({ name: `${name}${skip}`, ignore: opensslMissing, fn: () => withCerts(fn) });
}

/** A Server B serving HTTPS with the test certificate. */
function startHttpsServerB(certs: TestCerts) {
  return startTestServerB({ TLS_CERT_FILE: certs.cert, TLS_KEY_FILE: certs.key });
}

tlsTest("readServerTls() reads the pair, or refuses with the setting named", async (certs) => {
  assertEquals(readServerTls({ TLS_CERT_FILE: undefined, TLS_KEY_FILE: undefined }), undefined);
  const tls = readServerTls({ TLS_CERT_FILE: certs.cert, TLS_KEY_FILE: certs.key });
  assertMatch(tls!.cert, /BEGIN CERTIFICATE/);
  assertMatch(tls!.key, /PRIVATE KEY/);
  assertThrows(
    () => readServerTls({ TLS_CERT_FILE: certs.cert, TLS_KEY_FILE: undefined }),
    ConfigError,
    "TLS_KEY_FILE (--tls-key) is not set",
  );
  assertThrows(
    () => readServerTls({ TLS_CERT_FILE: `${certs.dir}/nope.pem`, TLS_KEY_FILE: certs.key }),
    ConfigError,
    `Cannot read TLS_CERT_FILE "${certs.dir}/nope.pem"`,
  );
  assertThrows(
    () => readServerTls({ TLS_CERT_FILE: certs.key, TLS_KEY_FILE: certs.key }),
    ConfigError,
    "is not a PEM certificate",
  );
  assertThrows(
    () => readServerTls({ TLS_CERT_FILE: certs.cert, TLS_KEY_FILE: certs.cert }),
    ConfigError,
    "TLS_KEY_FILE",
  );
  assertEquals(readCaCerts({ SERVER_B_CA_CERT: undefined }), []);
  assertEquals(readCaCerts({ SERVER_B_CA_CERT: certs.caCert }), [
    await Deno.readTextFile(certs.caCert),
  ]);
});

tlsTest("startServerB() serves HTTPS that verifies only against the private CA", async (certs) => {
  await using b = await startHttpsServerB(certs);
  assertMatch(b.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const trusting = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(certs.caCert)] });
  try {
    const health = await fetch(`${b.url}/health`, { client: trusting });
    assertEquals(health.status, 200);
    assertEquals((await health.json()).status, "healthy");
  } finally {
    trusting.close();
  }
  await assertRejects(() => fetch(`${b.url}/health`), TypeError);
  const plain = await fetch(b.url.replace("https:", "http:") + "/health").then(
    (r) => r.body?.cancel(),
    (error) => error,
  );
  assert(plain instanceof TypeError, "plain HTTP to the HTTPS port must not get an answer");
});

tlsTest("startServerB() refuses a key that does not match the certificate", async (certs) => {
  await assertRejects(
    () => startTestServerB({ TLS_CERT_FILE: certs.cert, TLS_KEY_FILE: certs.otherKey }),
    ConfigError,
    "TLS_CERT_FILE and TLS_KEY_FILE are not a usable certificate and key",
  );
});

tlsTest(
  "createServerBClient() trusts caCerts and fails closed on a certificate that does not verify",
  async (certs) => {
    await using b = await startHttpsServerB(certs);
    const options = { url: b.url, timeoutMs: 5_000, attempts: 3, baseDelayMs: 10 };
    const good = createServerBClient({
      ...options,
      caCerts: [await Deno.readTextFile(certs.caCert)],
    });
    try {
      assertEquals((await good.health()).status, "healthy");
      assertEquals((await good.process({ message: "over TLS" })).status, "success");
    } finally {
      good.close();
    }
    for (
      const [what, caCerts] of [
        ["no CA", undefined],
        ["another CA", [await Deno.readTextFile(certs.otherCaCert)]],
      ] as const
    ) {
      const bad = createServerBClient({
        ...options,
        caCerts: caCerts ? [...caCerts] : undefined,
      });
      try {
        const error = await assertRejects(() => bad.process({ message: "x" }), UpstreamError);
        assertMatch(error.message, /TLS certificate that does not verify/, what);
        assertMatch(error.message, /UnknownIssuer/, what);
        assertMatch(error.message, /--ca-cert FILE \(SERVER_B_CA_CERT\)/, what);
        assertMatch(error.message, /refusing to talk to it/, what);
      } finally {
        bad.close();
      }
    }
    assertEquals(
      (await b.service.ledger.stats()).totalRequests,
      1,
      "only the trusted client got through",
    );
  },
);

tlsTest(
  "mcpcomm server-b --tls-cert/--tls-key and mcpcomm test --ca-cert over HTTPS",
  async (certs) => {
    await using b = await startHttpsServerB(certs);
    const ok = await runCli(["test", "--server-b-url", b.url, "--ca-cert", certs.caCert]);
    assertEquals(ok.code, 0, ok.stdout + ok.stderr);
    assertMatch(ok.stdout, /PROOF: Server A communicated with Server B successfully/);
    assertMatch(ok.stdout, new RegExp(`Server B at ${b.url.replaceAll(".", "\\.")}`));

    const untrusted = await runCli(["test", "--server-b-url", b.url, "--json"]);
    assertEquals(untrusted.code, 1);
    const report = JSON.parse(untrusted.stdout);
    assertEquals(report.ok, false);
    assertMatch(report.error, /Step 1 \(health\) failed: .*TLS certificate that does not verify/);

    const missingCa = await runCli(["test", "--server-b-url", b.url, "--ca-cert", "nope.pem"]);
    assertEquals(missingCa.code, 2);
    assertEquals(missingCa.stderr.trim().split("\n").length, 1, missingCa.stderr);
    assertMatch(missingCa.stderr, /Cannot read SERVER_B_CA_CERT "nope\.pem"/);

    const serverA = await runCli(["server-a", "--server-b-url", b.url, "--ca-cert", "nope.pem"]);
    assertEquals(serverA.code, 2);
    assertMatch(serverA.stderr, /Cannot read SERVER_B_CA_CERT "nope\.pem"/);

    const badServer = await runCli([
      "server-b",
      "--port",
      "0",
      "--tls-cert",
      certs.cert,
      "--tls-key",
      `${certs.dir}/missing.key`,
    ]);
    assertEquals(badServer.code, 2);
    assertEquals(badServer.stderr.trim().split("\n").length, 1, badServer.stderr);
    assertMatch(badServer.stderr, /Cannot read TLS_KEY_FILE ".*missing\.key"/);

    const help = await runCli(["server-b", "--help"]);
    assertMatch(help.stdout, /--tls-cert FILE/);
    assertMatch(help.stdout, /--tls-key FILE/);
  },
);
