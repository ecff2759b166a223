import { COMMANDS } from "../src/commands/mod.ts";
import { assert, assertEquals } from "./_assert.ts";

const root = new URL("../", import.meta.url);

/** README.md and every page of docs/, as paths relative to the repository. */
function docFiles(): string[] {
  const pages = [...Deno.readDirSync(new URL("docs/", root))]
    .filter((entry) => entry.isFile && entry.name.endsWith(".md"))
    .map((entry) => `docs/${entry.name}`)
    .sort();
  return ["README.md", ...pages];
}

function read(path: string): string {
  return Deno.readTextFileSync(new URL(path, root));
}

/** The text outside fenced code blocks, line by line (fenced lines become empty). */
function prose(text: string): string[] {
  let fenced = false;
  return text.split("\n").map((line) => {
    if (line.trimStart().startsWith("```")) {
      fenced = !fenced;
      return "";
    }
    return fenced ? "" : line;
  });
}

/** Fenced code blocks with their info string. */
function codeBlocks(text: string): { lang: string; code: string }[] {
  const blocks: { lang: string; code: string }[] = [];
  let current: { lang: string; lines: string[] } | undefined;
  for (const line of text.split("\n")) {
    const fence = line.trimStart().match(/^```(\S*)/);
    if (fence && !current) current = { lang: fence[1] ?? "", lines: [] };
    else if (fence && current) {
      blocks.push({ lang: current.lang, code: current.lines.join("\n") });
      current = undefined;
    } else current?.lines.push(line);
  }
  return blocks;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
export function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\p{M}_\- ]/gu, "").replaceAll(" ", "-");
}

function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of prose(text)) {
    const match = line.match(/^#{1,6} (.+)$/);
    if (!match) continue;
    const base = slug(match[1]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

function links(text: string): string[] {
  return prose(text).flatMap((line) =>
    [...line.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!)
  );
}

function resolve(from: string, target: string): string {
  return new URL(target, new URL(from, "file:///repo/")).pathname.slice("/repo/".length);
}

function exists(path: string): boolean {
  try {
    Deno.statSync(new URL(path, root));
    return true;
  } catch {
    return false;
  }
}

Deno.test("slug() makes GitHub's heading anchors", () => {
  assertEquals(
    slug("OAuth clients: `mcpcomm client` and the gateway's upstreams"),
    "oauth-clients-mcpcomm-client-and-the-gateways-upstreams",
  );
  assertEquals(
    slug("nginx in front of Server B (TLS and streaming)"),
    "nginx-in-front-of-server-b-tls-and-streaming",
  );
  assertEquals(slug("MCP_ALLOWED_HOSTS and 2026-07-28"), "mcp_allowed_hosts-and-2026-07-28");
});

Deno.test("every relative link and #anchor in README.md and docs/ resolves", () => {
  const broken: string[] = [];
  for (const file of docFiles()) {
    for (const link of links(read(file))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue;
      const [path = "", anchor] = link.split("#", 2);
      const target = path === "" ? file : resolve(file, path);
      if (!exists(target)) {
        broken.push(`${file}: ${link} (no ${target})`);
        continue;
      }
      if (anchor !== undefined && !anchors(read(target)).has(anchor)) {
        broken.push(`${file}: ${link} (no heading #${anchor} in ${target})`);
      }
    }
  }
  assertEquals(broken, []);
});

Deno.test("README's Documentation table links every docs page", () => {
  const readme = read("README.md");
  const linked = new Set(links(readme).map((link) => link.split("#")[0]));
  const pages = docFiles().slice(1);
  assertEquals(pages.filter((page) => !linked.has(page)), []);
});

