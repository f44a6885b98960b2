import { access, readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { UsageError } from '../settings/validate.js';
import { MANIFEST_FILE } from './manifest.js';

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
  /** Files found by folders, globs or lists but skipped for not having an image extension. */
  skippedNonImages: number;
  /** Folders not searched because they hold sam-amg outputs: the run's own output folder, or one with a run manifest. */
  skippedOutputFolders: string[];
}

export interface InputSources {
  /** Files, folders (searched recursively) and glob patterns. */
  paths: string[];
  /** Files listing one path a line; '-' reads `stdin`. */
  lists?: string[];
  /** Root that list entries are named relative to (default: the current folder). */
  listRoot?: string;
  /** Text of standard input, read when a list is '-'. */
  readStdin?: () => Promise<string>;
  /** The run's output folder: never searched for images, even inside an input folder. */
  outDir?: string;
}

function isImageName(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

class Collector {
  readonly out: InputList = { images: [], skippedNonImages: 0, skippedOutputFolders: [] };
  private readonly seen = new Set<string>();
  private readonly outputFolderCache = new Map<string, boolean>();

  constructor(private readonly outReal: string | undefined) {}

  /**
   * Whether a folder holds sam-amg outputs (it is the output folder, or has a
   * run manifest) and must not be searched: a run would otherwise take its
   * own mask PNGs for images. Noted once per folder.
   */
  async holdsOutputs(dir: string): Promise<boolean> {
    const real = await realpath(dir).catch(() => path.resolve(dir));
    let holds = this.outputFolderCache.get(real);
    if (holds === undefined) {
      holds = real === this.outReal || await access(path.join(dir, MANIFEST_FILE)).then(() => true, () => false);
      this.outputFolderCache.set(real, holds);
      if (holds) this.out.skippedOutputFolders.push(dir);
    }
    return holds;
  }

  add(file: string, relative: string, filterByExtension: boolean): void {
    if (filterByExtension && !isImageName(file)) {
      this.out.skippedNonImages++;
      return;
    }
    const key = path.resolve(file);
    if (this.seen.has(key)) return; // the same file named twice
    this.seen.add(key);
    this.out.images.push({ path: file, relative });
  }
}

async function walk(dir: string, prefix: string, visited: Set<string>, into: Collector): Promise<void> {
  const real = await realpath(dir);
  if (visited.has(real)) return; // a symlink loop, or a folder reached twice
  visited.add(real);
  if (await into.holdsOutputs(dir)) return;
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => byName(a.name, b.name));
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
    if (isDir) await walk(full, relative, visited, into);
    else if (isFile) into.add(full, relative, true);
  }
}

/** The folder part of a pattern before its first wildcard segment. */
function globBase(pattern: string): string {
  const segments = pattern.split('/');
  const fixed: string[] = [];
  for (const s of segments) {
    if (isDynamicPattern(s)) break;
    fixed.push(s);
  }
  return fixed.length === 0 ? '.' : fixed.join('/') || '/';
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

/** Whether a pattern's match lies in a folder, between the pattern's fixed folder and the file, that holds outputs. */
async function insideOutputFolder(file: string, base: string, into: Collector): Promise<boolean> {
  const folders: string[] = [];
  const top = path.resolve(base);
  for (let dir = path.dirname(path.resolve(file)); ; dir = path.dirname(dir)) {
    folders.push(dir);
    if (dir === top || !dir.startsWith(top) || path.dirname(dir) === dir) break;
  }
  for (const dir of folders.reverse()) if (await into.holdsOutputs(dir)) return true;
  return false;
}

/** A list entry's name: relative to the root, or its absolute path without the leading '/' when outside it. */
function listRelative(entry: string, root: string): string {
  const abs = path.resolve(root, entry);
  const rel = path.relative(root, abs);
  if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return toPosix(rel);
  return toPosix(abs).replace(/^\/+/, '');
}

/**
 * Expands folders (recursively, in name order), single files, glob patterns
 * and list files into the images to process, in a deterministic order with
 * duplicates removed. Folders, globs and lists skip names without an image
 * extension (counted); a file named directly is always tried. A path that
 * does not exist and is no pattern is a usage error.
 */
export async function listInputs(sources: InputSources | string[]): Promise<InputList> {
  const src: InputSources = Array.isArray(sources) ? { paths: sources } : sources;
  const outReal = src.outDir === undefined ? undefined : await realpath(src.outDir).catch(() => path.resolve(src.outDir!));
  const into = new Collector(outReal);
  for (const p of src.paths) {
    const info = await stat(p).catch(() => undefined);
    if (info?.isDirectory()) {
      await walk(p, '', new Set(), into);
    } else if (info) {
      into.add(p, path.basename(p), false);
    } else if (isDynamicPattern(p)) {
      const base = globBase(p);
      const matches = await glob(p, { onlyFiles: true, followSymbolicLinks: true, expandDirectories: false });
      if (matches.length === 0) throw new UsageError(`${p}: the pattern matches no files`);
      for (const m of matches.sort(byName)) {
        if (!(await insideOutputFolder(m, base, into))) into.add(m, toPosix(path.relative(base, m)), true);
      }
    } else {
      throw new UsageError(`${p}: no such file or folder`);
    }
  }
  const root = path.resolve(src.listRoot ?? '.');
  for (const list of src.lists ?? []) {
    let text: string;
    if (list === '-') {
      if (!src.readStdin) throw new UsageError('--list -: standard input is not available');
      text = await src.readStdin();
    } else {
      text = await readFile(list, 'utf8').catch(() => {
        throw new UsageError(`${list}: cannot read the list file`);
      });
    }
    for (const line of text.split(/\r?\n/)) {
      const entry = line.trim();
      if (!entry || entry.startsWith('#')) continue;
      into.add(path.resolve(root, entry), listRelative(entry, root), true);
    }
  }
  return into.out;
}
