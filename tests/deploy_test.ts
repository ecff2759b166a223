/**
 * The deployment examples in deploy/: systemd units verified by `systemd-analyze`, the Dockerfile
 * and the compose file parsed, and both nginx configs run for real in front of Server B (TLS,
 * unbuffered SSE, replicas), each part skipped by name where its tool is missing.
 * @module
 */
import { parse as parseYaml } from "yaml";
import { createMockProvider } from "../src/providers/mock.ts";
import type { Provider } from "../src/providers/types.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  eventually,
  freePort,
  hasProgram,
  readSse,
  startTestServerB,
  tempDir,
} from "./_helpers.ts";
import { hasOpenssl, makeTestCerts } from "./_tls.ts";
import { startNginx } from "./_nginx.ts";

const DEPLOY = new URL("../deploy/", import.meta.url).pathname;
const read = (name: string) => Deno.readTextFileSync(`${DEPLOY}${name}`);

function note(reason: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`deploy_test.ts: ${reason}\n`));
}

/** A systemd unit file as sections of key -> values (keys may repeat). */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const sections: Record<string, Record<string, string[]>> = {};
  let current: Record<string, string[]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const section = line.match(/^\[(\w+)\]$/);
    if (section) {
      current = sections[section[1]!] = {};
      continue;
    }
    const pair = line.match(/^(\w+)=(.*)$/);
    assert(pair && current, `not a unit file line: ${line}`);
    (current[pair[1]!] ??= []).push(pair[2]!);
  }
  return sections;
}

const hasSystemdAnalyze = await hasProgram("systemd-analyze", ["--version"]);
if (!hasSystemdAnalyze) note("systemd-analyze verify skipped: systemd-analyze is not installed");

const UNITS = [
  ["mcpcomm-server-b.service", "server-b"],
  ["mcpcomm-server-a.service", "server-a"],
] as const;

