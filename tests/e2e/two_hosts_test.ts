/**
 * Two machines, for real: Server B runs in one network namespace bound to its own address, and
 * `mcpcomm test` runs in another, reaching it over a veth link. The command is the one-machine
 * command with only the URL changed; then once more over HTTPS with the shared token.
 * @module
 */
import type { TestReport } from "../../src/commands/_test.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { type SpawnedServer, spawnServer } from "../_spawn.ts";
import {
  createTwoHosts,
  type Host,
  lockPath,
  namespaceName,
  netnsUnavailable,
  sweepStale,
  type TwoHosts,
} from "../_netns.ts";
import { hasOpenssl, makeTestCerts } from "../_tls.ts";
import { eventually } from "../_helpers.ts";

const unavailable = await netnsUnavailable() ??
  (await hasOpenssl() ? undefined : "openssl is not installed");
if (unavailable) {
  Deno.stderr.writeSync(
    new TextEncoder().encode(`two_hosts_test.ts: two-host tests skipped: ${unavailable}\n`),
  );
}
const skip = unavailable ? ` (skipped: ${unavailable})` : "";

const decoder = new TextDecoder();

/** The one-machine proof's arguments; across machines only `url` differs. */
function proofArgs(url: string, extra: string[] = []): string[] {
  return ["test", "--server-b-url", url, "--json", ...extra];
}

