import { assert, assertEquals, assertRejects } from "../_assert.ts";
import {
  FileAccessError,
  listChecked,
  type Lister,
  listFiles,
  MAX_ENTRIES,
} from "../../src/toolbox/_files.ts";
import { tempDir } from "../_helpers.ts";

async function fixture(): Promise<{ root: string; outside: string }> {
  const base = await tempDir();
  const root = `${base}/root`;
  const outside = `${base}/outside`;
  await Deno.mkdir(`${root}/sub/deeper`, { recursive: true });
  await Deno.mkdir(outside);
  await Deno.writeTextFile(`${root}/b.txt`, "b");
  await Deno.writeTextFile(`${root}/a.txt`, "a");
  await Deno.writeTextFile(`${outside}/secret.txt`, "secret");
  await Deno.symlink(outside, `${root}/escape`);
  await Deno.symlink(`${root}/sub`, `${root}/inside-link`);
  return { root, outside };
}

/** The ways of reading a directory: the default (the shell off Windows) and the checked fallback. */
/** Why a permission-denied directory cannot be made here, or "" when it can. */
const UNREADABLE_SKIP = Deno.build.os === "windows"
  ? "no POSIX modes on Windows"
  : Deno.uid() === 0
  ? "running as root, which reads every directory"
  : "";

const LISTERS: [string, Lister | undefined][] = [["default", undefined], ["checked", listChecked]];

for (const [how, lister] of LISTERS) {
  const list = (root: string, path: string, limit = MAX_ENTRIES) =>
    listFiles(root, path, limit, lister);

  Deno.test(`listFiles() (${how}) lists a directory inside the root, sorted and typed`, async () => {
    const { root } = await fixture();
    const listing = await list(root, ".");
    assertEquals(listing, {
      path: ".",
      entries: [
        { name: "a.txt", type: "file" },
        { name: "b.txt", type: "file" },
        { name: "escape", type: "symlink" },
        { name: "inside-link", type: "symlink" },
        { name: "sub", type: "directory" },
      ],
      total: 5,
      truncated: false,
    });
    assertEquals((await list(root, "sub")).entries, [{ name: "deeper", type: "directory" }]);
    assertEquals((await list(root, "sub/deeper")).entries, []);
    assertEquals((await list(root, "inside-link")).path, "sub");
    assertEquals((await list(root, "inside-link/deeper")).path, "sub/deeper");
    assertEquals((await list(root, `${root}/sub/deeper`)).path, "sub/deeper");
    assertEquals((await list(root, "escape/..")).path, ".");
  });

  Deno.test(`listFiles() (${how}) keeps odd names whole`, async () => {
    const root = await tempDir();
    const names = [
      " leading space",
      "*",
      "-n",
      ".hidden",
      "..double-dot",
      "?",
      "[a]",
      "back\\slash",
      "new\nline",
      "tab\there",
      "trailing newline\n",
      "with space",
      "\u00fcn\u00efc\u00f6de",
      "$(touch pwned)",
    ];
    for (const name of names) await Deno.writeTextFile(`${root}/${name}`, "");
    await Deno.mkdir(`${root}/.dir`);
    await Deno.mkdir(`${root}/spaced dir\n`);
    await Deno.writeTextFile(`${root}/spaced dir\n/-inner`, "");
    await Deno.symlink("nowhere", `${root}/dangling`);
    const listing = await list(root, ".");
    const expected = [
      ...names.map((name) => ({ name, type: "file" })),
      { name: ".dir", type: "directory" },
      { name: "dangling", type: "symlink" },
      { name: "spaced dir\n", type: "directory" },
    ].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    assertEquals(listing.entries, expected);
    assertEquals((await list(root, "spaced dir\n")).entries, [{ name: "-inner", type: "file" }]);
    assertEquals((await list(root, "spaced dir\n")).path, "spaced dir\n");
    await assertRejects(() => Deno.lstat(`${root}/pwned`), Deno.errors.NotFound);
  });

  Deno.test(`listFiles() (${how}) refuses every way out of the root`, async (t) => {
    const { root, outside } = await fixture();
    for (
      const path of [
        "..",
        "../outside",
        "sub/../../outside",
        "/",
        outside,
        "/etc",
        "escape",
        "escape/inner",
        "escape/nonexistent",
        "inside-link/../../outside",
      ]
    ) {
      await t.step(path, async () => {
        await assertRejects(() => list(root, path), FileAccessError, "outside the toolbox root");
      });
    }
  });

  Deno.test(`listFiles() (${how}) says when a path is missing or not a directory`, async () => {
    const { root } = await fixture();
    await Deno.symlink("nowhere", `${root}/dangling`);
    await Deno.symlink("loop-b", `${root}/loop-a`);
    await Deno.symlink("loop-a", `${root}/loop-b`);
    await assertRejects(() => list(root, "nonexistent"), FileAccessError, "No such directory");
    await assertRejects(() => list(root, "dangling"), FileAccessError, "No such directory");
    await assertRejects(() => list(root, "a.txt"), FileAccessError, "Not a directory: a.txt");
    await assertRejects(() => list(root, "a.txt/x"), FileAccessError, "Not a directory: a.txt/x");
    await assertRejects(() => list(root, "loop-a"), FileAccessError, "Too many levels");
  });

  Deno.test({
    name: `listFiles() (${how}) says when a directory may not be read${
      UNREADABLE_SKIP ? ` (skipped: ${UNREADABLE_SKIP})` : ""
    }`,
    ignore: UNREADABLE_SKIP !== "",
    fn: async () => {
      const { root } = await fixture();
      await Deno.mkdir(`${root}/locked`, { mode: 0o000 });
      await Deno.mkdir(`${root}/unreadable`, { mode: 0o300 });
      try {
        await assertRejects(() => list(root, "locked"), FileAccessError, "Permission denied");
        await assertRejects(() => list(root, "unreadable"), FileAccessError, "Permission denied");
      } finally {
        await Deno.chmod(`${root}/locked`, 0o700);
        await Deno.chmod(`${root}/unreadable`, 0o700);
      }
    },
  });

  Deno.test(`listFiles() (${how}) caps a large listing and reports the total`, async () => {
    const root = await tempDir();
    for (let i = 0; i < 12; i++) {
      await Deno.writeTextFile(`${root}/f${String(i).padStart(2, "0")}`, "");
    }
    const listing = await list(root, ".", 5);
    assertEquals(listing.entries.map((e) => e.name), ["f00", "f01", "f02", "f03", "f04"]);
    assertEquals(listing.total, 12);
    assertEquals(listing.truncated, true);
  });
}

