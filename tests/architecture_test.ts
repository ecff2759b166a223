import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { assertEquals } from "./_assert.ts";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

/** Each folder's layer: a module may import its own layer or a lower one, never a higher one. */
const LAYERS: Record<string, number> = {
  "core": 0,
  "wire.ts": 0,
  "ledger": 1,
  "providers": 1,
  "oauth": 1,
  "metrics": 1,
  "shared": 1,
  "http": 2,
  "mcp": 3,
  "server_a": 4,
  "server_b": 4,
  "toolbox": 4,
  "client": 4,
  "commands": 5,
  "cli.ts": 5,
  "build": 6,
  "main.ts": 6,
};
const ROLES = new Set(["server_a", "server_b", "toolbox", "client"]);
const IMPORT =
  /(?:(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?|import\(\s*)["'](\.{1,2}\/[^"']+)["']/g;

function sourceFiles(dir = SRC): string[] {
  return [...Deno.readDirSync(dir)].flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory ? sourceFiles(path) : entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** `src/`-relative top folder (or top-level file) of `path`. */
function unitOf(path: string): string {
  return relative(SRC, path).split("/")[0]!;
}

function importsOf(path: string): string[] {
  const text = Deno.readTextFileSync(path);
  return [...text.matchAll(IMPORT)].map((m) => normalize(join(dirname(path), m[1]!)))
    .filter((target) => target.startsWith(SRC));
}

Deno.test("src/ imports point down the layers; roles never import each other", () => {
  const wrong: string[] = [];
  for (const file of sourceFiles()) {
    const from = unitOf(file);
    for (const target of importsOf(file)) {
      const to = unitOf(target);
      if (from === to) continue;
      const up = (LAYERS[to] ?? 99) > (LAYERS[from] ?? -1);
      const sideways = ROLES.has(from) && ROLES.has(to);
      if (up || sideways) wrong.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
    }
  }
  assertEquals(wrong, []);
});

Deno.test("src/ folders are entered through their mod.ts; _-files stay inside their folder", () => {
  const wrong: string[] = [];
  for (const file of sourceFiles()) {
    for (const target of importsOf(file)) {
      if (dirname(target) === dirname(file) || dirname(target) === SRC.replace(/\/$/, "")) continue;
      if (!target.endsWith("/mod.ts")) {
        wrong.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
      }
    }
  }
  assertEquals(wrong, []);
});

Deno.test("no src/ module is over 300 lines", () => {
  const long = sourceFiles().flatMap((file) => {
    const lines = Deno.readTextFileSync(file).split("\n").length - 1;
    return lines > 300 ? [`${relative(SRC, file)}: ${lines} lines`] : [];
  });
  assertEquals(long, []);
});

Deno.test("only src/main.ts and the compile script read the environment", () => {
  const readers = sourceFiles()
    .filter((file) => /Deno\.env\.|process\.env\b/.test(Deno.readTextFileSync(file)))
    .map((file) => relative(SRC, file)).sort();
  assertEquals(readers, ["build/compile.ts", "main.ts"]);
});
