/**
 * Directory listing confined to one root directory: paths are resolved to their real location
 * (symlinks followed) and refused when that location is outside the root.
 *
 * On POSIX the listing is race-free by construction: a short-lived `/bin/sh` enters the directory
 * (`cd -P`), which pins its inode as the child's working directory, then prints that inode's
 * physical path (`getcwd`), the names read from "." (that same inode) and its physical path again.
 * The names are kept only when both paths are inside the root: swapping a path component for a
 * symlink at any moment cannot make them belong to another directory. Without `/bin/sh` (Windows)
 * the real path is checked before and after the read instead, which a swap undone in between defeats.
 * @module
 */
import { dirname, isAbsolute, relative, resolve, sep as SEPARATOR } from "node:path";
import { SAFE_PATH } from "./_command.ts";

/** A path the caller may not see, or one that does not exist or is not a directory. */
export class FileAccessError extends Error {
  override name = "FileAccessError";
}

/** One directory entry. */
export interface FileEntry {
  name: string;
  type: "file" | "directory" | "symlink" | "other";
}

/** The result of {@linkcode listFiles}. */
export interface Listing {
  /** The directory, relative to the root (`.` for the root itself). */
  path: string;
  entries: FileEntry[];
  /** Entries in the directory, including those left out past the limit. */
  total: number;
  truncated: boolean;
}

/** Most entries returned by one listing. */
export const MAX_ENTRIES = 1000;

function isInside(realRoot: string, real: string): boolean {
  return real === realRoot ||
    real.startsWith(realRoot.endsWith(SEPARATOR) ? realRoot : realRoot + SEPARATOR);
}

function outside(path: string): FileAccessError {
  return new FileAccessError(`Path "${path}" is outside the toolbox root`);
}

function changed(path: string): FileAccessError {
  return new FileAccessError(`Directory "${path}" changed while it was being listed`);
}

/** The {@linkcode FileAccessError} for a failed file-system call on `path`, or `error` itself. */
function accessError(error: unknown, path: string): unknown {
  const code = (error as { code?: unknown }).code;
  if (error instanceof Deno.errors.NotFound || code === "ENOENT") {
    return new FileAccessError(`No such directory: ${path}`);
  }
  if (error instanceof Deno.errors.NotADirectory || code === "ENOTDIR") {
    return new FileAccessError(`Not a directory: ${path}`);
  }
  if (
    error instanceof Deno.errors.PermissionDenied || code === "EACCES" || code === "EPERM"
  ) {
    return new FileAccessError(`Permission denied: ${path}`);
  }
  if (error instanceof Deno.errors.FilesystemLoop || code === "ELOOP") {
    return new FileAccessError(`Too many levels of symbolic links: ${path}`);
  }
  return error;
}

/**
 * Lists the directory "$1" (an absolute path): exit 10 when it cannot be entered and does not
 * exist, 11 when it is not a directory, 12 when it may not be entered or read; else prints, each
 * NUL-terminated, the physical working directory (plus newline), one record per entry (a type
 * letter l/d/f/o, then the name) and the physical working directory again, read afresh (`pwd -P`
 * alone may answer from the shell's cache).
 */
const LIST_SCRIPT = `cd -P -- "$1" || { [ -d "$1" ] && exit 12; [ -e "$1" ] && exit 11; exit 10; }
[ -r . ] || exit 12
pwd -P || exit 13
printf '\\0'
for f in * .[!.]* ..?*; do
  if [ -L "$f" ]; then t=l
  elif [ -d "$f" ]; then t=d
  elif [ -f "$f" ]; then t=f
  elif [ -e "$f" ]; then t=o
  else continue
  fi
  printf '%s%s\\0' "$t" "$f"
done
cd -P . || exit 13
pwd -P || exit 13
printf '\\0'
`;

const TYPES: Record<string, FileEntry["type"]> = {
  l: "symlink",
  d: "directory",
  f: "file",
  o: "other",
};

/**
 * `error` about `wanted`, or the refusal "outside the toolbox root" when the deepest existing
 * directory on its way is outside the root: what exists outside stays unsaid.
 */
async function refusal(realRoot: string, wanted: string, path: string, error: unknown) {
  for (let at = wanted;; at = dirname(at)) {
    try {
      return isInside(realRoot, await Deno.realPath(at)) ? error : outside(path);
    } catch {
      if (dirname(at) === at) return error;
    }
  }
}

