import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { cleanUp } from './storage-fault.js';

/** Suffix of in-progress files and folders; nothing ending in it is ever read as output. */
export const TEMP_SUFFIX = '.tmp';

/** A name beside `target` that no other process, here or on another machine, will use. */
export function tempNameFor(target: string): string {
  return `${target}.${hostname()}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
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
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await cleanUp(() => rm(temp, { force: true }));
    throw err;
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
      await rm(old, { recursive: true, force: true });
    }
  } catch (err) {
    await cleanUp(() => rm(temp, { recursive: true, force: true }));
    throw err;
  }
}
