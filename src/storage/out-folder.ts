import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { TEMP_SUFFIX } from './atomic-write.js';
import { describeFsError, StorageError } from './storage-fault.js';

function causeOf(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOTDIR': return 'a part of the path is a file, not a folder';
    case 'ENAMETOOLONG': return 'name too long';
    // The parent exists, yet the folder cannot be made: a virtual file system such as /proc.
    case 'ENOENT': return 'the file system there does not allow new folders';
    default: return describeFsError(err);
  }
}

/** Faults of a storage that could take outputs another time (space freed, the device back), not of the path chosen. */
const TRANSIENT = new Set(['ENOSPC', 'EDQUOT', 'EIO']);

/**
 * Makes sure outputs can be written to `dir` before any model or image is
 * loaded, and leaves everything as it was, so a run refused before its
 * first write leaves no trace; the run's first write (its lock file) makes
 * the folder. An existing folder is proved writable by creating and
 * removing a file in it. A missing one (and its missing parents) is made,
 * with a file in it, inside a scratch folder of the nearest existing parent,
 * removed again: the same names, permissions and file system, without
 * touching the path itself, which other runs starting at once may be
 * proving or writing too. Anything else is a UsageError naming the folder
 * and the cause, or a StorageError when the storage is full or failing.
 * Folders are made one at a time: Node's recursive mkdir never returns for
 * some paths (under /proc). `label` names the option that chose the folder
 * in messages (`out`, `--out`).
 */
export async function prepareOutputFolder(dir: string, label = 'out'): Promise<void> {
  const fail = (cause: string, err?: NodeJS.ErrnoException) =>
    (err?.code && TRANSIENT.has(err.code) ? new StorageError(`${label} ${dir}`, dir, err) : new UsageError(`${label} ${dir}: ${cause}`));
  const target = path.resolve(dir);
  const missing: string[] = [];
  for (let at = target; ; at = path.dirname(at)) {
    const info = await stat(at).catch((err: NodeJS.ErrnoException) => err);
    if (info instanceof Error) {
      if (info.code !== 'ENOENT' || path.dirname(at) === at) throw fail(causeOf(info), info);
      missing.push(at);
      continue;
    }
    if (!info.isDirectory()) throw fail(at === target ? 'is a file, not a folder' : `${at} is a file, not a folder`);
    break;
  }
  const unique = `.sam-amg-probe.${hostname()}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
  const probeIn = async (folder: string) => {
    const probe = path.join(folder, unique);
    try {
      await (await open(probe, 'wx')).close();
    } catch (err) {
      throw fail(`not writable (${causeOf(err as NodeJS.ErrnoException)})`, err as NodeJS.ErrnoException);
    }
    await rm(probe, { force: true });
  };
  if (missing.length === 0) return probeIn(target);
  const scratch = path.join(path.dirname(missing[missing.length - 1]), unique);
  const makeFolder = (folder: string) => mkdir(folder).catch((err: NodeJS.ErrnoException) => {
    throw fail(causeOf(err), err);
  });
  try {
    await makeFolder(scratch);
    let at = scratch;
    for (const folder of missing.reverse()) {
      at = path.join(at, path.basename(folder));
      await makeFolder(at);
    }
    await probeIn(at);
  } finally {
    await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
  }
}
