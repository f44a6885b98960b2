import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Suffix of in-progress files; a reader never takes a file ending in it for output. */
export const TEMP_SUFFIX = '.tmp';

/**
 * Writes `data` to a temporary file beside `file`, flushes it to disk and
 * renames it over `file`, so a reader (or a run killed at any moment) sees
 * either the old file, the complete new one, or none.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
  try {
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
