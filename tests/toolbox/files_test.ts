import { assertEquals, assertRejects } from "../_assert.ts";
import { FileAccessError, listFiles } from "../../src/toolbox/files.ts";

async function fixture(): Promise<{ root: string; outside: string }> {
  const base = await Deno.makeTempDir();
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

Deno.test("listFiles() lists a directory inside the root, sorted and typed", async () => {
  const { root } = await fixture();
  const listing = await listFiles(root, ".");
  assertEquals(listing.path, ".");
  assertEquals(listing.entries, [
    { name: "a.txt", type: "file" },
    { name: "b.txt", type: "file" },
    { name: "escape", type: "symlink" },
    { name: "inside-link", type: "symlink" },
    { name: "sub", type: "directory" },
  ]);
  assertEquals((await listFiles(root, "sub")).entries, [{ name: "deeper", type: "directory" }]);
  assertEquals((await listFiles(root, "inside-link")).path, "sub");
  assertEquals((await listFiles(root, `${root}/sub/deeper`)).path, "sub/deeper");
});

Deno.test("listFiles() refuses every way out of the root", async (t) => {
  const { root, outside } = await fixture();
  for (const path of ["..", "../outside", "sub/../../outside", "/", outside, "/etc", "escape"]) {
    await t.step(path, async () => {
      await assertRejects(() => listFiles(root, path), FileAccessError, "outside the toolbox root");
    });
  }
});

Deno.test("listFiles() says when a path is missing or not a directory", async () => {
  const { root } = await fixture();
  await assertRejects(() => listFiles(root, "nonexistent"), FileAccessError, "No such directory");
  await assertRejects(() => listFiles(root, "a.txt"), FileAccessError, "Not a directory");
});

Deno.test("listFiles() caps a large listing and reports the total", async () => {
  const root = await Deno.makeTempDir();
  for (let i = 0; i < 12; i++) {
    await Deno.writeTextFile(`${root}/f${String(i).padStart(2, "0")}`, "");
  }
  const listing = await listFiles(root, ".", 5);
  assertEquals(listing.entries.length, 5);
  assertEquals(listing.total, 12);
  assertEquals(listing.truncated, true);
});