Deno.test("each docs page has a Contents list naming each of its sections", () => {
  for (const file of docFiles().slice(1)) {
    const text = read(file);
    const lines = prose(text);
    const headings = lines.flatMap((line) => line.match(/^#{2,3} (.+)$/)?.[1] ?? []);
    const start = lines.indexOf("**Contents**");
    assert(start > 0, `${file} has no **Contents** list`);
    const listed: string[] = [];
    for (const line of lines.slice(start + 1)) {
      if (line.startsWith("#")) break;
      const match = line.match(/^ *- \[(.+)\]\(#[^)]+\)$/);
      if (match) listed.push(match[1]!);
    }
    assertEquals(listed, headings, `${file}: the Contents list and the ## / ### headings`);
    assertEquals(lines.filter((line) => /^# /.test(line)).length, 1, `${file} has one # title`);
  }
});

Deno.test("every json block in README.md and docs/ parses", () => {
  for (const file of docFiles()) {
    for (const { lang, code } of codeBlocks(read(file))) {
      if (lang !== "json") continue;
      try {
        JSON.parse(code);
      } catch (error) {
        throw new Error(`${file}: a json block does not parse: ${error}\n${code}`);
      }
    }
  }
});

/** Splits a shell line into words, honouring quotes and backslashes; operators are own words. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let quote: string | undefined;
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      started = true;
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[++i];
      started = true;
    } else if (/\s/.test(c) || c === "|" || c === ";" || c === "&") {
      if (started) words.push(word);
      if (c === "|" || c === ";" || c === "&") words.push(c);
      word = "";
      started = false;
    } else {
      word += c;
      started = true;
    }
  }
  if (started) words.push(word);
  return words;
}

/** `mcpcomm SUBCOMMAND ...` invocations in a shell line (also `deno task start SUBCOMMAND`). */
function invocations(line: string): { name: string; args: string[] }[] {
  const words = shellWords(line.replace(/(^|\s)#.*$/, ""));
  const found: { name: string; args: string[] }[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word.includes(" ")) found.push(...invocations(word.slice(word.indexOf("mcpcomm"))));
    const atCommand = words.slice(0, i).every((w) => /^[A-Z_][A-Z0-9_]*=/.test(w)) ||
      ["|", ";", "&"].includes(words[i - 1] ?? "");
    const isMcpcomm = atCommand && /(^|[/:])mcpcomm$/.test(word);
    const isTask = word === "start" && words[i - 1] === "task" && words[i - 2] === "deno";
    if (!isMcpcomm && !isTask) continue;
    const end = words.findIndex((w, j) => j > i && ["|", ";", "&"].includes(w));
    const args = words.slice(i + 1, end < 0 ? undefined : end);
    if (args[0] && /^[a-z][a-z-]*$/.test(args[0])) {
      found.push({ name: args[0], args: args.slice(1) });
    }
    i = end < 0 ? words.length : end;
  }
  return found;
}

/** Shell commands in sh blocks (continuation lines joined) and in inline code spans. */
function shellLines(text: string): string[] {
  const fenced = codeBlocks(text)
    .filter(({ lang }) => lang === "sh")
    .flatMap(({ code }) => code.replace(/\\\n\s*/g, " ").split("\n"));
  const inline = prose(text).flatMap((line) =>
    [...line.matchAll(/`((?:mcpcomm|deno task start) [^`]+)`/g)].map((m) => m[1]!)
  );
  return [...fenced, ...inline];
}

Deno.test("every mcpcomm command in README.md and docs/ names a subcommand and its flags", () => {
  const wrong: string[] = [];
  let checked = 0;
  for (const file of docFiles()) {
    for (const line of shellLines(read(file))) {
      for (const { name, args } of invocations(line)) {
        const command = COMMANDS.find((c) => c.name === name);
        if (!command) {
          wrong.push(`${file}: unknown subcommand in: ${line}`);
          continue;
        }
        checked++;
        const long = new Set(["help", ...Object.keys(command.options)]);
        const short = new Set([
          "h",
          ...Object.values(command.options).flatMap((o) => o.short ?? []),
        ]);
        for (const arg of args) {
          const flag = arg.match(/^--([a-z][a-z0-9-]*)/)?.[1] ?? arg.match(/^-([a-zA-Z])$/)?.[1];
          if (flag === undefined) continue;
          if (!(flag.length === 1 ? short : long).has(flag)) {
            wrong.push(`${file}: mcpcomm ${name} has no flag ${arg}: ${line}`);
          }
        }
      }
    }
  }
  assertEquals(wrong, []);
  assert(checked > 40, `only ${checked} mcpcomm commands found in the docs`);
});

Deno.test("every deno task in README.md and docs/ exists in deno.json", () => {
  const tasks = Object.keys(JSON.parse(read("deno.json")).tasks);
  const wrong: string[] = [];
  for (const file of docFiles()) {
    for (const match of read(file).matchAll(/deno task ([a-z][a-z0-9:-]*)/g)) {
      if (!tasks.includes(match[1]!)) wrong.push(`${file}: deno task ${match[1]}`);
    }
  }
  assertEquals(wrong, []);
});
