import { lstat, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** What a name in a folder is, links and sockets included (a walk for outputs sees only files). */
export interface TreeEntry {
  /** Relative to the folder walked, '/'-separated. */
  name: string;
  kind: 'file' | 'folder' | 'other';
}

/**
 * Every entry under local folder `dir` (with `top`, only those directly in
 * it), depth first in name order, links inside not followed (a link is
 * `other`): what a command must look at before it replaces a folder, so
 * that nothing it did not write goes with it. Only the entries `keep`
 * takes are collected (a listing of a million outputs holds no folders).
 * Undefined when there is no folder there.
 */
export async function listTree(dir: string, top = false, keep: (e: TreeEntry) => boolean = () => true): Promise<TreeEntry[] | undefined> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) return undefined;
  const found: TreeEntry[] = [];
  const walk = async (at: string, prefix: string): Promise<void> => {
    const entries = await readdir(at, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const entry: TreeEntry = { name: prefix ? `${prefix}/${e.name}` : e.name, kind: e.isDirectory() ? 'folder' : e.isFile() ? 'file' : 'other' };
      if (keep(entry)) found.push(entry);
      if (entry.kind === 'folder' && !top) await walk(path.join(at, e.name), entry.name);
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
