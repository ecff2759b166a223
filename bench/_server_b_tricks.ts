/**
 * The end-to-end rows of the speed tricks: Server B's `POST /process` (mock provider, ledger in
 * memory, `LOG_LEVEL=warn`, loopback) with every trick, with every trick replaced by its plain
 * code, once per trick with only that trick replaced, and a control (every trick module swapped
 * for a copy of itself), loaded by `wrk` one process at a time (idle siblings still cost the
 * one under load 10-15%), a new process per round, every other round in reverse order. The plain code is swapped in without
 * any setting: the plain Server B runs with `--import-map`, a map of `deno.json`'s imports plus
 * the trick module's file URL remapped to its twin under `bench/plain/` (checked at start: the
 * twin wrapped in a module that throws must stop the import).
 * @module
 */
import { cpuSeconds } from "./_ablations.ts";
import { median, runWrk } from "./_load.ts";
import { freePort, MAIN, ROOT, RUN_FLAGS, spawn, waitForPort } from "./_processes.ts";

/** A speed trick: its module and the plain twin that replaces it. */
export interface Trick {
  name: string;
  /** What the plain twin does instead. */
  plainName: string;
  /** The trick's module, relative to the repository root. */
  module: string;
  /** The plain twin, relative to the repository root. */
  plain: string;
}

/** Every speed trick Server B's `POST /process` goes through. */
export const TRICKS: readonly Trick[] = [
  {
    name: "watchClient",
    plainName: "request.signal",
    module: "src/http/watch_client.ts",
    plain: "bench/plain/watch_client.ts",
  },
  {
    name: "shared attempt timer",
    plainName: "a timer per attempt",
    module: "src/core/_attempt_timer.ts",
    plain: "bench/plain/attempt_timer.ts",
  },
  {
    name: "metric fast path",
    plainName: "the labelled lookup",
    module: "src/metrics/_series_lookup.ts",
    plain: "bench/plain/series_lookup.ts",
  },
  {
    name: "isoNow cache",
    plainName: "new Date().toISOString()",
    module: "src/core/clock.ts",
    plain: "bench/plain/clock.ts",
  },
];

/** One Server B variant's medians. */
export interface VariantResult {
  name: string;
  /** The one trick replaced, for the rows of single tricks. */
  trick?: Trick;
  /** Requests per second, median of the rounds. */
  rps: number;
  /** Server B's CPU per request in microseconds, median of the rounds. */
  cpuUs: number;
  rounds: number[];
}

/** What {@linkcode measureServerBTricks} found. */
export interface ServerBTricks {
  tricks: VariantResult;
  /** Every trick module replaced by a copy of itself: what the import map alone costs. */
  control: VariantResult;
  plain: VariantResult;
  /** One per {@linkcode TRICKS} entry: Server B with only that trick replaced. */
  without: VariantResult[];
  how: string;
}

const fileUrl = (path: string) => new URL(path, `file://${ROOT}`).href;

/** Writes an import map: `deno.json`'s imports plus `swaps` (repository paths), returns its path. */
export function writeImportMap(dir: string, name: string, swaps: [string, string][]): string {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`));
  const imports: Record<string, string> = { ...config.imports };
  for (const [from, to] of swaps) {
    imports[fileUrl(from)] = to.startsWith("file:") ? to : fileUrl(to);
  }
  const path = `${dir}/import_map_${name}.json`;
  Deno.writeTextFileSync(path, JSON.stringify({ imports }, null, 2));
  return path;
}

/**
 * Copies each trick's module into `dir` (as `<prefix>_<i>.ts`) and returns the import-map swaps
 * from the module to its copy: the control that shows what swapping through a map costs.
 */
export function copiedModules(
  dir: string,
  prefix: string,
  tricks: readonly { module: string }[],
): [string, string][] {
  return tricks.map((t, i): [string, string] => {
    const copy = `${dir}/${prefix}_${i}.ts`;
    Deno.copyFileSync(`${ROOT}${t.module}`, copy);
    return [t.module, `file://${copy}`];
  });
}

/**
 * Throws unless remapping each trick's module to its twin plus a `throw` stops the import of
 * `entry` (a repository path).
 */
