import denoJson from "../../deno.json" with { type: "json" };
import { permissionFlags, PERMISSIONS } from "../../src/build/_permissions.ts";
import { assert, assertEquals } from "../_assert.ts";
import { RUN_ARGS } from "../_helpers.ts";

Deno.test("permissionFlags() turns a permission set into --allow flags", async (t) => {
  await t.step("true allows all, a list scopes, false and [] allow nothing", () => {
    assertEquals(
      permissionFlags({
        net: true,
        read: [".env", "certs"],
        sys: ["hostname"],
        ffi: false,
        run: [],
      }),
      ["--allow-net", "--allow-read=.env,certs", "--allow-sys=hostname"],
    );
  });
  await t.step("relative scopes stay relative (resolved where the binary runs)", () => {
    assertEquals(permissionFlags({ write: ["./data"] }), ["--allow-write=./data"]);
  });
});

Deno.test("the mcpcomm permission set is least-privilege: no FFI, no -A, system info by name", () => {
  const flags = permissionFlags(PERMISSIONS);
  assert(!flags.some((f) => f.startsWith("--allow-ffi")), flags.join(" "));
  assert(!flags.includes("--allow-all") && !flags.includes("-A"), flags.join(" "));
  assert(!flags.includes("--allow-sys"), "sys access is listed by name, never all of it");
  assert(!flags.includes("--allow-import"), flags.join(" "));
  for (const needed of ["--allow-net", "--allow-env", "--allow-run"]) {
    assert(flags.includes(needed), `${needed} missing from ${flags.join(" ")}`);
  }
});

Deno.test("deno.json tasks all use the one permission set and never list permissions themselves", () => {
  const tasks = denoJson.tasks as Record<string, string>;
  for (const name of ["start", "test", "e2e", "compile"]) {
    const task = tasks[name];
    assert(task !== undefined, `task ${name} is missing`);
    assert(task.includes("-P=mcpcomm"), `task ${name} does not use -P=mcpcomm: ${task}`);
    assert(!/--allow-|(^|\s)-A(\s|$)/.test(task), `task ${name} lists permissions: ${task}`);
  }
});

Deno.test("tests run the CLI with exactly the permission set's flags", () => {
  assertEquals(RUN_ARGS.slice(1, -1), permissionFlags());
  assertEquals(RUN_ARGS[0], "run");
});
