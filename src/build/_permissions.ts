/**
 * The one permission list of mcpcomm: the `mcpcomm` permission set in `deno.json`. The tasks use
 * it as `-P=mcpcomm`; `deno task compile` and the tests turn it into `--allow-*` flags here.
 * @module
 */
import denoJson from "../../deno.json" with { type: "json" };

/** The name of the permission set in `deno.json`. */
export const PERMISSION_SET = "mcpcomm";

/** One entry of a permission set: all (`true`), none (`false`) or a list of scopes. */
export type PermissionValue = boolean | readonly string[];

/** A permission set as `deno.json` writes it. */
export type PermissionSet = Partial<
  Record<"read" | "write" | "net" | "env" | "run" | "sys" | "ffi" | "import", PermissionValue>
>;

/** The `mcpcomm` permission set from `deno.json`. */
export const PERMISSIONS: PermissionSet = denoJson.permissions[PERMISSION_SET];

/**
 * Turns a permission set into `deno run`/`deno compile` flags, scopes kept as written (relative
 * paths resolve against the working directory at run time, not against `deno.json`).
 * @example
 * ```ts
 * permissionFlags({ net: true, sys: ["hostname"] }); // ["--allow-net", "--allow-sys=hostname"]
 * ```
 */
export function permissionFlags(set: PermissionSet = PERMISSIONS): string[] {
  const flags: string[] = [];
  for (const [name, value] of Object.entries(set)) {
    if (value === true) flags.push(`--allow-${name}`);
    else if (Array.isArray(value) && value.length > 0) {
      flags.push(`--allow-${name}=${value.join(",")}`);
    }
  }
  return flags;
}