for (const [file, command] of UNITS) {
  Deno.test(`deploy/${file} runs \`mcpcomm ${command}\` as an unprivileged, sandboxed service`, async (t) => {
    const text = read(file);
    const unit = parseUnit(text);
    assertEquals(Object.keys(unit), ["Unit", "Service", "Install"]);
    const service = unit.Service!;
    assertMatch(service.ExecStart![0]!, new RegExp(`^/usr/local/bin/mcpcomm ${command}\\b`));
    assertEquals(service.User, ["mcpcomm"]);
    assertEquals(service.NoNewPrivileges, ["yes"]);
    assertEquals(service.ProtectSystem, ["strict"]);
    assertEquals(service.CapabilityBoundingSet, [""]);
    assertEquals(service.Restart, ["on-failure"]);
    assertEquals(service.KillSignal, ["SIGTERM"]);
    assertMatch(service.EnvironmentFile![0]!, /^\/etc\/mcpcomm\/server-[ab]\.env$/);
    assertEquals(service.StateDirectory, ["mcpcomm"]);
    assert(
      service.Environment!.join(" ").split(/\s+/).includes(
        `MCPCOMM_DB=/var/lib/mcpcomm/${command}.db`,
      ),
      "the ledger lives in the writable state directory /var/lib/mcpcomm",
    );
    assertEquals(unit.Unit!.After, ["network-online.target"]);
    assertEquals(unit.Install!.WantedBy, ["multi-user.target"]);

    await t.step({
      name: `systemd-analyze verify accepts it${
        hasSystemdAnalyze ? "" : " (skipped: no systemd-analyze)"
      }`,
      ignore: !hasSystemdAnalyze,
      async fn() {
        const dir = await tempDir();
        try {
          // verify needs ExecStart's program to exist: point it at a stub, nothing else changes.
          const stub = `${dir}/mcpcomm`;
          await Deno.writeTextFile(stub, "#!/bin/sh\n");
          await Deno.chmod(stub, 0o755);
          await Deno.writeTextFile(
            `${dir}/${file}`,
            text.replaceAll("/usr/local/bin/mcpcomm", stub),
          );
          const out = await new Deno.Command("systemd-analyze", {
            args: ["verify", `${dir}/${file}`],
            stdout: "piped",
            stderr: "piped",
          }).output();
          const said = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
          assertEquals(out.code, 0, said);
          assertEquals(said.trim(), "", "no unknown keys or other warnings");
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      },
    });
  });
}

/** Dockerfile instructions per stage, continuation lines joined. */
function parseDockerfile(text: string): { from: string; lines: string[] }[] {
  const joined = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const stages: { from: string; lines: string[] }[] = [];
  for (const line of joined) {
    if (/^FROM\s/i.test(line)) stages.push({ from: line, lines: [] });
    else stages.at(-1)!.lines.push(line);
  }
  return stages;
}

Deno.test("deploy/Dockerfile builds with deno task compile and runs as a non-root user", () => {
  const stages = parseDockerfile(read("Dockerfile"));
  assertEquals(stages.length, 2);
  const [build, run] = stages as [typeof stages[0], typeof stages[0]];
  assertMatch(
    build.from,
    new RegExp(`^FROM denoland/deno:${Deno.version.deno.replaceAll(".", "\\.")} AS build$`),
  );
  assert(build.lines.some((l) => /^RUN deno install --frozen$/.test(l)), "installs from the lock");
  assert(build.lines.some((l) => /deno task compile --target/.test(l)), "compiles with the task");
  assert(!build.lines.some((l) => /\s-A\b|--allow-all/.test(l)), "never -A");
  assert(!/deno/.test(run.from), `the runtime image needs no Deno: ${run.from}`);
  const user = run.lines.filter((l) => /^USER\s/.test(l)).at(-1);
  assert(user !== undefined, "the final stage sets USER");
  const name = user.split(/\s+/)[1]!.split(":")[0]!;
  assert(name !== "root" && name !== "0", `runs as ${name}`);
  assert(run.lines.includes('ENTRYPOINT ["/usr/local/bin/mcpcomm"]'));
  assert(run.lines.some((l) => /^COPY --from=build \/mcpcomm \/usr\/local\/bin\/mcpcomm$/.test(l)));
});

Deno.test("deploy/docker-compose.yml runs Server B replicas behind the nginx balancer", async () => {
  const compose = parseYaml(read("docker-compose.yml")) as {
    services: Record<string, Record<string, unknown>>;
  };
  const b = compose.services["server-b"]!;
  const proxy = compose.services.proxy!;
  const replicas = (b.deploy as { replicas: number }).replicas;
  assert(replicas >= 2, `replicas: ${replicas}`);
  assertEquals(b.ports, undefined, "replicas are reached only through the proxy");
  const build = b.build as { context: string; dockerfile: string };
  await Deno.stat(new URL(`${build.context}/${build.dockerfile}`, `file://${DEPLOY}`));
  const env = b.environment as Record<string, string>;
  assertMatch(env.MCPCOMM_AUTH_TOKEN!, /^\$\{MCPCOMM_AUTH_TOKEN:\?/, "the token is required");
  assertEquals(env.HTTP_HOST, "0.0.0.0");
  const volumes = proxy.volumes as string[];
  assert(volumes.some((v) => v.startsWith("./nginx-lb.conf:")), volumes.join(", "));
  await Deno.stat(`${DEPLOY}nginx-lb.conf`);
  assertEquals(proxy.depends_on, ["server-b"]);
});

/** The regex locations of an nginx config and whether each buffers. */
function streamLocations(conf: string): { pattern: RegExp; unbuffered: boolean }[] {
  const out: { pattern: RegExp; unbuffered: boolean }[] = [];
  for (const match of conf.matchAll(/location ~ (\S+) \{([^}]*)\}/g)) {
    out.push({
      pattern: new RegExp(match[1]!),
      unbuffered: /proxy_buffering off;/.test(match[2]!),
    });
  }
  return out;
}

for (const file of ["nginx.conf", "nginx-lb.conf"]) {
  Deno.test(`deploy/${file} turns buffering off for /stream, /sse and /mcp, and only for streams`, () => {
    const conf = read(file);
    const locations = streamLocations(conf);
    for (const path of ["/stream", "/sse", "/mcp", "/mcp/", "/messages"]) {
      const location = locations.find((l) => l.pattern.test(path));
      assert(location, `${file}: no location for ${path}`);
      assert(location.unbuffered, `${file}: ${path} is buffered`);
    }
    for (const path of ["/process", "/health", "/streamline"]) {
      assert(
        !locations.some((l) => l.pattern.test(path)),
        `${file}: ${path} matched a stream location`,
      );
    }
    assertMatch(conf, /ssl_certificate \S+;/);
    assertMatch(conf, /proxy_http_version 1\.1;/);
  });
}

const nginxMissing = !await hasProgram("nginx", ["-v"])
  ? "nginx is not installed (apt-get install nginx-light)"
  : !await hasOpenssl()
  ? "openssl is not installed"
  : undefined;
if (nginxMissing) note(`nginx runs skipped: ${nginxMissing}`);
const nginxSkip = nginxMissing ? ` (skipped: ${nginxMissing})` : "";

/** Waits until `url` answers through nginx (it may take a moment to bind). */
function waitUntilServing(url: string, client: Deno.HttpClient): Promise<Response> {
  return eventually(() => fetch(url, { client }), { what: `${url} through nginx`, intervalMs: 50 });
}

/** A mock provider whose stream sends its first word, then waits for `gate` before the rest. */
function gatedProvider(gate: Promise<void>): Provider {
  const mock = createMockProvider();
  return {
    ...mock,
    async *stream(request) {
      let first = true;
      for await (const chunk of mock.stream(request)) {
        yield chunk;
        if (first && chunk.type === "delta") {
          first = false;
          await gate;
        }
      }
    },
  };
}

/** `GET /config` over TLS to 127.0.0.1:`port` with any `Host`; answers the raw response text. */
async function getOverTls(port: number, caCert: string, host: string): Promise<string> {
  const conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [caCert] });
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET /config HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`,
      ),
    );
    return await new Response(conn.readable).text();
  } catch (error) {
    conn.close();
    throw error;
  }
}

Deno.test({
  name:
    `deploy/nginx.conf terminates TLS for Server B and passes SSE through unbuffered${nginxSkip}`,
  ignore: nginxMissing !== undefined,
  async fn() {
    const certs = await makeTestCerts({ ips: ["127.0.0.1"] });
    const gate = Promise.withResolvers<void>();
    const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(certs.caCert)] });
    try {
      await using b = await startTestServerB(
        { MCP_ALLOWED_HOSTS: "mcp.example.com" },
        { provider: gatedProvider(gate.promise) },
      );
      using _release = { [Symbol.dispose]: () => gate.resolve() };
      const [http, https] = [freePort(), freePort()];
      const site = read("nginx.conf")
        .replace("server 127.0.0.1:8000", `server 127.0.0.1:${new URL(b.url).port}`)
        // Server B asks nginx not to buffer (X-Accel-Buffering: no); ignore that here so the
        // config's own proxy_buffering is what is tested.
        .replace(
          "proxy_http_version 1.1;",
          "proxy_http_version 1.1;\n    proxy_ignore_headers X-Accel-Buffering;",
        )
        .replace(/^\s*listen \[::\]:\d+.*$/gm, "")
        .replace("listen 80;", `listen 127.0.0.1:${http};`)
        .replace("listen 443 ssl;", `listen 127.0.0.1:${https} ssl;`)
        .replace(/ssl_certificate \S+;/, `ssl_certificate ${certs.cert};`)
        .replace(/ssl_certificate_key \S+;/, `ssl_certificate_key ${certs.key};`);
      await using _nginx = await startNginx(site);
      const base = `https://127.0.0.1:${https}`;

      const health = await waitUntilServing(`${base}/health`, client);
      assertEquals(health.status, 200);
      assertEquals((await health.json()).status, "healthy");
      const redirect = await fetch(`http://127.0.0.1:${http}/health`, { redirect: "manual" });
      await redirect.body?.cancel();
      assertEquals(redirect.status, 301);
      // nginx forwards the client's Host: the public name passes once listed, as the file says.
      const caCert = await Deno.readTextFile(certs.caCert);
      assertMatch(await getOverTls(https, caCert, "mcp.example.com"), /^HTTP\/1\.1 200 /);
      assertMatch(await getOverTls(https, caCert, "rebound.example.net"), /^HTTP\/1\.1 403 /);

      // The provider holds the rest of the answer until the first word has reached us: through a
      // buffering proxy nothing (not even the headers) arrives, and the guard fails the test.
      const firstChunk = async () => {
        const response = await fetch(`${base}/stream`, {
          client,
          method: "POST",
          headers: { "content-type": "application/json", accept: "text/event-stream" },
          body: JSON.stringify({ message: "through nginx" }),
        });
        assertEquals(response.status, 200);
        assertMatch(response.headers.get("content-type") ?? "", /^text\/event-stream/);
        const reader = response.body!.getReader();
        return { reader, first: await reader.read() };
      };
      let timer: ReturnType<typeof setTimeout> | undefined;
      const { reader, first } = await Promise.race([
        firstChunk(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("nginx buffered the stream")), 20_000);
        }),
      ]).finally(() => clearTimeout(timer));
      assert(!first.done);
      assertMatch(new TextDecoder().decode(first.value), /\[MOCK/);
      assertEquals(
        (await b.service.ledger.stats()).totalRequests,
        0,
        "the answer is still being written",
      );
      gate.resolve();
      const whole = new ReadableStream<Uint8Array>({
        start: (controller) => controller.enqueue(first.value),
        async pull(controller) {
          const next = await reader.read();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
      });
      const events = await readSse(new Response(whole));
      assertEquals(events.at(-1)?.event, "done");
      const text = events.slice(0, -1).map((e) => JSON.parse(e.data).text).join("");
      assertMatch(text, /^\[MOCK RESPONSE #1\] You said: 'through nginx'/);
      assertEquals((await b.service.ledger.stats()).totalRequests, 1);
    } finally {
      gate.resolve();
      client.close();
      await Deno.remove(certs.dir, { recursive: true });
    }
  },
});

