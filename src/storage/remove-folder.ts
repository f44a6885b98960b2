import { opendir, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';

/** Entries of one folder removed at once. */
const AT_ONCE = 32;

const code = (err: unknown) => (err as NodeJS.ErrnoException)?.code;

/**
 * Removes local folder `dir` and everything in it (a link itself, never what
 * it points to). Each folder is read as a stream by AT_ONCE workers that
 * remove what they read, so memory stays small however many files a folder
 * holds: fs.rm's recursive removal reads a folder whole and holds every
 * entry's removal at once (666 MiB for 300 000 files, 2 GiB for the report
 * of a million images). Nothing there: nothing done.
 */
export async function removeFolder(dir: string): Promise<void> {
  for (;;) {
    let handle;
    try {
      handle = await opendir(dir, { bufferSize: 256 });
    } catch (err) {
      if (code(err) === 'ENOENT') return;
      if (code(err) === 'ENOTDIR') return unlink(dir);
      throw err;
    }
    let failure: unknown;
    const worker = async () => {
      // A Dir's reads are queued one after another: each worker takes the next entry.
      for (let entry; !failure && (entry = await handle.read()) !== null;) {
        const full = path.join(dir, entry.name);
        await (entry.isDirectory() ? removeFolder(full) : unlink(full)).catch((err) => {
          if (code(err) !== 'ENOENT') failure ??= err;
        });
      }
    };
    try {
      await Promise.all(Array.from({ length: AT_ONCE }, worker));
    } finally {
      await handle.close().catch(() => undefined);
    }
    if (failure) throw failure;
    try {
      return await rmdir(dir);
    } catch (err) {
      // An entry a file system did not hand out while others were removed: read the folder again.
      if (code(err) !== 'ENOTEMPTY') throw err;
    }
  }
}
