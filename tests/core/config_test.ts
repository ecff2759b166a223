import { loadConfig, secretValues, SETTINGS } from "../../src/core/config.ts";
import { ConfigError } from "../../src/core/errors.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "../_assert.ts";
import { runCli, tempDirSync } from "../_helpers.ts";
import { spawnServer } from "../_spawn.ts";

Deno.test("loadConfig() gives the seed's defaults when nothing is set", () => {
  const config = loadConfig();
  assertEquals(config.AI_PROVIDER, "mock");
  assertEquals(config.OPENAI_API_KEY, undefined);
  assertEquals(config.OPENAI_DEFAULT_MODEL, "gpt-4");
  assertEquals(config.OPENAI_BASE_URL, undefined);
  assertEquals(config.AWS_ACCESS_KEY_ID, undefined);
  assertEquals(config.AWS_SECRET_ACCESS_KEY, undefined);
  assertEquals(config.AWS_PROFILE, undefined);
  assertEquals(config.AWS_REGION, "us-east-1");
  assertEquals(config.BEDROCK_DEFAULT_MODEL, "anthropic.claude-3-5-sonnet-20241022-v2:0");
  assertEquals(config.AI_TEMPERATURE, 0.7);
  assertEquals(config.AI_MAX_TOKENS, 1000);
  assertEquals(config.HTTP_HOST, "0.0.0.0");
  assertEquals(config.HTTP_PORT, 8000);
  assertEquals(config.SERVER_B_URL, ["http://localhost:8000"]);
  assertEquals(config.TIMEOUT_SECONDS, 120);
  assertEquals(config.RETRY_ATTEMPTS, 3);
  assertEquals(config.MOCK_DELAY_MS, 0);
  assertEquals(config.MAX_STORED_MESSAGES, 1000);
  assertEquals(config.MAX_BODY_BYTES, 1024 * 1024);
});

Deno.test("loadConfig() takes flags over the environment over .env over defaults", async (t) => {
  await t.step("each source wins over the weaker ones, key by key", () => {
    const config = loadConfig({
      dotenv: {
        HTTP_PORT: "1111",
        AI_TEMPERATURE: "0.1",
        AI_MAX_TOKENS: "11",
        AWS_REGION: "eu-west-1",
      },
      env: { HTTP_PORT: "2222", AI_TEMPERATURE: "0.2" },
      flags: { HTTP_PORT: "3333" },
    });
    assertEquals(config.HTTP_PORT, 3333);
    assertEquals(config.AI_TEMPERATURE, 0.2);
    assertEquals(config.AI_MAX_TOKENS, 11);
    assertEquals(config.AWS_REGION, "eu-west-1");
    assertEquals(config.HTTP_HOST, "0.0.0.0");
  });

  await t.step("an empty value counts as unset", () => {
    const config = loadConfig({ dotenv: { HTTP_PORT: "1111" }, env: { HTTP_PORT: "" } });
    assertEquals(config.HTTP_PORT, 1111);
    assertEquals(loadConfig({ env: { OPENAI_API_KEY: "" } }).OPENAI_API_KEY, undefined);
  });

  await t.step("unknown and prototype names are ignored", () => {
    const config = loadConfig({
      env: { PATH: "/bin", toString: "x", constructor: "y", ["__proto__"]: "z" },
    });
    assertEquals(config.HTTP_PORT, 8000);
    for (const key of Object.keys(config)) assert(Object.hasOwn(SETTINGS, key), key);
    assert(!Object.hasOwn(config, "toString") && !Object.hasOwn(config, "constructor"));
  });

  await t.step("lists are split on commas", () => {
    const config = loadConfig({ env: { SERVER_B_URL: "http://a:1, http://b:2/," } });
    assertEquals(config.SERVER_B_URL, ["http://a:1", "http://b:2/"]);
  });
});

Deno.test("loadConfig() refuses a bad value with one line naming the setting and what it accepts", async (t) => {
  const cases: [Record<string, string>, string][] = [
    [{ HTTP_PORT: "abc" }, 'Invalid setting HTTP_PORT="abc": expected a port number (0-65535)'],
    [{ HTTP_PORT: "65536" }, 'Invalid setting HTTP_PORT="65536": expected a port number (0-65535)'],
    [{ HTTP_PORT: "80.5" }, 'Invalid setting HTTP_PORT="80.5": expected a port number (0-65535)'],
    [{ AI_TEMPERATURE: "7" }, 'Invalid setting AI_TEMPERATURE="7": expected a number from 0 to 2'],
    [
      { AI_PROVIDER: "gemini" },
      'Invalid setting AI_PROVIDER="gemini": expected one of mock, openai, bedrock',
    ],
    [
      { AI_MAX_TOKENS: "0" },
      'Invalid setting AI_MAX_TOKENS="0": expected an integer from 1 to 200000',
    ],
    [
      { MOCK_DELAY_MS: "-5" },
      'Invalid setting MOCK_DELAY_MS="-5": expected milliseconds from 0 to 600000',
    ],
    [
      { OPENAI_BASE_URL: "ftp://x" },
      'Invalid setting OPENAI_BASE_URL="ftp://x": expected an http(s) URL',
    ],
    [
      { SERVER_B_URL: "http://ok:1,nope" },
      'Invalid setting SERVER_B_URL="http://ok:1,nope": expected one or more comma-separated http(s) URLs',
    ],
    [
      { RETRY_ATTEMPTS: "11" },
      'Invalid setting RETRY_ATTEMPTS="11": expected an integer from 1 to 10',
    ],
    [
      { MAX_STORED_MESSAGES: "0" },
      'Invalid setting MAX_STORED_MESSAGES="0": expected a positive integer',
    ],
    [
      { MCPCOMM_DB_SYNC: "off" },
      'Invalid setting MCPCOMM_DB_SYNC="off": expected one of full, normal',
    ],
  ];
  for (const [env, message] of cases) {
    await t.step(message, () => {
      const error = assertThrows(() => loadConfig({ env }), ConfigError);
      assertEquals(error.message, message);
      assert(!error.message.includes("\n"));
    });
  }
  await t.step("a bad secret is named but not shown", () => {
    const error = assertThrows(
      () => loadConfig({ env: { MCPCOMM_AUTH_TOKEN: "tooShortSecret" } }),
      ConfigError,
    );
    assertEquals(
      error.message,
      "Invalid setting MCPCOMM_AUTH_TOKEN=(hidden): expected a token of at least 16 characters",
    );
  });
});