Deno.test({
  name: `deploy/nginx-lb.conf spreads requests over Server B replicas${nginxSkip}`,
  ignore: nginxMissing !== undefined,
  async fn() {
    const certs = await makeTestCerts({ ips: ["127.0.0.1"] });
    const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(certs.caCert)] });
    try {
      await using b1 = await startTestServerB();
      await using b2 = await startTestServerB();
      const replicas = [b1, b2].map((b) =>
        `server 127.0.0.1:${new URL(b.url).port} max_fails=3 fail_timeout=10s;`
      )
        .join("\n    ");
      const port = freePort();
      const site = read("nginx-lb.conf")
        .replaceAll("server server-b:8000 max_fails=3 fail_timeout=10s;", replicas)
        .replace("listen 8443 ssl;", `listen 127.0.0.1:${port} ssl;`)
        .replace(/ssl_certificate \S+;/, `ssl_certificate ${certs.cert};`)
        .replace(/ssl_certificate_key \S+;/, `ssl_certificate_key ${certs.key};`);
      await using _nginx = await startNginx(site);
      const base = `https://127.0.0.1:${port}`;
      await (await waitUntilServing(`${base}/health`, client)).body?.cancel();
      for (let i = 0; i < 6; i++) {
        const r = await fetch(`${base}/process`, {
          client,
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ message: `request ${i}` }),
        });
        assertEquals(r.status, 200);
        assertEquals((await r.json()).status, "success");
      }
      const counts = await Promise.all(
        [b1, b2].map(async (b) => (await b.service.ledger.stats()).totalRequests),
      );
      assertEquals(counts[0]! + counts[1]!, 6);
      assert(counts.every((n) => n > 0), `every replica served some: ${counts}`);
    } finally {
      client.close();
      await Deno.remove(certs.dir, { recursive: true });
    }
  },
});
