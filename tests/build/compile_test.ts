import denoJson from "../../deno.json" with { type: "json" };
import { main, outputPath, TARGETS, V8_FLAGS } from "../../src/build/compile.ts";
import { permissionFlags, PERMISSIONS } from "../../src/build/_permissions.ts";
import { VERSION } from "../../src/core/version.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { spawnServer } from "../_spawn.ts";
import { baseEnv, tempDir } from "../_helpers.ts";

const COMPILE = new URL("../../src/build/compile.ts", import.meta.url).pathname;
const HOST = Deno.build.target;
const decoder = new TextDecoder();

/** Runs `deno task compile ARGS` (the driver, with the task's permissions) with `env`. */
async function compileTask(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", ...permissionFlags(), COMPILE, ...args],
    env: { ...baseEnv(), NO_COLOR: "1", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
    // Bounded: a runtime download that stalls (no internet) must not hang the run.
    signal: AbortSignal.timeout(300_000),
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Builds this machine's binary once, the way `deno task compile` does, with the runtime at hand. */
async function buildHostBinary() {
  const dir = await tempDir({ prefix: "mcpcomm-dist-" });
  const denort = Deno.env.get("DENORT_BIN");
  const result = await compileTask(
    ["--target", HOST, "--out", dir, "--no-check"],
    denort ? { DENORT_BIN: denort } : {},
  );
  if (result.code !== 0) await Deno.remove(dir, { recursive: true });
  return { dir, path: result.code === 0 ? outputPath(dir, HOST) : undefined, ...result };
}

const probe = await buildHostBinary();
const noBinary = probe.path === undefined
  ? `no runtime to build with: ${probe.stderr.trim().split("\n")[0]}`
  : undefined;
if (noBinary) {
  Deno.stderr.writeSync(
    new TextEncoder().encode(
      `compile_test.ts: tests of the compiled binary skipped (${noBinary}); set DENORT_BIN\n`,
    ),
  );
}
const binarySkip = noBinary ? " (skipped: cannot build a binary here; set DENORT_BIN)" : "";

/** The metadata `deno compile` appends to a binary: its baked-in flags. */
async function readMetadata(path: string): Promise<Record<string, unknown>> {
  const runtimeBytes = (await Deno.stat(Deno.execPath())).size;
  using file = await Deno.open(path);
  await file.seek(Math.max(0, runtimeBytes - 1024), Deno.SeekMode.Start);
  const tail = new Uint8Array((await file.stat()).size - Math.max(0, runtimeBytes - 1024));
  let read = 0;
  while (read < tail.length) {
    const n = await file.read(tail.subarray(read));
    if (n === null) break;
    read += n;
  }
  const text = new TextDecoder("latin1").decode(tail);
  const start = text.indexOf('{"argv":');
  assert(start >= 0, "no deno compile metadata found");
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return JSON.parse(text.slice(start, i + 1));
  }
  throw new Error("unterminated deno compile metadata");
}

Deno.test("deno task compile builds this machine's binary, or stops saying how to get the runtime", () => {
  if (probe.path !== undefined) {
    assertEquals(probe.code, 0, probe.stderr);
    assertMatch(probe.stdout, new RegExp(`built .*mcpcomm-${HOST}.*runs: mcpcomm ${VERSION}`));
    return;
  }
  assertEquals(probe.code, 1, probe.stderr);
  assertMatch(probe.stderr, /could not download the Deno runtime for /);
  assertMatch(
    probe.stderr,
    new RegExp(`DENORT_BIN=/path/to/denort deno task compile --target ${HOST}`),
  );
});

Deno.test("V8_FLAGS of compile.ts are the flags of `deno task start`", () => {
  assertMatch(denoJson.tasks.start, new RegExp(` --v8-flags=${V8_FLAGS.join(",")} `));
});

Deno.test("main() of compile.ts returns its exit code instead of exiting", async () => {
  assertEquals(await main(["--target", "riscv64-linux"], {}), 2);
  assertEquals(await main(["--bogus-flag"], {}), 2);
  assertEquals(await main(["--help"], {}), 0);
});

Deno.test("deno task compile refuses bad targets and DENORT_BIN for several targets", async (t) => {
  await t.step("unknown target: exit 2 naming it", async () => {
    const out = await compileTask(["--target", "riscv64-linux"]);
    assertEquals(out.code, 2);
    assertMatch(
      out.stderr,
      /unknown target "riscv64-linux"; expected one of x86_64-unknown-linux-gnu/,
    );
  });
  await t.step("DENORT_BIN is one runtime: two targets are refused", async () => {
    const out = await compileTask(
      ["--target", TARGETS[0], "--target", TARGETS[1]],
      { DENORT_BIN: Deno.execPath() },
    );
    assertEquals(out.code, 1);
    assertMatch(out.stderr, /DENORT_BIN is the runtime of one target; choose it with --target/);
  });
  await t.step("DENORT_BIN that does not exist", async () => {
    const out = await compileTask(["--target", HOST], { DENORT_BIN: "/nonexistent/denort" });
    assertEquals(out.code, 1);
    assertMatch(out.stderr, /DENORT_BIN="\/nonexistent\/denort" does not exist/);
  });
});

Deno.test("deno task compile honours DENORT_BIN and removes a binary that does not run as mcpcomm", async () => {
  const dir = await tempDir();
  try {
    // `deno` itself is not a compile runtime: the result runs as deno, which the driver catches.
    const out = await compileTask(["--target", HOST, "--out", dir, "--no-check"], {
      DENORT_BIN: Deno.execPath(),
    });
    assertEquals(out.code, 1, out.stderr);
    assertMatch(out.stderr, /--version printed "deno \d+\.\d+\.\d+.*" instead of "mcpcomm /);
    assertMatch(out.stderr, /DENORT_BIN must be denort/);
    assertEquals([...Deno.readDirSync(dir)].length, 0, "the broken binary is removed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task compile bakes the mcpcomm permission set, V8 flags and the version into the binary", async () => {
  const dir = await tempDir();
  const target = HOST.startsWith("x86_64")
    ? "aarch64-unknown-linux-gnu"
    : "x86_64-unknown-linux-gnu";
  try {
    // Any runtime file shows what deno compile appended; another target is not run afterwards.
    const out = await compileTask(["--target", target, "--out", dir, "--no-check"], {
      DENORT_BIN: Deno.execPath(),
    });
    assertEquals(out.code, 0, out.stderr);
    assertMatch(out.stdout, /deno compile --allow-net --allow-env/);
    const meta = await readMetadata(outputPath(dir, target));
    const p = meta.permissions as Record<string, unknown>;
    const all: string[] = [];
    assertEquals(p.allow_net, all);
    assertEquals(p.allow_env, all);
    assertEquals(p.allow_read, all);
    assertEquals(p.allow_write, all);
    assertEquals(p.allow_run, all);
    assertEquals(p.allow_ffi, null);
    assertEquals(p.allow_sys, PERMISSIONS.sys);
    const v8Flags = meta.v8_flags as string[];
    for (const flag of V8_FLAGS) assert(v8Flags.includes(flag), `${flag} not in ${v8Flags}`);
    assertEquals(meta.entrypoint_key, "src/main.ts");
    assertEquals(meta.app_version, VERSION);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: `compiled mcpcomm --version prints the version from deno.json${binarySkip}`,
  ignore: noBinary !== undefined,
  async fn() {
    const out = await new Deno.Command(probe.path!, { args: ["--version"], clearEnv: true })
      .output();
    assertEquals(decoder.decode(out.stdout), `mcpcomm ${VERSION}\n`);
  },
});

Deno.test({
  name:
    `compiled mcpcomm runs server-b and proves the chain with only its baked-in permissions${binarySkip}`,
  ignore: noBinary !== undefined,
  async fn() {
    const cwd = await tempDir();
    try {
      await using b = await spawnServer(["server-b"], {
        command: new Deno.Command(probe.path!, {
          args: ["server-b", "--host", "127.0.0.1", "--port", "0"],
          cwd,
          clearEnv: true,
          env: { HOME: cwd, AI_PROVIDER: "mock" },
          stdin: "null",
          stdout: "null",
          stderr: "piped",
        }),
      });
      const url = b.url;
      const out = await new Deno.Command(probe.path!, {
        args: ["test", "--server-b-url", url, "--json"],
        cwd,
        clearEnv: true,
        env: { HOME: cwd },
      }).output();
      const report = JSON.parse(decoder.decode(out.stdout));
      assertEquals(out.code, 0, decoder.decode(out.stderr));
      assertEquals(report.ok, true);
      assert(!b.lines.some((l) => /NotCapable|PermissionDenied/.test(l)), b.lines.join("\n"));
    } finally {
      await Deno.remove(cwd, { recursive: true });
      await Deno.remove(probe.dir, { recursive: true });
    }
  },
});