export async function checkSwaps(
  dir: string,
  entry: string,
  tricks: readonly { module: string; plain: string }[],
): Promise<void> {
  const tag = entry.replace(/\W/g, "_");
  const probe = `${dir}/probe_${tag}.ts`;
  Deno.writeTextFileSync(probe, `import "${fileUrl(entry)}";\n`);
  const checks = tricks.map(async (trick, i) => {
    const bomb = `${dir}/bomb_${tag}_${i}.ts`;
    Deno.writeTextFileSync(
      bomb,
      `export * from "${fileUrl(trick.plain)}";\nthrow new Error("swapped ${trick.module}");\n`,
    );
    const map = writeImportMap(dir, `bomb_${tag}_${i}`, [[trick.module, `file://${bomb}`]]);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-q", "-A", "--config", `${ROOT}deno.json`, `--import-map=${map}`, probe],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr);
    if (out.success || !text.includes(`swapped ${trick.module}`)) {
      throw new Error(`--import-map did not replace ${trick.module}: ${text.slice(0, 400)}`);
    }
  });
  await Promise.all(checks);
}

/** Measures Server B with and without each trick; `say` reports progress. */
export async function measureServerBTricks(options: {
  quick: boolean;
  rounds: number;
  seconds: number;
  connections: number;
  cwd: string;
  say: (line: string) => void;
}): Promise<ServerBTricks> {
  await checkSwaps(options.cwd, "src/server_b/mod.ts", TRICKS);
  const env = {
    LOG_LEVEL: "warn",
    XDG_DATA_HOME: options.cwd,
    MCPCOMM_DB: ":memory:",
    HTTP_HOST: "127.0.0.1",
    AI_PROVIDER: "mock",
    MOCK_DELAY_MS: "0",
  };
  const all = TRICKS.map((t): [string, string] => [t.module, t.plain]);
  const copies = copiedModules(options.cwd, "copy", TRICKS);
  const variants: { name: string; swaps: [string, string][]; trick?: Trick }[] = [
    { name: "all tricks", swaps: [] },
    { name: "all tricks, each module a copy through the import map", swaps: copies },
    { name: "all plain", swaps: all },
    ...TRICKS.map((t) => ({
      name: `${t.name} -> ${t.plainName}`,
      swaps: [[t.module, t.plain]] as [string, string][],
      trick: t,
    })),
  ];
  const maps = variants.map((v, i) =>
    v.swaps.length ? [`--import-map=${writeImportMap(options.cwd, `v${i}`, v.swaps)}`] : []
  );
  const load = (url: string, seconds: number) =>
    runWrk({
      url,
      body: JSON.stringify({ message: "hello" }),
      connections: options.connections,
      threads: 2,
      seconds,
      expect: "MOCK RESPONSE",
    });
  const rps = variants.map((): number[] => []);
  const cpu = variants.map((): number[] => []);
  for (let round = 0; round < options.rounds; round++) {
    options.say(`speed tricks, Server B end to end: round ${round + 1} of ${options.rounds}`);
    const order = variants.map((_, i) => i);
    if (round % 2) order.reverse();
    for (const i of order) {
      const port = freePort();
      const args = ["run", ...RUN_FLAGS, ...maps[i]!, MAIN, "server-b"];
      const proc = spawn(`server-b (${variants[i]!.name})`, Deno.execPath(), args, {
        ...env,
        HTTP_PORT: String(port),
      }, options.cwd);
      try {
        await waitForPort(proc, port);
        const url = `http://127.0.0.1:${port}/process`;
        await load(url, options.quick ? 1 : 2);
        const before = cpuSeconds(proc.pid);
        const result = await load(url, options.seconds);
        rps[i]!.push(result.rps);
        cpu[i]!.push((cpuSeconds(proc.pid) - before) / result.requests * 1e6);
      } finally {
        await proc.stop();
      }
    }
  }
  const results = variants.map((v, i): VariantResult => ({
    name: v.name,
    ...(v.trick ? { trick: v.trick } : {}),
    rps: median(rps[i]!),
    cpuUs: median(cpu[i]!),
    rounds: rps[i]!,
  }));
  return {
    tricks: results[0]!,
    control: results[1]!,
    plain: results[2]!,
    without: results.slice(3),
    how: `wrk -t2 -c${options.connections}, ${options.rounds} rounds x ${options.seconds} s, ` +
      "one process at a time, new each round, order reversed every other round",
  };
}
