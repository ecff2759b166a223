/**
 * `deno task compile`: builds `dist/mcpcomm-<target>` for every release target with `deno compile`,
 * the `mcpcomm` permission set baked in (never `-A`) and the version from `deno.json` embedded.
 *
 * `deno compile` downloads the Deno runtime (`denort`) for each target, then keeps it in DENO_DIR.
 * Where that cannot happen, `DENORT_BIN` names a runtime already on disk (one target per run).
 * @module
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { printError, printOut, VERSION } from "../core/mod.ts";
import { permissionFlags } from "./_permissions.ts";

/** The targets `deno task compile` builds by default. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/**
 * V8 flags baked into the binary (`deno task start` passes the same). A 4 MB semi-space caps the
 * young generation, which otherwise grows to ~56 MiB while sessions open and stays committed
 * while idle (Server A with 1,000 sessions: ~123 MiB RSS instead of ~166 MiB).
 */
export const V8_FLAGS: readonly string[] = ["--max-semi-space-size=4"];

const ENTRY = fileURLToPath(new URL("../main.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Where the binary for `target` goes inside `outDir`. */
export function outputPath(outDir: string, target: string): string {
  return `${outDir.replace(/\/+$/, "")}/mcpcomm-${target}${
    target.includes("windows") ? ".exe" : ""
  }`;
}

/** The `deno compile` arguments for one target: the permission set and {@linkcode V8_FLAGS}. */
export function compileArgs(
  target: string,
  output: string,
  options: { check?: boolean } = {},
): string[] {
  return [
    "compile",
    ...(options.check === false ? ["--no-check"] : []),
    "--target",
    target,
    "--output",
    output,
    ...permissionFlags(),
    `--v8-flags=${V8_FLAGS.join(",")}`,
    ENTRY,
  ];
}

/** A build that cannot go on; its message says what to do. */
export class CompileError extends Error {
  override name = "CompileError";
}

function runtimeMissing(target: string, denoVersion: string): string {
  return [
    `deno compile could not download the Deno runtime for ${target} (no internet here?).`,
    `Either run \`deno task compile\` once on a machine that can download it (it is cached in DENO_DIR`,
    `afterwards), or get denort-${target}.zip of Deno ${denoVersion} from Deno's GitHub releases,`,
    `unzip it and run: DENORT_BIN=/path/to/denort deno task compile --target ${target}`,
  ].join("\n");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** What {@linkcode compile} built. */
export interface Built {
  target: string;
  path: string;
  bytes: number;
  /** What the binary printed for `--version`, when it is this machine's target. */
  version?: string;
}

/** Options of {@linkcode compile}. */
export interface CompileOptions {
  targets: readonly string[];
  outDir: string;
  /** A runtime on disk instead of a download (`DENORT_BIN`); one target only. */
  denortBin?: string | undefined;
  /** Type-check first (default true). */
  check?: boolean;
}

/**
 * Builds one binary per target; throws {@linkcode CompileError} with what to do when the runtime
 * is missing or the binary built for this machine does not answer `--version` as mcpcomm.
 */
export async function compile(options: CompileOptions): Promise<Built[]> {
  const { targets, outDir, denortBin } = options;
  const host = Deno.build.target;
  if (denortBin !== undefined) {
    if (targets.length !== 1) {
      throw new CompileError(
        `DENORT_BIN is the runtime of one target; choose it with --target (one of ${
          TARGETS.join(", ")
        })`,
      );
    }
    if (!await exists(denortBin)) {
      throw new CompileError(`DENORT_BIN="${denortBin}" does not exist`);
    }
  }
  await Deno.mkdir(outDir, { recursive: true });
  const built: Built[] = [];
  for (const target of targets) {
    const path = outputPath(outDir, target);
    const env: Record<string, string> = { NO_COLOR: "1" };
    if (denortBin !== undefined) env.DENORT_BIN = denortBin;
    const output = await new Deno.Command(Deno.execPath(), {
      args: compileArgs(target, path, { check: options.check ?? true }),
      cwd: ROOT,
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      const stderr = new TextDecoder().decode(output.stderr);
      if (denortBin === undefined && /Setting up base binary|denort/i.test(stderr)) {
        throw new CompileError(runtimeMissing(target, Deno.version.deno));
      }
      throw new CompileError(`deno compile failed for ${target}:\n${stderr.trim()}`);
    }
    const result: Built = { target, path, bytes: (await Deno.stat(path)).size };
    if (target === host) {
      const run = await new Deno.Command(path, {
        args: ["--version"],
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const printed = new TextDecoder().decode(run.stdout).trim();
      if (!run.success || printed !== `mcpcomm ${VERSION}`) {
        await Deno.remove(path);
        const first = (printed || new TextDecoder().decode(run.stderr)).split("\n")[0];
        throw new CompileError(
          `${path} --version printed "${first}" instead of "mcpcomm ${VERSION}"; removed it.${
            denortBin === undefined
              ? ""
              : " DENORT_BIN must be denort (the runtime-only binary from denort-<target>.zip), not deno."
          }`,
        );
      }
      result.version = printed;
    }
    built.push(result);
  }
  return built;
}

const HELP = `Usage: deno task compile [--target TARGET]... [--out DIR] [--no-check]

Builds dist/mcpcomm-<target> with deno compile, the permission set "mcpcomm" of deno.json baked in.
Targets (default: all): ${TARGETS.join(", ")}.
DENORT_BIN=/path/to/denort uses that runtime instead of downloading one (then one --target).`;

/** Runs the build from the command line; resolves to the exit code. */
export async function main(args: string[], env: { DENORT_BIN?: string }): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        target: { type: "string", multiple: true },
        out: { type: "string", default: fileURLToPath(new URL("../../dist", import.meta.url)) },
        "no-check": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    printError(`compile: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  if (values.help) {
    printOut(HELP);
    return 0;
  }
  const unknown = (values.target ?? []).filter((t) => !(TARGETS as readonly string[]).includes(t));
  if (unknown.length > 0) {
    printError(`compile: unknown target "${unknown[0]}"; expected one of ${TARGETS.join(", ")}`);
    return 2;
  }
  const denortBin = env.DENORT_BIN || undefined;
  const targets = values.target ?? (denortBin ? [Deno.build.target] : TARGETS);
  printOut(`mcpcomm ${VERSION}: deno compile ${permissionFlags().join(" ")}`);
  try {
    const built = await compile({
      targets,
      outDir: values.out,
      denortBin,
      check: !values["no-check"],
    });
    for (const b of built) {
      const size = `${(b.bytes / 1048576).toFixed(1)} MiB`;
      printOut(`built ${b.path} (${size})${b.version ? `, runs: ${b.version}` : ""}`);
    }
    return 0;
  } catch (error) {
    if (!(error instanceof CompileError)) throw error;
    printError(`compile: ${error.message}`);
    return 1;
  }
}

if (import.meta.main) {
  // The code is set, not exited with: only src/main.ts exits, and nothing is left running here.
  Deno.exitCode = await main(Deno.args, { DENORT_BIN: Deno.env.get("DENORT_BIN") ?? "" });
}
