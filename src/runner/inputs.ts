import { access, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { optionName, UsageError, type OptionNames } from '../errors.js';
import { MANIFEST_FILE, plainRelativeName, UnsafeNameError } from '../output/layout.js';
import { isHttp, isS3, parseS3, s3Location } from '../storage/location.js';
import { readInput } from '../storage/read-input.js';
import { RemoteFault } from '../storage/storage-fault.js';
import { storeFor } from '../storage/store.js';
import { listTree } from '../storage/tree.js';

/** Extensions taken as images (lower case, with the dot). */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  '.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.avif', '.gif',
]);

export interface InputImage {
  /** Path as given or found, for messages and reading. */
  path: string;
  /** Path relative to its input root, '/' separators: the output name and file_name, a relative path of plain segments (see output/layout.ts). */
  relative: string;
  /** Why the name (an S3 key, a URL, a list line) cannot be placed in a destination: the image fails with this reason, the rest goes on. */
  unplaceable?: string;
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
  /** How messages name the options (default `lists`; the CLI's `--list`). */
  names?: OptionNames;
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
    const key = isHttp(file) || isS3(file) ? file : path.resolve(file);
    if (this.seen.has(key)) return; // the same file named twice
    this.seen.add(key);
    this.out.images.push(placeable(file, relative));
  }
}

/** An input whose name from data is made plain, or kept as given with the reason it cannot be placed. */
function placeable(file: string, relative: string): InputImage {
  try {
    return { path: file, relative: plainRelativeName(relative) };
  } catch (err) {
    if (!(err instanceof UnsafeNameError)) throw err;
    return { path: file, relative, unplaceable: err.message };
  }
}

/** The files under a folder, in name order: links followed (a loop walked once), folders holding outputs not entered. */
async function walk(dir: string, into: Collector): Promise<void> {
  const files = await listTree(dir, {
    followLinks: true, keep: (e) => e.kind === 'file', enter: async (folder) => !(await into.holdsOutputs(folder)),
  });
  for (const f of files ?? []) into.add(path.join(dir, f.name), f.name, true);
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
 * The output name of a URL: its host and path, `https://example.com/a/b.jpg`
 * giving `example.com/a/b.jpg` (a port becomes `_port`, the query is left
 * out), so URLs of several hosts cannot collide.
 */
export function urlRelative(url: string): string {
  const parsed = new URL(url);
  const segments = parsed.pathname.split('/').filter(Boolean).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  }).map((s) => s.replace(/\//g, '_'));
  return [parsed.host.replace(':', '_'), ...(segments.length ? segments : ['index'])].join('/');
}

/** What the store said while listing inputs: a run error, found before any image. */
async function describeListing(location: string, err: unknown): Promise<UsageError> {
  if (err instanceof RemoteFault) return new UsageError(`${location}: ${err.message}`);
  const { describeS3Error } = await import('../storage/s3.js');
  return new UsageError(`${location}: ${describeS3Error(err, parseS3(location).bucket)}`);
}

/**
 * The images under an S3 prefix, like a folder's: every key with an image
 * extension, listed by the store (in the order a folder walk gives), named
 * relative to the prefix; a single key works too. Keys under the run's
 * output prefix, or under a prefix holding a run manifest, are outputs,
 * not images.
 */
async function listS3(location: string, outDir: string | undefined, into: Collector): Promise<void> {
  const { bucket, key } = parseS3(location);
  if (!bucket) throw new UsageError(`${location}: no bucket named (s3://BUCKET/PREFIX)`);
  let names: string[] | undefined;
  try {
    names = await storeFor(location).list(location);
    if (names === undefined && key) {
      const s3 = await import('../storage/s3.js');
      if (!(await s3.objectExists(bucket, key))) throw new UsageError(`${location}: no such object, and no objects under it`);
      into.add(location, key.split('/').pop()!, false);
      return;
    }
  } catch (err) {
    throw err instanceof UsageError ? err : await describeListing(location, err);
  }
  const prefix = key ? `${key}/` : '';
  const out = outDir && isS3(outDir) ? parseS3(outDir) : undefined;
  // Folders (relative to the prefix, with their '/') holding outputs.
  const outputFolders = (names ?? []).filter((n) => n.split('/').pop() === MANIFEST_FILE).map((n) => n.slice(0, -MANIFEST_FILE.length));
  const outPrefix = out?.key ? `${out.key}/` : '';
  if (out?.bucket === bucket && outPrefix.startsWith(prefix)) outputFolders.push(outPrefix.slice(prefix.length));
  const skipped = new Set<string>();
  for (const name of names ?? []) {
    const inOutput = outputFolders.find((p) => name.startsWith(p));
    if (inOutput !== undefined) {
      skipped.add(s3Location(bucket, `${prefix}${inOutput}`.replace(/\/$/, '')));
      continue;
    }
    into.add(s3Location(bucket, `${prefix}${name}`), name, true);
  }
  into.out.skippedOutputFolders.push(...skipped);
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
  const outReal = src.outDir === undefined || isS3(src.outDir) ? undefined : await realpath(src.outDir).catch(() => path.resolve(src.outDir!));
  const into = new Collector(outReal);
  for (const p of src.paths) {
    if (isHttp(p)) {
      into.add(p, urlRelative(p), false);
      continue;
    }
    if (isS3(p)) {
      await listS3(p, src.outDir, into);
      continue;
    }
    const info = await stat(p).catch(() => undefined);
    if (info?.isDirectory()) {
      await walk(p, into);
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
      if (!src.readStdin) throw new UsageError(`${optionName('lists', src.names)} -: standard input is not available`);
      text = await src.readStdin();
    } else if (isHttp(list) || isS3(list)) {
      // A list kept beside the data (a Kubernetes job has no volume to hold one).
      text = (await readInput(list, undefined, undefined, src.names).catch((err: Error) => {
        throw new UsageError(`${optionName('lists', src.names)} ${list}: cannot read the list (${err.message})`);
      })).toString('utf8');
    } else {
      text = await readFile(list, 'utf8').catch(() => {
        throw new UsageError(`${list}: cannot read the list file`);
      });
    }
    for (const line of text.split(/\r?\n/)) {
      const entry = line.trim();
      if (!entry || entry.startsWith('#')) continue;
      // A URL is tried whatever its name ends in: many name no file.
      if (isHttp(entry)) into.add(entry, urlRelative(entry), false);
      else if (isS3(entry)) into.add(entry, [parseS3(entry).bucket, parseS3(entry).key].filter(Boolean).join('/'), true);
      else into.add(path.resolve(root, entry), listRelative(entry, root), true);
    }
  }
  return into.out;
}
