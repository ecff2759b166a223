import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { freePort, startTestServerB, tempFile } from "../_helpers.ts";
import { type FakeClient, startOidcProvider } from "../fakes/oidc_provider.ts";
import { startOAuthServerB } from "../oauth/_setup.ts";
import { setLogLevel } from "../../src/core/log.ts";
import { UsageError } from "../../src/core/errors.ts";
import { parseServersFile } from "../../src/mcp/target_config.ts";
import type { MachineOAuthProvider } from "../../src/oauth/machine.ts";
import { startGateway } from "./_gateway.ts";
import { startHttpServerA } from "./_server_a.ts";

/** A real OpenID provider and a Server B (the upstream) that takes only its tokens with scope `ai`. */
async function setup() {
  setLogLevel("error");
  const s = await startOAuthServerB("ai", { OAUTH_CLOCK_TOLERANCE_SECONDS: "0" });
  const { b } = s;
  return {
    ...s,
    /** The gateway's upstream `b` from a servers file whose `oauth` is `oauth`. */
    upstreams(oauth: Record<string, string>, env: Record<string, string> = {}) {
      const file = JSON.stringify({ mcpServers: { b: { url: `${b.url}/mcp`, oauth } } });
      return parseServersFile(file, "servers.json", env);
    },
  };
}

type Answer = { isError?: boolean; content?: unknown };

Deno.test("gateway upstream OAuth: discovery from the 401, one cached token, one renewal and retry after the upstream's 401", async () => {
  await using s = await setup();
  const secret = s.idp.basic.secret;
  const upstreams = s.upstreams(
    { clientId: s.idp.basic.id, clientSecret: "${B_SECRET}", scope: "ai" },
    { B_SECRET: secret },
  );
  await using g = await startGateway(upstreams);
  const call = async () =>
    (await g.client.callTool({ name: "b_get_ai_stats", arguments: {} })) as Answer;
  for (let i = 0; i < 3; i++) assert(!(await call()).isError);
  assertEquals(s.idp.tokenRequests, 1, "one token for the session and every call");
  const provider = (upstreams[0]!.target as { oauth: MachineOAuthProvider }).oauth;
  provider.invalidateCredentials("discovery");
  assertEquals(
    provider.clientInformation().issuer,
    s.idp.issuer,
    "the credentials stay pinned to the authorization server that issued the first token, even when discovery runs again",
  );
  await s.idp.rotate();
  // A token of the new key makes Server B fetch the JWKS again, which lists only that key now.
  const fresh = await s.idp.token(s.idp.basic, { scope: "ai" });
  const seen = await fetch(`${s.b.url}/models`, { headers: { authorization: `Bearer ${fresh}` } });
  await seen.body?.cancel();
  assertEquals(seen.status, 200);
  const before = s.idp.tokenRequests;
  const answer = await call();
  assert(!answer.isError, JSON.stringify(answer));
  assertEquals(s.idp.tokenRequests - before, 1, "the 401: exactly one new token, then the retry");
});

Deno.test("gateway upstream OAuth: client_secret_post and private_key_jwt with a token URL", async (t) => {
  await using s = await setup();
  const keyFile = await tempFile({ suffix: ".pem" });
  await Deno.writeTextFile(keyFile, s.idp.privateKeyJwt.privateKeyPem);
  const cases: [string, Record<string, string>][] = [
    ["client_secret_post", {
      clientId: s.idp.post.id,
      clientSecret: s.idp.post.secret,
      authMethod: "client_secret_post",
    }],
    ["private_key_jwt", { clientId: s.idp.privateKeyJwt.id, privateKeyFile: keyFile }],
  ];
  try {
    for (const [name, oauth] of cases) {
      await t.step(name, async () => {
        await using g = await startGateway(
          s.upstreams({ ...oauth, tokenUrl: s.idp.tokenUrl, scope: "ai" }),
        );
        const answer = await g.client.callTool({ name: "b_get_ai_stats", arguments: {} });
        assert(!answer.isError, JSON.stringify(answer));
      });
    }
  } finally {
    await Deno.remove(keyFile);
  }
});

