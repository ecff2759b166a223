/**
 * Directory listing confined to one root directory: paths are resolved to their real location
 * (symlinks followed) and refused when that location is outside the root.
 * @module
 */
import { isAbsolute, relative, resolve, sep as SEPARATOR } from "node:path";

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

/**
 * Resolves `path` (relative to `root`, or absolute) to a real path inside `root`; throws
 * {@linkcode FileAccessError} for anything outside, symlinks included.
 */
export async function resolveInside(root: string, path: string): Promise<string> {
  const realRoot = await Deno.realPath(root);
  const wanted = isAbsolute(path) ? path : resolve(realRoot, path);
  let real: string;
  try {
    real = await Deno.realPath(wanted);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new FileAccessError(`No such directory: ${path}`);
    }
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new FileAccessError(`Permission denied: ${path}`);
    }
    throw error;
  }
  if (
    real !== realRoot &&
    !real.startsWith(realRoot.endsWith(SEPARATOR) ? realRoot : realRoot + SEPARATOR)
  ) {
    throw new FileAccessError(`Path "${path}" is outside the toolbox root`);
  }
  return real;
}

/**
 * Lists the directory `path` inside `root`, sorted by name, at most `limit` entries.
 * @example
 * ```ts
 * const listing = await listFiles("/srv/data", ".");
 * listing.entries.map((e) => e.name);
 * ```
 */
export async function listFiles(root: string, path: string, limit = MAX_ENTRIES): Promise<Listing> {
  const real = await resolveInside(root, path);
  const info = await Deno.stat(real);
  if (!info.isDirectory) throw new FileAccessError(`Not a directory: ${path}`);
  const entries: FileEntry[] = [];
  try {
    for await (const entry of Deno.readDir(real)) {
      entries.push({
        name: entry.name,
        type: entry.isDirectory
          ? "directory"
          : entry.isFile
          ? "file"
          : entry.isSymlink
          ? "symlink"
          : "other",
      });
    }
  } catch (error) {
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new FileAccessError(`Permission denied: ${path}`);
    }
    throw error;
  }
  entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const realRoot = await Deno.realPath(root);
  return {
    path: relative(realRoot, real) || ".",
    entries: entries.slice(0, limit),
    total: entries.length,
    truncated: entries.length > limit,
  };
}
