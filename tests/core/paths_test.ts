import { dataDirectory, defaultDatabasePath } from "../../src/core/paths.ts";
import { assertEquals } from "../_assert.ts";

Deno.test("dataDirectory() follows each platform's convention", async (t) => {
  await t.step("XDG_DATA_HOME wins when absolute", () => {
    assertEquals(
      dataDirectory("linux", { XDG_DATA_HOME: "/data", HOME: "/home/ada" }),
      "/data/mcpcomm",
    );
    assertEquals(
      dataDirectory("linux", { XDG_DATA_HOME: "relative", HOME: "/home/ada" }),
      "/home/ada/.local/share/mcpcomm",
    );
  });
  await t.step("Linux", () => {
    assertEquals(dataDirectory("linux", { HOME: "/home/ada" }), "/home/ada/.local/share/mcpcomm");
  });
  await t.step("macOS", () => {
    assertEquals(
      dataDirectory("darwin", { HOME: "/Users/ada" }),
      "/Users/ada/Library/Application Support/mcpcomm",
    );
  });
  await t.step("Windows", () => {
    assertEquals(
      dataDirectory("windows", { LOCALAPPDATA: "C:\\Users\\ada\\AppData\\Local" }),
      "C:\\Users\\ada\\AppData\\Local\\mcpcomm",
    );
    assertEquals(
      dataDirectory("windows", { USERPROFILE: "C:\\Users\\ada" }),
      "C:\\Users\\ada\\AppData\\Local\\mcpcomm",
    );
  });
  await t.step("none without a home", () => {
    assertEquals(dataDirectory("linux", {}), undefined);
    assertEquals(dataDirectory("windows", {}), undefined);
  });
});

Deno.test("defaultDatabasePath() names one file per server", () => {
  assertEquals(defaultDatabasePath("/data/mcpcomm", "server-b"), "/data/mcpcomm/server-b.db");
});
