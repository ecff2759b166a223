import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { runCli, tempDir } from "../_helpers.ts";
import { ENV_SERVER_SCRIPT, startRecordingMcp } from "../mcp/_harness.ts";

const TOKEN = "tok-never-to-targets-4Kd8Qw2Z";

function ws(url: string): string {
  return url.replace(/^http/, "ws") + "/ws";
}

function lines(stdout: string): Record<string, unknown>[] {
  return stdout.trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test("mcpcomm client never sends MCPCOMM_AUTH_TOKEN to a target", async () => {
  await using http = await startRecordingMcp();
  await using sock = await startRecordingMcp();
  const { code, stdout, stderr } = await runCli([
    "client",
    `h=${http.url}/mcp`,
    `s=${http.url}/sse`,
    `w=${ws(sock.url)}`,
    "--json",
    "-e",
    'broadcast echo {"text": "hi"}',
  ], { env: { MCPCOMM_AUTH_TOKEN: TOKEN } });
  assertEquals(code, 0, stdout + stderr);
  assert(http.requests.some((r) => r.path === "/sse"), "the SSE target was reached");
  assert(sock.requests.some((r) => r.path === "/ws"), "the WebSocket target was reached");
  assertEquals(http.seen("authorization"), []);
  assertEquals(sock.seen("authorization"), []);
});

Deno.test("mcpcomm client -H sends a header to its server only, ${VAR} from .env or the environment", async () => {
  await using one = await startRecordingMcp();
  await using two = await startRecordingMcp();
  const key = "one-key-Gm4Xr9Tb";
  // ONE_KEY comes from .env in the working directory, as any setting may.
  const cwd = await tempDir();
  await Deno.writeTextFile(`${cwd}/.env`, `ONE_KEY=${key}\n`);
  const { code, stdout, stderr } = await runCli([
    "client",
    `one=${one.url}/mcp`,
    ws(two.url),
    "-H",
    "one=X-Api-Key: ${ONE_KEY}",
    "--header",
    "server1=Authorization: Bearer literal-for-server1",
    "--json",
    "-e",
    "servers",
    "-e",
    'broadcast echo {"text": "hi"}',
  ], { cwd });
  assertEquals(code, 0, stdout + stderr);
  assertEquals(one.seen("x-api-key"), [key]);
  assertEquals(one.seen("authorization"), []);
  assertEquals(two.seen("x-api-key"), []);
  assertEquals(two.seen("authorization"), ["Bearer literal-for-server1"]);
  assert(!stdout.includes(key) && !stdout.includes("literal-for-server1"), stdout);
});

Deno.test("mcpcomm client --config reads the Claude Desktop shape: url with headers, command with env", async () => {
  await using web = await startRecordingMcp();
  const dir = await tempDir();
  const file = `${dir}/claude_desktop_config.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      mcpServers: {
        web: { type: "streamable-http", url: `${web.url}/mcp`, headers: { "X-Key": "${KEY}" } },
        envy: {
          command: Deno.execPath(),
          args: ["eval", "--no-config", ENV_SERVER_SCRIPT],
          env: { CHILD_SECRET: "${PARENT_SECRET}" },
        },
      },
    }),
  );
  const env = { KEY: "web-key-Rt5Nv8Lc", PARENT_SECRET: "parent-secret-Wq2Hs6Jd" };
  const { code, stdout, stderr } = await runCli([
    "client",
    "--config",
    file,
    "--json",
    "-e",
    "servers",
    "-e",
    'call envy env {"name": "CHILD_SECRET"}',
    "-e",
    'call web echo {"text": "hi"}',
  ], { env });
  assertEquals(code, 0, stdout + stderr);
  const [, , servers, child, echoed] = lines(stdout) as {
    servers?: { name: string; target: string }[];
    result?: { content: { text: string }[] };
  }[];
  assertEquals(servers!.servers!.map((s) => s.name), ["web", "envy"]);
  assertEquals(child!.result!.content[0]!.text, env.PARENT_SECRET);
  assertEquals(echoed!.result!.content[0]!.text, "hi");
  assertEquals(web.seen("x-key"), [env.KEY]);
  const shown = JSON.stringify(servers);
  assert(!shown.includes(env.KEY) && !shown.includes(env.PARENT_SECRET), shown);
});

Deno.test("mcpcomm client refuses bad headers and config files with one line, exit 2", async (t) => {
  const cases: [string, string[], RegExp][] = [
    [
      "unset variable",
      ["calc=http://127.0.0.1:9/mcp", "-H", "calc=Authorization: Bearer ${CALC_TOKEN_UNSET}"],
      /--header for server "calc": header Authorization uses \$\{CALC_TOKEN_UNSET\}, which is not set/,
    ],
    [
      "unknown server",
      ["calc=http://127.0.0.1:9/mcp", "-H", "calk=X-Key: v"],
      /--header for server "calk": there is no such server \(servers: calc\)/,
    ],
    [
      "stdio server",
      ["local=stdio:mcpcomm toolbox", "-H", "local=X-Key: v"],
      /headers go to HTTP and WebSocket targets, not stdio:/,
    ],
    [
      "bad header name",
      ["calc=http://127.0.0.1:9/mcp", "-H", "calc=X Key: v"],
      /"X Key" is not a header name/,
    ],
    ["missing file", ["--config", "/nonexistent/servers.json"], /Cannot read --config/],
  ];
  for (const [name, args, expected] of cases) {
    await t.step(name, async () => {
      const { code, stderr } = await runCli(["client", ...args]);
      assertEquals(code, 2, stderr);
      assertEquals(stderr.trim().split("\n").length, 1, stderr);
      assertMatch(stderr, expected);
    });
  }
});