Deno.test("secretValues() lists the secrets that are set, for redaction", () => {
  const config = loadConfig({
    env: { OPENAI_API_KEY: "sk-one", AWS_SECRET_ACCESS_KEY: "two", AWS_PROFILE: "not-secret" },
  });
  assertEquals(secretValues(config).sort(), ["sk-one", "two"]);
});

Deno.test("secretValues() includes passwords written inside URL settings", () => {
  const config = loadConfig({
    env: {
      OPENAI_BASE_URL: "http://me:p%40ss@llm.local/v1",
      AWS_ENDPOINT_URL: "http://me:bad%zz@aws.local",
      SERVER_B_URL: "http://a:1,http://u:b-secret@b:2",
    },
  });
  assertEquals(secretValues(config).sort(), ["b-secret", "bad%zz", "p%40ss", "p@ss"]);
});

Deno.test("MCPCOMM_REDIS takes redis:// and rediss:// URLs, hides a bad one, and redacts its password", () => {
  const config = loadConfig({
    env: { MCPCOMM_REDIS: "rediss://:r%40dis-pass@cache.local:6380/2" },
  });
  assertEquals(config.MCPCOMM_REDIS, "rediss://:r%40dis-pass@cache.local:6380/2");
  const secrets = secretValues(config);
  assert(secrets.includes("r%40dis-pass") && secrets.includes("r@dis-pass"), secrets.join(" "));
  for (const bad of ["http://cache.local:6379", "redis://", "cache.local:6379"]) {
    assertThrows(
      () => loadConfig({ env: { MCPCOMM_REDIS: bad } }),
      Error,
      "Invalid setting MCPCOMM_REDIS=(hidden): expected a redis:// or rediss:// URL",
    );
  }
});

Deno.test("mcpcomm server-b reads .env in the working directory, under the environment and flags", async (t) => {
  const cwd = tempDirSync();
  await t.step(".env over defaults", async () => {
    Deno.writeTextFileSync(`${cwd}/.env`, "AI_PROVIDER=gemini\n");
    const { code, stderr } = await runCli(["server-b"], { cwd });
    assertEquals(code, 2);
    assertEquals(
      stderr.trim(),
      'mcpcomm server-b: Invalid setting AI_PROVIDER="gemini": expected one of mock, openai, bedrock',
    );
  });
  await t.step("environment over .env", async () => {
    Deno.writeTextFileSync(`${cwd}/.env`, "# comment\nAI_TEMPERATURE=5\nHTTP_PORT=1\n");
    const { code, stderr } = await runCli(["server-b"], { cwd, env: { AI_TEMPERATURE: "6" } });
    assertEquals(code, 2);
    assertEquals(stderr.trim().split("\n").length, 1, stderr);
    assertMatch(stderr, /AI_TEMPERATURE="6"/);
  });
  await t.step("--port over the environment over .env", async () => {
    Deno.writeTextFileSync(`${cwd}/.env`, "HTTP_PORT=dotenv\n");
    const { code, stderr } = await runCli(["server-b", "--port", "flag"], {
      cwd,
      env: { HTTP_PORT: "env" },
    });
    assertEquals(code, 2);
    assertEquals(
      stderr.trim(),
      'mcpcomm server-b: Invalid setting HTTP_PORT="flag": expected a port number (0-65535)',
    );
  });
  await t.step("a running server shows the merged settings in /config", async () => {
    Deno.writeTextFileSync(
      `${cwd}/.env`,
      'HTTP_HOST=127.0.0.1\nHTTP_PORT=1\nAI_TEMPERATURE=0.3\nAI_MAX_TOKENS="77"\n',
    );
    await using server = await spawnServer(["server-b", "--port", "0"], {
      env: { AI_TEMPERATURE: "0.4" },
      cwd,
    });
    const url = server.url;
    assertMatch(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert(!url.endsWith(":1"));
    const config = await (await fetch(`${url}/config`)).json();
    assertEquals([config.temperature, config.maxTokens], [0.4, 77]);
    assertEquals((await server.stop()).code, 0);
  });
});