Deno.test("gateway upstream OAuth: a short-lived token is renewed before it expires, calls go on", async () => {
  await using s = await setup();
  const short: FakeClient = s.idp.shortLived;
  await using g = await startGateway(
    s.upstreams({ clientId: short.id, clientSecret: short.secret!, scope: "ai" }),
  );
  const call = async () =>
    (await g.client.callTool({ name: "b_get_ai_stats", arguments: {} })) as Answer;
  const first = await call();
  assert(!first.isError, JSON.stringify(first));
  const before = s.idp.tokenRequests;
  await new Promise((resolve) => setTimeout(resolve, 3200));
  const answer = await call();
  assert(!answer.isError, JSON.stringify(answer));
  assert(s.idp.tokenRequests > before, "a new token after the first one expired");
});

Deno.test("servers file oauth: bad objects are one-line errors naming the JSON path, never the secret", () => {
  const file = (oauth: unknown) =>
    JSON.stringify({ mcpServers: { b: { url: "http://127.0.0.1:1/mcp", oauth } } });
  const cases: [unknown, string][] = [
    [{ clientId: "a" }, "servers.json: mcpServers.b.oauth.clientSecret: is required for"],
    [{ clientSecret: "s" }, "servers.json: mcpServers.b.oauth.clientId: is required"],
    [{ clientId: "a", clientSecret: "${NOPE}" }, "mcpServers.b.oauth.clientSecret uses ${NOPE}"],
    [{ clientId: "a", clientSecret: "s", color: "x" }, "mcpServers.b.oauth.color: unknown key"],
    [{ clientId: "a", authMethod: "private_key_jwt" }, "oauth.privateKeyFile: is required"],
    [{ clientId: "a", privateKeyFile: "/no/such.pem" }, "cannot use /no/such.pem"],
    [{ clientId: "a", clientSecret: "s", tokenUrl: "ftp://x" }, "oauth.tokenUrl: expected an http"],
  ];
  for (const [oauth, expected] of cases) {
    const error = assertThrows(() => parseServersFile(file(oauth), "servers.json", {}), UsageError);
    assert(error.message.includes(expected), `${error.message} should say ${expected}`);
  }
  const secret = "s3cret-value-not-to-show";
  const error = assertThrows(
    () => parseServersFile(file({ clientId: "a", clientSecret: secret, x: 1 }), "f.json", {}),
    UsageError,
  );
  assert(!error.message.includes(secret));
});

Deno.test("gateway upstream OAuth: the downstream client's token never reaches the upstream, the gateway's own does", async () => {
  setLogLevel("error");
  const [portA, portB] = [freePort(), freePort()];
  const [resourceA, resourceB] = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`];
  await using idp = await startOidcProvider({ defaultResource: resourceB });
  await using b = await startTestServerB({
    OAUTH_ISSUER: idp.issuer,
    OAUTH_RESOURCE: resourceB,
    OAUTH_REQUIRED_SCOPES: "ai",
  });
  // Server B behind a recording reverse proxy at its public URL.
  const seen: (string | null)[] = [];
  await using _proxy = Deno.serve({ hostname: "127.0.0.1", port: portB, onListen() {} }, (req) => {
    seen.push(req.headers.get("authorization"));
    const url = new URL(req.url);
    return fetch(new Request(`${b.url}${url.pathname}${url.search}`, req));
  });
  const file = await tempFile({ suffix: ".json" });
  const oauth = { clientId: idp.basic.id, clientSecret: idp.basic.secret, scope: "ai" };
  await Deno.writeTextFile(
    file,
    JSON.stringify({ mcpServers: { b: { url: `${resourceB}/mcp`, oauth } } }),
  );
  try {
    await using a = await startHttpServerA({
      SERVER_A_PORT: String(portA),
      SERVER_B_URL: b.url,
      MCPCOMM_DB: ":memory:",
      OAUTH_ISSUER: idp.issuer,
      OAUTH_RESOURCE: resourceA,
      UPSTREAMS_FILE: file,
    });
    const downstream = await idp.token(idp.basic, { resource: resourceA });
    const client = new Client({ name: "downstream", version: "0" });
    await client.connect(
      new StreamableHTTPClientTransport(a.mcpUrl, {
        requestInit: { headers: { authorization: `Bearer ${downstream}` } },
      }),
    );
    try {
      const answer = await client.callTool({ name: "b_get_ai_stats", arguments: {} });
      assert(!answer.isError, JSON.stringify(answer));
    } finally {
      await client.close();
    }
    assert(seen.length > 0, "the upstream was called");
    assert(!seen.some((h) => h?.includes(downstream)), "no downstream token upstream");
    assert(seen.some((h) => /^Bearer \S+$/.test(h ?? "")), "the gateway's own token");
  } finally {
    await Deno.remove(file);
  }
});
