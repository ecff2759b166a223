import {
  authenticatorFor,
  bearerToken,
  guardOf,
  requireBearer,
  tokensMatch,
  warnIfExposed,
} from "../../src/http/auth.ts";
import { ConfigError, HttpError } from "../../src/core/errors.ts";
import { createLogger, setLogSink } from "../../src/core/log.ts";
import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "../_assert.ts";
import { assertBearerChallenge, parseChallenge } from "../_helpers.ts";

const TOKEN = "tok-Ab3Cd5Ef7Gh9Ij1Kl";

const withAuth = (value?: string) =>
  new Request("http://b/process", value === undefined ? {} : { headers: { authorization: value } });

Deno.test("requireBearer() accepts the right token and refuses others with 401", async (t) => {
  await t.step("the right token passes, the scheme in any case", () => {
    requireBearer(withAuth(`Bearer ${TOKEN}`), TOKEN);
    requireBearer(withAuth(`bearer ${TOKEN}`), TOKEN);
  });
  await t.step("no token setting: everything passes", () => {
    requireBearer(withAuth(), undefined);
  });
  for (
    const [name, header, problem] of [
      ["missing", undefined, "missing"],
      ["wrong", `Bearer ${TOKEN}x`, "invalid"],
      ["a prefix of it", `Bearer ${TOKEN.slice(0, -1)}`, "invalid"],
      ["empty", "Bearer ", "missing"],
      ["Basic", `Basic ${TOKEN}`, "missing"],
      ["two tokens", `Bearer ${TOKEN} ${TOKEN}`, "missing"],
    ] as const
  ) {
    await t.step(`${name}: 401 naming the ${problem} token, without it in the answer`, async () => {
      const error = assertThrows(() => requireBearer(withAuth(header), TOKEN), HttpError);
      const response = (error as HttpError).toResponse();
      assertBearerChallenge(response, problem);
      assert(!response.headers.get("www-authenticate")!.includes(TOKEN.slice(3, 10)));
      const body = await response.text();
      assertEquals(JSON.parse(body).error.code, "unauthorized");
      assert(!body.includes(TOKEN.slice(3, 10)), body);
    });
  }
});

Deno.test("parseChallenge() reads auth-params, quoted strings unescaped", () => {
  assertEquals(parseChallenge('Bearer realm="a, \\"b\\"", error=invalid_token'), {
    scheme: "Bearer",
    params: { realm: 'a, "b"', error: "invalid_token" },
  });
  assertThrows(() => parseChallenge('Bearer realm="open'));
});

Deno.test("tokensMatch() and bearerToken() compare and extract exactly", () => {
  assert(tokensMatch(TOKEN, TOKEN));
  assert(!tokensMatch(TOKEN, `${TOKEN}!`));
  assert(!tokensMatch("", TOKEN));
  assertEquals(bearerToken(withAuth(`Bearer\t${TOKEN} `)), TOKEN);
  assertEquals(bearerToken(withAuth("Bearer")), undefined);
});

Deno.test("warnIfExposed() warns once for a non-loopback bind without a token, else stays quiet", () => {
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  try {
    const log = createLogger("test");
    const info = { server: "Server X", port: 9000, exposed: ["POST /thing", "MCP at /mcp"] };
    assert(warnIfExposed(log, { ...info, bindHost: "0.0.0.0", token: undefined }));
    assert(!warnIfExposed(log, { ...info, bindHost: "0.0.0.0", token: TOKEN }));
    assert(!warnIfExposed(log, { ...info, bindHost: "127.0.0.1", token: undefined }));
    assert(!warnIfExposed(log, { ...info, bindHost: "::1", token: undefined }));
  } finally {
    restore();
  }
  assertEquals(lines.length, 1);
  const line = JSON.parse(lines[0]!);
  assertEquals(line.level, "warn");
  assertMatch(
    line.msg,
    /^Server X listens on 0\.0\.0\.0:9000 without MCPCOMM_AUTH_TOKEN: anyone who can reach this port can use POST \/thing, MCP at \/mcp\./,
  );
});

const OAUTH_DEFAULTS = { OAUTH_CLOCK_TOLERANCE_SECONDS: 5, OAUTH_JWKS_MIN_REFRESH_SECONDS: 30 };

Deno.test("authenticatorFor() takes the settings it reads and builds one authenticator per object", async () => {
  const settings = { ...OAUTH_DEFAULTS, MCPCOMM_AUTH_TOKEN: TOKEN };
  const auth = authenticatorFor(settings);
  assertEquals(auth.required, true);
  assertEquals(authenticatorFor(settings), auth);
  assertEquals(await auth.authenticate(withAuth(`Bearer ${TOKEN}`)), { via: "static", scopes: [] });
  const error = await assertRejects(() => auth.authenticate(withAuth()), HttpError);
  assertEquals((error as HttpError).status, 401);
  assertEquals(authenticatorFor(OAUTH_DEFAULTS).required, false);
});

Deno.test("authenticatorFor() names the setting an incomplete OAuth setup lacks", () => {
  assertThrows(
    () => authenticatorFor({ ...OAUTH_DEFAULTS, OAUTH_RESOURCE: "https://b.example" }),
    ConfigError,
    "need OAUTH_ISSUER",
  );
  assertThrows(
    () => authenticatorFor({ ...OAUTH_DEFAULTS, OAUTH_ISSUER: "https://as.example" }),
    ConfigError,
    "OAUTH_RESOURCE is not",
  );
  assertThrows(
    () =>
      authenticatorFor({
        ...OAUTH_DEFAULTS,
        OAUTH_ISSUER: "https://as.example",
        OAUTH_RESOURCE: "https://b.example",
        OAUTH_INTROSPECTION_CLIENT_ID: "b",
      }),
    ConfigError,
    "go together",
  );
});

Deno.test("guardOf() stands for a token when either token kind is set", () => {
  assertEquals(guardOf({}), undefined);
  assertEquals(guardOf({ MCPCOMM_AUTH_TOKEN: TOKEN }), TOKEN);
  assertEquals(guardOf({ OAUTH_ISSUER: "https://as.example" }), "https://as.example");
});
