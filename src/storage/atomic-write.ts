import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { removeFolder } from './remove-folder.js';
import { cleanUp } from './storage-fault.js';

/** Suffix of in-progress files and folders; nothing ending in it is ever read as output. */
export const TEMP_SUFFIX = '.tmp';

/** The longest file name, in bytes, of the file systems sam-amg writes to (ext4, XFS, APFS, NTFS's 255 UTF-16 units). */
const NAME_MAX = 255;

/**
 * A name beside `target` that no other process, here or on another machine,
 * will use: `<name>.<host>.<pid>.<8 hex>.tmp`, with the name cut short (by
 * whole characters) where the whole would pass the file system's limit, so
 * any name that fits can be written.
 */
export function tempNameFor(target: string): string {
  const tail = `.${hostname()}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
  let room = NAME_MAX - Buffer.byteLength(tail);
  let kept = '';
  for (const char of path.basename(target)) {
    room -= Buffer.byteLength(char);
    if (room < 0) break;
    kept += char;
  }
  return path.join(path.dirname(target), `${kept}${tail}`);
}

/** Writes a file and flushes it to disk before closing it. */
async function writeSynced(file: string, data: string | Uint8Array, flags: 'w' | 'wx'): Promise<void> {
  const handle = await open(file, flags);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `data` to a temporary file beside `file`, flushes it to disk and
 * renames it over `file`, so a reader (or a run killed at any moment) sees
 * either the old file, the complete new one, or none.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = tempNameFor(file);
  try {
    await writeSynced(temp, data, 'w');
    await rename(temp, file);
  } catch (err) {
    await cleanUp(() => rm(temp, { force: true }));
    throw err;
  }
}

const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * Writes `file` whole only where there is none: written under a temporary
 * name, then linked into place (a link, unlike a rename, never replaces).
 * False when a file was there.
 */
export async function createFileAtomic(file: string, data: string | Uint8Array): Promise<boolean> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = tempNameFor(file);
  try {
    await writeSynced(temp, data, 'wx');
    await link(temp, file).catch(async (err: NodeJS.ErrnoException) => {
      // A file system without hard links (FAT, some network and FUSE mounts): an exclusive open, whole once closed.
      if (!NO_LINKS.has(err.code ?? '')) throw err;
      await writeSynced(file, data, 'wx');
    });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await cleanUp(() => rm(temp, { force: true }));
  }
}

/**
 * Fills a temporary folder beside `dir`, then renames it to `dir`; an
 * existing `dir` is first moved aside and removed after. A folder at `dir`
 * is therefore always complete.
 */
export async function writeDirAtomic(dir: string, fill: (tempDir: string) => Promise<void>): Promise<void> {
  await mkdir(path.dirname(dir), { recursive: true });
  const temp = tempNameFor(dir);
  const old = tempNameFor(dir);
  try {
    await mkdir(temp);
    await fill(temp);
    try {
      await rename(temp, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      await rename(dir, old);
      try {
        await rename(temp, dir);
      } catch (second) {
        // The earlier folder goes back: a failing storage must not lose a complete output.
        await cleanUp(() => rename(old, dir));
        throw second;
      }
      await removeFolder(old);
    }
  } catch (err) {
    await cleanUp(() => removeFolder(temp));
    throw err;
  }
}