/** Swaps `${root}/sub` for a symlink to `outside` and back in a tight loop until `stop` exists. */
const SWAPPER = `
const [root, outside, stop] = Deno.args;
let swaps = 0;
console.log("ready");
while (swaps % 64 !== 0 || !existsStop()) {
  Deno.renameSync(root + "/sub", root + "/sub.parked");
  Deno.symlinkSync(outside, root + "/sub");
  hold();
  Deno.removeSync(root + "/sub");
  Deno.renameSync(root + "/sub.parked", root + "/sub");
  hold();
  swaps++;
}
console.log(swaps);
function hold() {
  for (let i = 0; i < 20; i++) Deno.lstatSync(root);
}
function existsStop() {
  try {
    Deno.lstatSync(stop);
    return true;
  } catch {
    return false;
  }
}
`;

Deno.test("listFiles() never shows a name from outside the root while a path component is swapped for a symlink", async () => {
  const base = await tempDir();
  const root = `${base}/root`;
  const outside = `${base}/outside`;
  await Deno.mkdir(`${root}/sub/inner`, { recursive: true });
  await Deno.mkdir(`${outside}/inner`, { recursive: true });
  await Deno.writeTextFile(`${root}/sub/in-sub.txt`, "");
  await Deno.writeTextFile(`${root}/sub/inner/in-inner.txt`, "");
  for (let i = 0; i < 20; i++) {
    await Deno.writeTextFile(`${outside}/secret-top-${i}.txt`, "");
    await Deno.writeTextFile(`${outside}/inner/secret-inner-${i}.txt`, "");
  }
  const stop = `${base}/stop`;
  const swapper = new Deno.Command(Deno.execPath(), {
    args: ["eval", SWAPPER, root, outside, stop],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = swapper.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const leaked = new Set<string>();
  const unexpected = new Set<string>();
  let listings = 0;
  let inside = 0;
  let refused = 0;
  try {
    assertEquals((await lines.read()).value?.trim(), "ready");
    const deadline = Date.now() + 30_000;
    for (; listings < 1500 && Date.now() < deadline; listings++) {
      try {
        const listing = await listFiles(root, listings % 2 ? "sub/inner" : "sub");
        for (const { name } of listing.entries) {
          if (name.startsWith("secret")) leaked.add(name);
          if (name.startsWith("in-")) inside++;
        }
      } catch (error) {
        if (error instanceof FileAccessError) refused++;
        else unexpected.add(String(error));
      }
    }
  } finally {
    await Deno.writeTextFile(stop, "");
  }
  let output = "";
  for (let step = await lines.read(); !step.done; step = await lines.read()) output += step.value;
  assertEquals((await swapper.status).code, 0);
  const swaps = Number(output.trim());
  const tally = `${listings} listings, ${inside} inside, ${refused} refused, ${swaps} swaps`;
  assertEquals([...leaked], [], `names from outside the root leaked (${tally})`);
  assertEquals([...unexpected], []);
  assert(inside > 0 && refused > 0 && swaps > 0, `the listings did not race the swaps: ${tally}`);
});
