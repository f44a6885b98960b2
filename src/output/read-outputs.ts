import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { MANIFEST_FILE } from '../runner/manifest.js';
import { TEMP_SUFFIX } from './atomic-write.js';
import { PNG_INFO_FILE } from './png-folder.js';
import type { Sa1bFile } from './sa1b.js';

/**
 * The per-image SA-1B files of an output folder (either format), in name
 * order, found by walking it; or the one file given. Run files (manifest,
 * failures, temporaries) are not outputs.
 */
export async function findOutputFiles(target: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.name.endsWith(TEMP_SUFFIX) || e.name === MANIFEST_FILE) continue;
      if (e.isDirectory()) await walk(full);
      else if (e.isFile() && (e.name.endsWith('.json') || e.name === PNG_INFO_FILE)) found.push(full);
    }
  };
  const info = await readdir(target).then(() => 'dir', () => 'file');
  if (info === 'file') return [target];
  await walk(target);
  return found;
}

/**
 * Reads and checks one per-image file; the error names the file and the
 * cause. A COCO instances file (a merge kept in the folder) is no per-image
 * file: undefined.
 */
export async function readSa1bFile(file: string): Promise<Sa1bFile | undefined> {
  // A file that cannot be read keeps its own error (and code: a status read may race an --overwrite run).
  const text = await readFile(file, 'utf8');
  let parsed: Sa1bFile;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
  if (Array.isArray((parsed as { images?: unknown })?.images)) return undefined;
  if (!parsed?.image || typeof parsed.image.image_id !== 'number' || !Array.isArray(parsed.annotations)) {
    throw new Error(`${file}: not an SA-1B per-image file (no image record or annotations)`);
  }
  return parsed;
}
