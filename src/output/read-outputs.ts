import { isS3, joinLocation } from '../storage/location.js';
import { storeFor } from '../storage/store.js';
import { MANIFEST_FILE } from '../runner/manifest.js';
import { TEMP_SUFFIX } from '../storage/atomic-write.js';
import { PNG_INFO_FILE } from './png-folder.js';
import type { Sa1bFile } from './sa1b.js';

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

/**
 * Reads and checks one per-image file; the error names the file and the
 * cause. A COCO instances file (a merge kept in the folder) is no per-image
 * file: undefined.
 */
export async function readSa1bFile(file: string): Promise<Sa1bFile | undefined> {
  // A file that cannot be read keeps its own error (and code: a status read may race an --overwrite run).
  const bytes = await storeFor(file).read(file);
  if (bytes === undefined) throw notFound(file);
  let parsed: Sa1bFile;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
  if (Array.isArray((parsed as { images?: unknown })?.images)) return undefined;
  if (!parsed?.image || typeof parsed.image.image_id !== 'number' || !Array.isArray(parsed.annotations)) {
    throw new Error(`${file}: not an SA-1B per-image file (no image record or annotations)`);
  }
  return parsed;
}