/** Starts Server B inside `host`, bound to the host's address; resolves with its URL. */
async function startServerBOn(
  hosts: TwoHosts,
  host: Host,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<SpawnedServer> {
  const serverArgs = ["server-b", "--host", host.address, "--port", "0", ...args];
  return await spawnServer(serverArgs, {
    command: hosts.mcpcomm(host, serverArgs, { AI_PROVIDER: "mock", ...env }, { stdout: "null" }),
  });
}

async function proof(
  hosts: TwoHosts,
  host: Host,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; report: TestReport; stderr: string }> {
  const out = await hosts.mcpcomm(host, args, env).output();
  const stdout = decoder.decode(out.stdout);
  const stderr = decoder.decode(out.stderr);
  let report: TestReport;
  try {
    report = JSON.parse(stdout);
  } catch {
    throw new Error(`mcpcomm ${args.join(" ")} printed no JSON report:\n${stdout}\n${stderr}`);
  }
  return { code: out.code, report, stderr };
}

Deno.test({
  name: `two hosts: mcpcomm test on host A proves the chain to Server B on host B over HTTP${skip}`,
  ignore: unavailable !== undefined,
  async fn() {
    await using hosts = await createTwoHosts();
    await using b = await startServerBOn(hosts, hosts.b);
    assertEquals(new URL(b.url).hostname, hosts.b.address);
    const port = new URL(b.url).port;

    const run = await proof(hosts, hosts.a, proofArgs(b.url));
    assertEquals(run.code, 0, JSON.stringify(run.report) + run.stderr);
    assertEquals(run.report.ok, true);
    assertEquals(run.report.serverBUrl, `http://${hosts.b.address}:${port}`);
    assertEquals(run.report.steps.map((s) => [s.name, s.ok]), [
      ["health", true],
      ["models", true],
      ["message", true],
      ["message", true],
    ]);
    assertMatch(String(run.report.steps[2]!.aiResponse), /What is Python\?/);

    // Host A really is another machine: nothing of Server B is on its own loopback.
    const local = await proof(
      hosts,
      hosts.a,
      proofArgs(`http://127.0.0.1:${port}`),
      { RETRY_ATTEMPTS: "1" },
    );
    assertEquals(local.code, 1);
    assertMatch(local.report.error ?? "", /refused the connection/);
  },
});

Deno.test({
  name:
    `two hosts: over HTTPS with MCPCOMM_AUTH_TOKEN on both sides, and a request without the token is refused${skip}`,
  ignore: unavailable !== undefined,
  async fn() {
    await using hosts = await createTwoHosts();
    const certs = await makeTestCerts({ ips: [hosts.b.address] });
    try {
      const token = crypto.randomUUID().replaceAll("-", "");
      await using b = await startServerBOn(
        hosts,
        hosts.b,
        ["--tls-cert", certs.cert, "--tls-key", certs.key],
        { MCPCOMM_AUTH_TOKEN: token },
      );
      assertMatch(b.url, new RegExp(`^https://${hosts.b.address.replaceAll(".", "\\.")}:\\d+$`));

      const run = await proof(hosts, hosts.a, proofArgs(b.url, ["--ca-cert", certs.caCert]), {
        MCPCOMM_AUTH_TOKEN: token,
      });
      assertEquals(run.code, 0, JSON.stringify(run.report) + run.stderr);
      assertEquals(run.report.ok, true);
      assertEquals(run.report.steps.filter((s) => s.ok).length, 4);

      const noToken = await proof(hosts, hosts.a, proofArgs(b.url, ["--ca-cert", certs.caCert]));
      assertEquals(noToken.code, 1);
      assertMatch(noToken.report.error ?? "", /HTTP 401/);

      const wrongToken = await proof(
        hosts,
        hosts.a,
        proofArgs(b.url, ["--ca-cert", certs.caCert]),
        { MCPCOMM_AUTH_TOKEN: `${token}-wrong` },
      );
      assertEquals(wrongToken.code, 1);
      assertMatch(wrongToken.report.error ?? "", /HTTP 401/);

      // A bare request from host A, trusting the CA but sending no token, is refused with JSON.
      const script = `
        const client = Deno.createHttpClient({ caCerts: [Deno.readTextFileSync(Deno.args[1])] });
        const r = await fetch(Deno.args[0] + "/process", { client, method: "POST",
          headers: { "content-type": "application/json" }, body: '{"message":"hi"}' });
        Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify({ status: r.status, body: await r.json() })));`;
      const raw = await hosts.command(
        hosts.a,
        Deno.execPath(),
        ["eval", "--no-config", script, b.url, certs.caCert],
        { stdout: "piped", stderr: "piped" },
      ).output();
      assert(raw.success, decoder.decode(raw.stderr));
      const answer = JSON.parse(decoder.decode(raw.stdout));
      assertEquals(answer.status, 401);
      assertEquals(answer.body.error.code, "unauthorized");
      assert(!JSON.stringify(answer.body).includes(token), "the token is never echoed");

      // Without --ca-cert the private certificate does not verify: host A refuses to talk.
      const untrusted = await proof(hosts, hosts.a, proofArgs(b.url), {
        MCPCOMM_AUTH_TOKEN: token,
      });
      assertEquals(untrusted.code, 1);
      assertMatch(untrusted.report.error ?? "", /TLS certificate that does not verify/);
      assert(!b.lines.join("\n").includes(token), "Server B never logs the token");
    } finally {
      await Deno.remove(certs.dir, { recursive: true });
    }
  },
});

async function namespaces(): Promise<string[]> {
  const out = await new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped" }).output();
  return decoder.decode(out.stdout).split("\n").map((line) => line.split(" ")[0]!);
}

async function flock(args: string[]): Promise<Deno.CommandStatus> {
  return await new Deno.Command("flock", { args, stderr: "null" }).output();
}

Deno.test({
  name:
    `two hosts: the stale sweep removes the namespaces of a run that is gone, never of a live one${skip}`,
  ignore: unavailable !== undefined,
  async fn() {
    // PIDs above pid_max (32768 here): as from runs in other PID namespaces, invisible in /proc.
    const hex = () => crypto.randomUUID().slice(0, 8);
    const live = `99999-${hex()}`;
    const dead = `99998-${hex()}`;
    const lockless = `99997-${hex()}`;
    const names = [live, dead, lockless].map((run) => namespaceName(run, 0, "a"));
    await Deno.mkdir(lockPath(live).replace(/\/[^/]+$/, ""), { recursive: true });
    // The live run: a process of its own, in its own PID namespace, holding the run's lock.
    const owner = new Deno.Command("unshare", {
      args: ["--pid", "--fork", "--kill-child", "flock", "-x", lockPath(live), "sleep", "600"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await eventually(async () => !(await flock(["-n", "-x", lockPath(live), "true"])).success, {
        what: "the live run to hold its lock",
        intervalMs: 20,
      });
      assert((await flock(["-x", lockPath(dead), "true"])).success, "the dead run's lock");
      for (const name of names) {
        const add = await new Deno.Command("ip", { args: ["netns", "add", name] }).output();
        assert(add.success, `ip netns add ${name}`);
      }

      const swept = await sweepStale();
      assertEquals(swept.filter((n) => names.includes(n)).sort(), [names[1], names[2]].sort());
      const left = await namespaces();
      assert(left.includes(names[0]!), "the live run's namespace was removed");
      assert(!left.includes(names[1]!) && !left.includes(names[2]!));
      await assertRejects(() => Deno.stat(lockPath(dead)), Deno.errors.NotFound);

      owner.kill("SIGKILL");
      await owner.status;
      // The lock goes with the namespace's processes, which the kernel ends after `unshare`.
      await eventually(async () => (await flock(["-n", "-x", lockPath(live), "true"])).success, {
        what: "the live run's lock released",
      });
      assertEquals((await sweepStale()).filter((n) => names.includes(n)), [names[0]]);
      assert(!(await namespaces()).includes(names[0]!));
    } finally {
      try {
        owner.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await owner.status;
      for (const name of names) {
        await new Deno.Command("ip", { args: ["netns", "del", name], stderr: "null" }).output();
      }
      for (const run of [live, dead, lockless]) await Deno.remove(lockPath(run)).catch(() => {});
    }
  },
});
