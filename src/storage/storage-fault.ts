/**
 * Faults of the storage a command writes to (a full disk, a quota, a file
 * system remounted read-only, an I/O error), told apart from faults of one
 * image: the first stop a run, the second fail that image and the run goes on.
 */

/** Codes a write gets because of the name written (its length, a folder or file in the way), not the storage. */
const NAME_CODES = new Set(['ENAMETOOLONG', 'EISDIR', 'ENOTDIR', 'EEXIST', 'EINVAL']);

const DESCRIPTIONS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EIO: 'input/output error',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EFBIG: 'file too large for the file system',
  ESTALE: 'stale file handle (the network file system lost it)',
  ENOENT: 'a folder was removed while the run wrote into it',
  ENAMETOOLONG: 'name too long for the file system',
  EISDIR: 'a folder is where the file goes',
  ENOTDIR: 'a file is where a folder goes',
};

/**
 * A request to a remote store (S3) that failed after the client's own
 * retries: a storage fault like a full disk, its message already in words.
 */
export class RemoteFault extends Error {
  override readonly name = 'RemoteFault';
  readonly code = 'EREMOTE';

  constructor(message: string, readonly location: string, readonly cause: unknown) {
    super(message);
  }
}

/** The cause of a file-system error in a few words: `no space left on device`. */
export function describeFsError(err: unknown): string {
  if (err instanceof RemoteFault) return err.message;
  const e = err as NodeJS.ErrnoException;
  const known = e?.code ? DESCRIPTIONS[e.code] : undefined;
  if (known) return known;
  const message = String(e?.message ?? err).split('\n')[0];
  return e?.code && !message.startsWith(e.code) ? `${e.code}: ${message}` : message;
}

/** Whether a write failed because of the storage rather than the name or contents of what was written. */
export function isStorageFault(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) && !NAME_CODES.has(code);
}

/**
 * A write into a command's destination failed: the command stops. The
 * message is one line naming the destination as the user gave it, the cause
 * and the file: `--out masks: no space left on device (writing masks/a.json)`.
 */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: string | undefined;

  constructor(readonly destination: string, readonly file: string, readonly fault: unknown, readonly detail = '') {
    super(`${destination}: ${describeFsError(fault)} (writing ${file})${detail ? `; ${detail}` : ''}`);
    this.code = (fault as NodeJS.ErrnoException)?.code;
  }

  /** The same fault with what the command got done before it, for the user's next step. */
  withDetail(detail: string): StorageError {
    return new StorageError(this.destination, this.file, this.fault, detail);
  }
}

/** A write's error as the command reports it: a storage fault becomes a StorageError naming `file`; anything else (a bad name, a bug) stays as it is. */
export function asStorageError(destination: string, file: string, err: unknown): unknown {
  return err instanceof StorageError || !isStorageFault(err) ? err : new StorageError(destination, file, err);
}

/** Runs a write into `destination`, its errors as asStorageError gives them. */
export async function writingTo<T>(destination: string, file: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    throw asStorageError(destination, file, err);
  }
}

/** Removes what a failed write left; a storage that cannot even do that keeps the first error, not this one. */
export async function cleanUp(remove: () => Promise<unknown>): Promise<void> {
  await remove().catch(() => undefined);
}
