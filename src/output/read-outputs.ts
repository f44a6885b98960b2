import { open, stat } from 'node:fs/promises';
import { isS3, joinLocation } from '../storage/location.js';
import { storeFor } from '../storage/store.js';
import { MANIFEST_FILE } from './layout.js';
import { TEMP_SUFFIX } from '../storage/atomic-write.js';
import { PNG_INFO_FILE } from './png-folder.js';
import type { Sa1bFile } from './sa1b.js';
import { checkSa1bFile, COCO_FILE_START, MAX_SA1B_FILE_BYTES } from './sa1b-schema.js';

/** Whether a file of an output folder, by its relative name, is a per-image SA-1B file (run files and temporaries are not). */
function isOutputName(relative: string): boolean {
  const parts = relative.split('/');
  const name = parts[parts.length - 1];
  if (parts.some((p) => p.endsWith(TEMP_SUFFIX)) || name === MANIFEST_FILE) return false;
  return name.endsWith('.json') || name === PNG_INFO_FILE;
}

/**
 * The per-image SA-1B files of an output folder or S3 prefix (either
 * format), in name order as a folder walk gives it; or the one file given.
 * Run files (manifest, failures, temporaries) are not outputs.
 */
export async function findOutputFiles(target: string): Promise<string[]> {
  const store = storeFor(target);
  const names = await store.list(target);
  if (names === undefined) {
    // On S3 an empty prefix is no folder: only a key that is there is a file.
    if (isS3(target) && (await store.read(target)) === undefined) {
      throw Object.assign(new Error(`${target}: no such object, and no objects under it`), { code: 'ENOENT', path: target });
    }
    return [target];
  }
  return names.filter(isOutputName).map((name) => joinLocation(target, name));
}

function notFound(file: string): Error {
  return Object.assign(new Error(`${file}: ${isS3(file) ? 'no such object' : 'no such file'}`), { code: 'ENOENT' });
}

const MIB = 2 ** 20;

function tooLarge(file: string, bytes: number): Error {
  return new Error(`${file}: ${(bytes / MIB).toFixed(1)} MiB, more than the ${MAX_SA1B_FILE_BYTES / MIB} MiB a per-image file may hold`);
}

/** Whether local `file` begins as every COCO file sam-amg writes does (a per-image file begins `{"image":`); false when it cannot be read. */
export async function isSamAmgCocoFile(file: string): Promise<boolean> {
  try {
    const handle = await open(file, 'r');
    try {
      const head = Buffer.alloc(COCO_FILE_START.length);
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      return head.toString('latin1', 0, bytesRead) === COCO_FILE_START;
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}

/**
 * The file's bytes; undefined for a COCO file merge wrote into the folder
 * (a whole dataset's may well pass the bound, and is no image's output).
 * A larger file is refused, a local one before it is read.
 */
async function readBounded(file: string): Promise<Buffer | undefined> {
  if (!isS3(file)) {
    const size = await stat(file).then((s) => s.size, () => undefined);
    if (size !== undefined && size > MAX_SA1B_FILE_BYTES) {
      if (await isSamAmgCocoFile(file)) return undefined;
      throw tooLarge(file, size);
    }
  }
  // A file that cannot be read keeps its own error (and code: a status read may race an --overwrite run).
  const bytes = await storeFor(file).read(file);
  if (bytes === undefined) throw notFound(file);
  // S3 objects are sized only once read, and a local file may have grown since.
  if (bytes.length > MAX_SA1B_FILE_BYTES) {
    if (bytes.toString('latin1', 0, COCO_FILE_START.length) === COCO_FILE_START) return undefined;
    throw tooLarge(file, bytes.length);
  }
  return bytes;
}

/**
 * Reads and checks one per-image file against the SA-1B schema
 * (checkSa1bFile), so every reader uses only well-typed records whose RLEs
 * fit their image and whose names stay inside a destination; the error
 * names the file and the first bad field. A COCO instances file (a merge
 * kept in the folder) is no per-image file: undefined.
 */
export async function readSa1bFile(file: string): Promise<Sa1bFile | undefined> {
  const bytes = await readBounded(file);
  if (bytes === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
  if (Array.isArray((parsed as { images?: unknown } | null)?.images)) return undefined;
  try {
    return checkSa1bFile(parsed);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

/** A per-image file read, or why it could not be; `data` is undefined for a COCO file kept in the folder. */
export type OutputRead = { file: string; data: Sa1bFile | undefined } | { file: string; error: Error };

/**
 * The files read with readSa1bFile, handed on in their order, with up to
 * `ahead` being read at once so a store's round trips (S3's above all)
 * overlap; 1 reads each in turn. A file that cannot be read is handed on
 * with its error.
 */
export async function* readOutputsInOrder(files: readonly string[], ahead: number): AsyncGenerator<OutputRead> {
  const reads = new Map<number, Promise<OutputRead>>();
  const start = (k: number) => {
    if (k >= files.length || reads.has(k)) return;
    const file = files[k];
    reads.set(k, readSa1bFile(file).then((data) => ({ file, data }), (error) => ({ file, error: error instanceof Error ? error : new Error(String(error)) })));
  };
  for (let i = 0; i < files.length; i++) {
    for (let k = i; k < i + Math.max(1, ahead); k++) start(k);
    const read = await reads.get(i)!;
    reads.delete(i);
    yield read;
  }
}
