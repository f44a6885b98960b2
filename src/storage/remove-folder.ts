import { opendir, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';

/** Files removed at once within a folder. */
const AT_ONCE = 16;

const code = (err: unknown) => (err as NodeJS.ErrnoException)?.code;

/**
 * Removes local folder `dir` and everything in it (a link itself, never what
 * it points to), each folder read as a stream and at most AT_ONCE files
 * removed at a time, so memory stays small however many files a folder
 * holds: fs.rm's recursive removal holds every entry's at once (2 GiB for
 * the report of a million images). Nothing there: nothing done.
 */
export async function removeFolder(dir: string): Promise<void> {
  for (;;) {
    let handle;
    try {
      handle = await opendir(dir);
    } catch (err) {
      if (code(err) === 'ENOENT') return;
      if (code(err) === 'ENOTDIR') return unlink(dir);
      throw err;
    }
    const pending = new Set<Promise<void>>();
    let failure: unknown;
    const settle = (job: Promise<void>) => {
      const tracked: Promise<void> = job.catch((err) => { if (code(err) !== 'ENOENT') failure ??= err; }).finally(() => pending.delete(tracked));
      pending.add(tracked);
    };
    for await (const entry of handle) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        await removeFolder(full).catch((err) => { failure ??= err; });
      } else {
        settle(unlink(full));
        if (pending.size >= AT_ONCE) await Promise.race(pending);
      }
      if (failure) break;
    }
    await Promise.all(pending);
    if (failure) throw failure;
    try {
      return await rmdir(dir);
    } catch (err) {
      // An entry a file system did not hand out while others were removed: read the folder again.
      if (code(err) !== 'ENOTEMPTY') throw err;
    }
  }
}
