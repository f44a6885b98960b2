import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

/** What a name in a folder is, links and sockets included (a walk for outputs sees only files). */
export interface TreeEntry {
  /** Relative to the folder walked, '/'-separated. */
  name: string;
  kind: 'file' | 'folder' | 'other';
}

export interface TreeWalk {
  /** Only the entries directly in the folder. */
  top?: boolean;
  /** Which entries are collected (a listing of a million outputs holds no folders). */
  keep?: (e: TreeEntry) => boolean;
  /**
   * Links are followed: one to a folder is walked as that folder (each real
   * folder once, so a loop ends), one to a file is a file, a broken one is
   * `other`. Without it a link is `other`.
   */
  followLinks?: boolean;
  /** Whether to walk into a folder (the one walked included), given as the walk reached it (`dir` joined with its names). */
  enter?: (folder: string) => boolean | Promise<boolean>;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const kindOf = (e: Dirent | Stats | undefined): TreeEntry['kind'] => (e?.isDirectory() ? 'folder' : e?.isFile() ? 'file' : 'other');

/**
 * Every entry under local folder `dir`, depth first in name order: what a
 * command must look at before it replaces a folder, so that nothing it did
 * not write goes with it (links not followed), and the images of an input
 * folder (links followed, folders of outputs not entered). Undefined when
 * there is no folder there.
 */
export async function listTree(dir: string, o: TreeWalk = {}): Promise<TreeEntry[] | undefined> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) return undefined;
  const found: TreeEntry[] = [];
  const visited = new Set<string>();
  const walk = async (at: string, prefix: string): Promise<void> => {
    if (o.followLinks) {
      const real = await realpath(at);
      if (visited.has(real)) return; // a link loop, or a folder reached twice
      visited.add(real);
    }
    if (o.enter && !(await o.enter(at))) return;
    const entries = await readdir(at, { withFileTypes: true });
    entries.sort((a, b) => byName(a.name, b.name));
    for (const e of entries) {
      const full = path.join(at, e.name);
      const kind = o.followLinks && e.isSymbolicLink() ? kindOf(await stat(full).catch(() => undefined)) : kindOf(e);
      const entry: TreeEntry = { name: prefix ? `${prefix}/${e.name}` : e.name, kind };
      if (o.keep?.(entry) ?? true) found.push(entry);
      if (entry.kind === 'folder' && !o.top) await walk(full, entry.name);
    }
  };
  await walk(dir, '');
  return found;
}

/** Whether local `location` exists as anything but a folder (a file, a link, a socket). */
export async function isNonFolder(location: string): Promise<boolean> {
  const info = await lstat(location).catch(() => undefined);
  return info !== undefined && !info.isDirectory();
}
