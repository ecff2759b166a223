/**
 * Two test hosts on one machine: two network namespaces joined by a veth pair, each with its own
 * address (TEST-NET-1, never routed anywhere), and mcpcomm run inside either with `ip netns exec`.
 * Needs root and iproute2; {@linkcode netnsUnavailable} says why not, for a named skip.
 * @module
 */
import { baseEnv, RUN_ARGS } from "./_helpers.ts";

/** One test host: a network namespace and its address on the link between the two. */
export interface Host {
  /** Namespace name, for `ip netns exec`. */
  ns: string;
  address: string;
}

/** Two hosts joined by one link; disposing deletes both namespaces (and so the link). */
export interface TwoHosts extends AsyncDisposable {
  a: Host;
  b: Host;
  /** A command run inside `host`'s namespace. */
  command(host: Host, program: string, args: string[], options?: Deno.CommandOptions): Deno.Command;
  /** `mcpcomm ARGS` from source inside `host`, with only `env` (plus PATH/HOME); output piped. */
  mcpcomm(
    host: Host,
    args: string[],
    env?: Record<string, string>,
    options?: Deno.CommandOptions,
  ): Deno.Command;
  close(): Promise<void>;
}

const PREFIX = "mcpcomm-";
const SUBNET = "192.0.2";

async function ip(args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const out = await new Deno.Command("ip", { args, stdout: "piped", stderr: "piped" }).output();
  const decoder = new TextDecoder();
  return {
    ok: out.success,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr).trim(),
  };
}

async function must(args: string[]): Promise<void> {
  const out = await ip(args);
  if (!out.ok) throw new Error(`ip ${args.join(" ")} failed: ${out.stderr}`);
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** Deletes namespaces left by test runs that were killed before they could clean up. */
async function sweepStale(): Promise<void> {
  const listed = await ip(["netns", "list"]);
  for (const line of listed.stdout.split("\n")) {
    const match = line.match(/^(mcpcomm-[ab]-(\d+)-\d+)\b/);
    if (match && !alive(Number(match[2]))) await ip(["netns", "del", match[1]!]);
  }
}

/** Why two hosts cannot be made here (not root, no `ip`, no namespaces), or `undefined`. */
export async function netnsUnavailable(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return `network namespaces need Linux, this is ${Deno.build.os}`;
  if (Deno.uid() !== 0) return "network namespaces need root";
  let probe;
  try {
    probe = await ip(["netns", "add", `${PREFIX}probe-${Deno.pid}`]);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "`ip` (iproute2) is not installed";
    throw error;
  }
  if (!probe.ok) return `cannot create a network namespace: ${probe.stderr}`;
  await ip(["netns", "del", `${PREFIX}probe-${Deno.pid}`]);
  return undefined;
}

let made = 0;

/**
 * Creates hosts A (192.0.2.1) and B (192.0.2.2) joined by a veth pair, loopback up in each.
 * Whatever was created is deleted again if a step fails.
 * @example
 * ```ts
 * await using hosts = await createTwoHosts();
 * await hosts.command(hosts.a, "ping", ["-c1", hosts.b.address]).output();
 * ```
 */
export async function createTwoHosts(): Promise<TwoHosts> {
  await sweepStale();
  const n = made++;
  const id = `${Deno.pid}-${n}`;
  const a: Host = { ns: `${PREFIX}a-${id}`, address: `${SUBNET}.1` };
  const b: Host = { ns: `${PREFIX}b-${id}`, address: `${SUBNET}.2` };
  const created: string[] = [];
  const close = async () => {
    for (const ns of created.splice(0)) await ip(["netns", "del", ns]);
  };
  try {
    for (const host of [a, b]) {
      await must(["netns", "add", host.ns]);
      created.push(host.ns);
    }
    const [vethA, vethB] = ["a", "b"].map((side) => `mcv${n}${side}${Deno.pid}`.slice(0, 15));
    await must([
      "link",
      "add",
      vethA!,
      "netns",
      a.ns,
      "type",
      "veth",
      "peer",
      vethB!,
      "netns",
      b.ns,
    ]);
    for (const [host, dev] of [[a, vethA!], [b, vethB!]] as const) {
      await must(["-n", host.ns, "addr", "add", `${host.address}/24`, "dev", dev]);
      await must(["-n", host.ns, "link", "set", dev, "up"]);
      await must(["-n", host.ns, "link", "set", "lo", "up"]);
    }
  } catch (error) {
    await close();
    throw error;
  }
  const command = (
    host: Host,
    program: string,
    args: string[],
    options: Deno.CommandOptions = {},
  ) => new Deno.Command("ip", { ...options, args: ["netns", "exec", host.ns, program, ...args] });
  return {
    a,
    b,
    command,
    mcpcomm: (host, args, env = {}, options = {}) =>
      command(host, Deno.execPath(), [...RUN_ARGS, ...args], {
        env: { ...baseEnv(), NO_COLOR: "1", ...env },
        clearEnv: true,
        cwd: Deno.makeTempDirSync(),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        ...options,
      }),
    close,
    [Symbol.asyncDispose]: close,
  };
}
