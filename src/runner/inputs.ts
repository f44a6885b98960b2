import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../settings/validate.js';

/** Extensions taken as images (lower case, with the dot). */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  '.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.avif', '.gif',
]);

export interface InputImage {
  /** Path as given or found, for messages and reading. */
  path: string;
  /** Path relative to its input root, '/' separators: the output name and file_name. */
  relative: string;
}

export interface InputList {
  images: InputImage[];
  /** Files seen in folders but skipped for not having an image extension. */
  skippedNonImages: number;
}

function isImageName(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
}

async function walk(dir: string, prefix: string, seen: Set<string>, out: InputList): Promise<void> {
  const real = await realpath(dir);
  if (seen.has(real)) return; // a symlink loop, or a folder reached twice
  seen.add(real);
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      const target = await stat(full).catch(() => undefined);
      isDir = target?.isDirectory() ?? false;
      isFile = target?.isFile() ?? false;
    }
    if (isDir) await walk(full, relative, seen, out);
    else if (isFile && isImageName(entry.name)) out.images.push({ path: full, relative });
    else if (isFile) out.skippedNonImages++;
  }
}

/**
 * Expands folders (recursively, in name order) and single files into the
 * images to process. A missing path is a usage error.
 */
export async function listInputs(paths: string[]): Promise<InputList> {
  const out: InputList = { images: [], skippedNonImages: 0 };
  for (const p of paths) {
    const info = await stat(p).catch(() => undefined);
    if (!info) throw new UsageError(`${p}: no such file or folder`);
    if (info.isDirectory()) await walk(p, '', new Set(), out);
    else out.images.push({ path: p, relative: path.basename(p) });
  }
  return out;
}
