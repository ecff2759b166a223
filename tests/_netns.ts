/**
 * Two test hosts on one machine: two network namespaces joined by a veth pair, each with its own
 * address (TEST-NET-1, never routed anywhere), and mcpcomm run inside either with `ip netns exec`.
 * Needs root and iproute2; {@linkcode netnsUnavailable} says why not, for a named skip. Each run
 * holds a lock file, so that runs sharing the machine (in any PID namespace) only ever sweep the
 * namespaces of runs that are gone.
 * @module
 */
import { baseEnv, RUN_ARGS, tempDirSync } from "./_helpers.ts";

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

/**
 * Where each test run keeps a lock file it holds (`flock`) for as long as it lives: beside
 * `/run/netns`, so every run that sees the same namespaces sees the same locks, whatever its PID
 * namespace. The kernel drops the lock when the run dies, however it dies.
 */
export const LOCK_DIR = "/run/mcpcomm-netns";

/** This run's id, in the names of its namespaces and of its lock file. */
const RUN = `${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;

/** Namespace names made by {@linkcode createTwoHosts}: `mcpcomm-<run>-<n><a|b>`. */
const OWNED = /^mcpcomm-(\d+-[0-9a-f]{8})-\d+[ab]$/;

/** The name of namespace `side` of the `n`th pair of run `run`. */
export function namespaceName(run: string, n: number, side: "a" | "b"): string {
  return `${PREFIX}${run}-${n}${side}`;
}

/** The lock file of run `run`. */
export function lockPath(run: string): string {
  return `${LOCK_DIR}/${run}.lock`;
}

async function ip(args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const out = await new Deno.Command("ip", {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
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

let runLock: Promise<void> | undefined;

/**
 * Takes this run's lock, once, before its first namespace. The file is locked under a temporary
 * name and renamed into place, so no sweep ever finds it unlocked while this run lives.
 */
function holdRunLock(): Promise<void> {
  return runLock ??= (async () => {
    await Deno.mkdir(LOCK_DIR, { recursive: true });
    const temporary = `${LOCK_DIR}/.${RUN}.tmp`;
    const file = await Deno.open(temporary, { create: true, write: true });
    await file.lock(true);
    await Deno.rename(temporary, lockPath(RUN));
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(lockPath(RUN));
      } catch {
        // A sweep of a later run removes it.
      }
    });
  })();
}

/**
 * Deletes the namespaces and lock files of runs that are gone for sure: their lock file is
 * missing or nobody holds it. Namespaces of a live run, and names in any other form, stay.
 */
export async function sweepStale(): Promise<string[]> {
  const namespaces = new Map<string, string[]>();
  const listed = await ip(["netns", "list"]);
  for (const line of listed.stdout.split("\n")) {
    const name = line.split(" ")[0] ?? "";
    const run = name.match(OWNED)?.[1];
    if (run) namespaces.set(run, [...namespaces.get(run) ?? [], name]);
  }
  try {
    for await (const entry of Deno.readDir(LOCK_DIR)) {
      const run = entry.name.match(/^(\d+-[0-9a-f]{8})\.lock$/)?.[1];
      if (run && !namespaces.has(run)) namespaces.set(run, []);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const swept: string[] = [];
  for (const [run, names] of namespaces) {
    if (run === RUN) continue;
    let lock: Deno.FsFile | undefined;
    try {
      lock = await Deno.open(lockPath(run), { read: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    try {
      if (lock && !(await lock.tryLock(true))) continue;
      for (const name of names) {
        if ((await ip(["netns", "del", name])).ok) swept.push(name);
      }
      await Deno.remove(lockPath(run)).catch(() => {});
    } finally {
      lock?.close();
    }
  }
  return swept;
}

/** Why two hosts cannot be made here (not root, no `ip`, no namespaces), or `undefined`. */
export async function netnsUnavailable(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return `network namespaces need Linux, this is ${Deno.build.os}`;
  if (Deno.uid() !== 0) return "network namespaces need root";
  let probe;
  try {
    probe = await ip(["netns", "add", `${PREFIX}probe-${RUN}`]);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "`ip` (iproute2) is not installed";
    throw error;
  }
  if (!probe.ok) return `cannot create a network namespace: ${probe.stderr}`;
  await ip(["netns", "del", `${PREFIX}probe-${RUN}`]);
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
  await holdRunLock();
  const n = made++;
  const a: Host = { ns: namespaceName(RUN, n, "a"), address: `${SUBNET}.1` };
  const b: Host = { ns: namespaceName(RUN, n, "b"), address: `${SUBNET}.2` };
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
        cwd: tempDirSync(),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        ...options,
      }),
    close,
    [Symbol.asyncDispose]: close,
  };
}
