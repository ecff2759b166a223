/**
 * Directory listing confined to one root directory: paths are resolved to their real location
 * (symlinks followed) and refused when that location is outside the root.
 *
 * A listing guards against a path component being swapped for a symlink (or renamed) between the
 * check and the read: the directory is held open (its inode pinned), and right before and right
 * after the read (synchronous calls, nothing else runs in between) every directory from the root
 * down to it is checked to be a real directory with the same device, inode and modification times,
 * the last one being the pinned directory. A swap changes its parent's times, so the listing is
 * retried, then refused. Residual limit: Deno offers no way to read a directory through an open
 * handle (`openat`/`fdopendir`; `/proc/self/fd` needs `--allow-all`), so a swap and its undoing
 * that both fall between the two checks and within one tick of the file-system clock (1-4 ms on
 * Linux) is not seen.
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

function isInside(realRoot: string, real: string): boolean {
  return real === realRoot ||
    real.startsWith(realRoot.endsWith(SEPARATOR) ? realRoot : realRoot + SEPARATOR);
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
 * Resolves `path` (relative to `root`, or absolute) to a real path inside `root`; throws
 * {@linkcode FileAccessError} for anything outside, symlinks included. The answer is only as
 * current as the call: {@linkcode listFiles} does not rely on it staying true.
 */
export async function resolveInside(root: string, path: string): Promise<string> {
  const realRoot = await Deno.realPath(root);
  return realInside(realRoot, isAbsolute(path) ? path : resolve(realRoot, path), path);
}

function readEntries(directory: string, path: string): FileEntry[] {
  const entries: FileEntry[] = [];
  try {
    for (const entry of Deno.readDirSync(directory)) {
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
    throw accessError(error, path);
  }
  return entries;
}

/** One directory on the way from the root to a listed directory, as `lstat` saw it. */
interface Step {
  dev: number;
  ino: number | null;
  mtime: number | undefined;
  ctime: number | undefined;
}

/** How many times a listing whose directories changed meanwhile is retried before refusing. */
const ATTEMPTS = 3;

class Changed extends FileAccessError {
  override name = "Changed";
}

/** The real path of `wanted` when inside `realRoot`; throws {@linkcode FileAccessError} if not. */
function realInside(realRoot: string, wanted: string, path: string): string {
  let real: string;
  try {
    real = Deno.realPathSync(wanted);
  } catch (error) {
    throw accessError(error, path);
  }
  if (!isInside(realRoot, real)) {
    throw new FileAccessError(`Path "${path}" is outside the toolbox root`);
  }
  return real;
}

/** `lstat` of the root and each directory below it down to `real`; throws if one is not a directory. */
function walk(realRoot: string, real: string, path: string): Step[] {
  const steps: Step[] = [];
  let at = realRoot;
  for (const part of ["", ...relative(realRoot, real).split(SEPARATOR).filter(Boolean)]) {
    if (part) at = `${at}${at.endsWith(SEPARATOR) ? "" : SEPARATOR}${part}`;
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(at);
    } catch (error) {
      throw accessError(error, path);
    }
    if (!info.isDirectory) {
      throw new Changed(`Directory "${path}" changed while it was being listed`);
    }
    steps.push({
      dev: info.dev,
      ino: info.ino,
      mtime: info.mtime?.getTime(),
      ctime: info.ctime?.getTime(),
    });
  }
  return steps;
}

function sameSteps(a: Step[], b: Step[]): boolean {
  return a.length === b.length && a.every((step, i) => {
    const other = b[i]!;
    const last = i === a.length - 1;
    return step.dev === other.dev && step.ino === other.ino &&
      (last || (step.mtime === other.mtime && step.ctime === other.ctime));
  });
}

/** Reads `wanted` once, refusing with {@linkcode Changed} when it may have moved meanwhile. */
function readOnce(
  realRoot: string,
  wanted: string,
  path: string,
  pinned: Deno.FileInfo,
): { real: string; entries: FileEntry[] } {
  const real = realInside(realRoot, wanted, path);
  const before = walk(realRoot, real, path);
  const target = before.at(-1)!;
  if (target.dev !== pinned.dev || target.ino === null || target.ino !== pinned.ino) {
    throw new Changed(`Directory "${path}" changed while it was being listed`);
  }
  const entries = readEntries(real, path);
  if (!sameSteps(before, walk(realRoot, real, path)) || realInside(realRoot, real, path) !== real) {
    throw new Changed(`Directory "${path}" changed while it was being listed`);
  }
  return { real, entries };
}

/**
 * Lists the directory `path` inside `root`, sorted by name, at most `limit` entries. Only names
 * of a directory that is inside the root when read are ever returned (see the module notes for
 * the limits of this guarantee off Linux).
 * @example
 * ```ts
 * const listing = await listFiles("/srv/data", ".");
 * listing.entries.map((e) => e.name);
 * ```
 */
export async function listFiles(root: string, path: string, limit = MAX_ENTRIES): Promise<Listing> {
  const realRoot = await Deno.realPath(root);
  const wanted = isAbsolute(path) ? path : resolve(realRoot, path);
  let handle: Deno.FsFile;
  try {
    handle = await Deno.open(wanted, { read: true });
  } catch (error) {
    throw accessError(error, path);
  }
  try {
    const pinned = await handle.stat();
    realInside(realRoot, wanted, path);
    if (!pinned.isDirectory) throw new FileAccessError(`Not a directory: ${path}`);
    let read;
    for (let attempt = 1; !read; attempt++) {
      try {
        read = readOnce(realRoot, wanted, path, pinned);
      } catch (error) {
        if (!(error instanceof Changed) || attempt === ATTEMPTS) throw error;
      }
    }
    const { real, entries } = read;
    entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    return {
      path: relative(realRoot, real) || ".",
      entries: entries.slice(0, limit),
      total: entries.length,
      truncated: entries.length > limit,
    };
  } finally {
    handle.close();
  }
}
