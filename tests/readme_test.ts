import { loadConfig, type SettingName, SETTINGS } from "../src/core/config.ts";
import { assert, assertEquals } from "./_assert.ts";

const root = new URL("../", import.meta.url);
const names = Object.keys(SETTINGS) as SettingName[];
const defaults = loadConfig() as Record<string, unknown>;

function shownDefault(name: SettingName): string | undefined {
  const value = defaults[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(",") : String(value);
}

Deno.test(".env.example documents every setting with its default and what it accepts", () => {
  const text = Deno.readTextFileSync(new URL(".env.example", root));
  const lines = text.split("\n");
  const documented = new Set<string>();
  for (const [i, line] of lines.entries()) {
    const match = line.match(/^(?:# )?([A-Z][A-Z0-9_]*)=(.*)$/);
    if (!match) continue;
    const [, name, value] = match as unknown as [string, SettingName, string];
    assert(Object.hasOwn(SETTINGS, name), `.env.example names an unknown setting ${name}`);
    documented.add(name);
    const expected = shownDefault(name);
    if (line.startsWith("#")) assertEquals(expected, undefined, `${name} has a default`);
    else assertEquals(value, expected, `${name} in .env.example`);
    const comment = lines[i - 1] ?? "";
    assert(
      comment.startsWith("# ") && comment.includes(SETTINGS[name].accepts),
      `${name}: the line above should say it accepts ${SETTINGS[name].accepts}`,
    );
  }
  assertEquals(names.filter((n) => !documented.has(n)), []);
});

Deno.test("docs/configuration.md's settings table has one row per setting with its default and what it accepts", () => {
  const page = Deno.readTextFileSync(new URL("docs/configuration.md", root));
  const start = page.indexOf("\n## Settings\n");
  assert(start >= 0, "docs/configuration.md has no ## Settings section");
  const end = page.indexOf("\n## ", start + 1);
  const section = page.slice(start, end < 0 ? undefined : end);
  const rows = new Map<string, string[]>();
  for (const line of section.split("\n")) {
    const match = line.match(/^\| `([A-Z][A-Z0-9_]*)` +\|(.*)\|$/);
    if (!match) continue;
    assert(!rows.has(match[1]!), `${match[1]} has two rows`);
    rows.set(match[1]!, match[2]!.split("|").map((cell) => cell.trim()));
  }
  for (const name of names) {
    const row = rows.get(name);
    assert(row, `docs/configuration.md has no row for ${name}`);
    const [shown, accepts] = row;
    const expected = shownDefault(name);
    assertEquals(shown, expected === undefined ? "(unset)" : `\`${expected}\``, name);
    assertEquals(accepts, SETTINGS[name].accepts, name);
  }
  assertEquals([...rows.keys()].filter((n) => !Object.hasOwn(SETTINGS, n)), []);
});

Deno.test("docs/server_b_api.md shows every seed curl recipe", () => {
  const text = Deno.readTextFileSync(new URL("docs/server_b_api.md", root));
  for (
    const recipe of [
      "curl -s http://localhost:8000/health",
      '"model":"gpt-4o-mini","max_tokens":100',
      '"model":"claude-3.5-sonnet-v2","max_tokens":100',
      "curl -s http://localhost:8000/models",
      "curl -s http://localhost:8000/config",
      "curl -s -N -X POST http://localhost:8000/stream",
    ]
  ) {
    assert(text.includes(recipe), `docs/server_b_api.md lacks ${recipe}`);
  }
});