/** The error for a child's exit `code` 10-12 (see {@linkcode LIST_SCRIPT}) on `wanted`. */
async function entryError(realRoot: string, wanted: string, path: string, code: number) {
  let error: unknown = new FileAccessError(`No such directory: ${path}`);
  if (code === 11) error = new FileAccessError(`Not a directory: ${path}`);
  else if (code === 12) error = new FileAccessError(`Permission denied: ${path}`);
  else {
    try {
      await Deno.realPath(wanted);
    } catch (cause) {
      const mapped = accessError(cause, path);
      if (mapped instanceof FileAccessError) error = mapped;
    }
  }
  return await refusal(realRoot, wanted, path, error);
}

/** The physical path a child printed: one record ending in exactly one newline. */
function physical(record: string | undefined): string | undefined {
  return record?.endsWith("\n") ? record.slice(0, -1) : undefined;
}

/**
 * Reads the directory at the absolute path `wanted` (`path` as the caller wrote it, for errors):
 * its real path and entries, or `undefined` when this way of listing is unavailable.
 */
export type Lister = (
  realRoot: string,
  wanted: string,
  path: string,
) => Promise<{ real: string; entries: FileEntry[] } | undefined>;

/** Lists `wanted` through `/bin/sh` (see the module notes); `undefined` when there is no shell. */
const listInShell: Lister = async (realRoot, wanted, path) => {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("/bin/sh", {
      args: ["-c", LIST_SCRIPT, "mcpcomm-list", wanted],
      clearEnv: true,
      env: { PATH: SAFE_PATH, LC_ALL: "C" },
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  if (output.code >= 10 && output.code <= 12) {
    throw await entryError(realRoot, wanted, path, output.code);
  }
  if (!output.success) throw new FileAccessError(`Could not list "${path}"`);
  const records = new TextDecoder().decode(output.stdout).split("\0");
  const before = physical(records[0]);
  const after = physical(records.at(-2));
  if (records.length < 3 || records.at(-1) !== "" || before === undefined || after === undefined) {
    throw new FileAccessError(`Could not list "${path}"`);
  }
  if (!isInside(realRoot, before) || !isInside(realRoot, after)) throw outside(path);
  if (before !== after) throw changed(path);
  const entries: FileEntry[] = [];
  for (const record of records.slice(1, -2)) {
    const type = TYPES[record[0] ?? ""];
    if (!type || record.length < 2) throw new FileAccessError(`Could not list "${path}"`);
    entries.push({ name: record.slice(1), type });
  }
  return { real: before, entries };
};

/** The real path of `wanted` when inside `realRoot`; throws {@linkcode FileAccessError} if not. */
async function realInside(realRoot: string, wanted: string, path: string): Promise<string> {
  let real: string;
  try {
    real = await Deno.realPath(wanted);
  } catch (error) {
    throw accessError(error, path);
  }
  if (!isInside(realRoot, real)) throw outside(path);
  return real;
}

/**
 * Lists `wanted` by checking its real path before and after reading it: the fallback where there
 * is no `/bin/sh` (Windows). A component swapped for a symlink and back in between goes unseen.
 */
export async function listChecked(
  realRoot: string,
  wanted: string,
  path: string,
): Promise<{ real: string; entries: FileEntry[] }> {
  let real: string;
  try {
    real = await realInside(realRoot, wanted, path);
  } catch (error) {
    throw await refusal(realRoot, wanted, path, error);
  }
  const entries: FileEntry[] = [];
  try {
    for await (const entry of Deno.readDir(real)) {
      entries.push({
        name: entry.name,
        type: entry.isSymlink
          ? "symlink"
          : entry.isDirectory
          ? "directory"
          : entry.isFile
          ? "file"
          : "other",
      });
    }
  } catch (error) {
    throw accessError(error, path);
  }
  if (await realInside(realRoot, real, path) !== real) throw changed(path);
  return { real, entries };
}

/**
 * Lists the directory `path` inside `root`, sorted by name, at most `limit` entries. Only names
 * of a directory that is inside the root when read are returned (see the module notes for the
 * fallback's limit); `list` reads the directory, by default through the shell where there is one.
 * @example
 * ```ts
 * const listing = await listFiles("/srv/data", ".");
 * listing.entries.map((e) => e.name);
 * ```
 */
export async function listFiles(
  root: string,
  path: string,
  limit = MAX_ENTRIES,
  list: Lister = Deno.build.os === "windows" ? listChecked : listInShell,
): Promise<Listing> {
  const realRoot = await Deno.realPath(root);
  const wanted = isAbsolute(path) ? resolve(path) : resolve(realRoot, path);
  if (!isInside(realRoot, wanted) && !isInside(resolve(root), wanted)) throw outside(path);
  const { real, entries } = await list(realRoot, wanted, path) ??
    await listChecked(realRoot, wanted, path);
  entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return {
    path: relative(realRoot, real) || ".",
    entries: entries.slice(0, limit),
    total: entries.length,
    truncated: entries.length > limit,
  };
}
