import { readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import { UsageError } from '../errors.js';
import { createFileAtomic, writeDirAtomic, writeFileAtomic } from './atomic-write.js';
import { byWalkOrder, isS3, joinLocation, parseS3, s3Location, type S3Address } from './location.js';
import { prepareOutputFolder } from './out-folder.js';
import { isNonFolder, listTree, type TreeEntry } from './tree.js';
import { RemoteFault } from './storage-fault.js';

/** One file of a folder written whole. */
export interface StoreFile {
  name: string;
  data: string | Uint8Array;
}

/**
 * Where outputs are kept, a local folder or an S3 prefix, as the run, resume
 * and the commands that read outputs need it: whole files in, whole files
 * out. A reader never sees a part-written file on either: on disk files are
 * renamed into place, on S3 an object appears whole with its one PUT.
 */
export interface Store {
  /** The bytes at `location`; undefined when there is nothing there. */
  read(location: string): Promise<Buffer | undefined>;
  /** Writes `location` whole, replacing what was there. */
  write(location: string, data: string | Uint8Array): Promise<void>;
  /** Writes `location` whole only where there is nothing yet; false when something is there (on S3, where the store offers conditional writes). */
  create(location: string, data: string | Uint8Array): Promise<boolean>;
  /**
   * Writes a folder of files that readers take as complete only once its
   * last file is there: renamed into place whole on disk; on S3 the last
   * file is removed first and written last, and files of an earlier
   * version that the new one lacks are removed after.
   */
  writeFolder(location: string, files: StoreFile[]): Promise<void>;
  remove(location: string): Promise<void>;
  /**
   * The names of the files under folder `location` (all, or with `top` only
   * those directly in it), relative with '/', in the order a walk sorted by
   * name gives; undefined when it is no folder.
   */
  list(location: string, top?: boolean): Promise<string[] | undefined>;
  /**
   * Everything under folder `location`, links and other non-files included
   * (as `other`), so a writer can see what replacing it would take away;
   * undefined when there is nothing there. A file at `location` itself is
   * one entry named ''.
   */
  tree(location: string): Promise<TreeEntry[] | undefined>;
  /**
   * Makes sure outputs can be written under `location` before any image is
   * read, else a UsageError (or StorageError) naming `label`, the option that
   * chose it (`out`, or the CLI's `--out`).
   */
  prepare(location: string, label: string): Promise<void>;
  /** Whether a folder written by writeFolder appears whole (renamed into place), or file by file (a write cut short leaves part of one). */
  readonly foldersAppearWhole: boolean;
}

const isMissingFile = (err: unknown) => ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');

const localStore: Store = {
  read: (location) => readFile(location).catch((err) => {
    if (isMissingFile(err)) return undefined;
    throw err;
  }),
  write: (location, data) => writeFileAtomic(location, data),
  create: (location, data) => createFileAtomic(location, data),
  writeFolder: (location, files) => writeDirAtomic(location, async (temp) => {
    for (const f of files) await writeFile(path.join(temp, f.name), f.data);
  }),
  remove: (location) => rm(location, { force: true }),
  list: async (location, top = false) => (await listTree(location, { top, keep: (e) => e.kind === 'file' }))?.map((e) => e.name),
  tree: async (location) => ((await isNonFolder(location)) ? [{ name: '', kind: 'other' }] : listTree(location)),
  prepare: (location, label) => prepareOutputFolder(location, label),
  foldersAppearWhole: true,
};

/** Runs an S3 request; what the store says becomes a RemoteFault, a storage fault like a full disk. */
async function remote<T>(location: string, request: (s3: typeof import('./s3.js'), at: S3Address) => Promise<T>): Promise<T> {
  const s3 = await import('./s3.js');
  const at = parseS3(location);
  try {
    return await request(s3, at);
  } catch (err) {
    throw new RemoteFault(s3.describeS3Error(err, at.bucket), location, err);
  }
}

const s3Store: Store = {
  read: (location) => remote(location, (s3, { bucket, key }) => s3.getObject(bucket, key).catch((err) => {
    if (s3.isMissing(err)) return undefined;
    throw err;
  })),
  write: (location, data) => remote(location, (s3, { bucket, key }) => s3.putObject(bucket, key, data)),
  create: (location, data) => remote(location, (s3, { bucket, key }) => s3.putObjectIfAbsent(bucket, key, data)),
  writeFolder: async (location, files) => {
    const before = await s3Store.list(location) ?? [];
    const last = files[files.length - 1];
    const at = (name: string) => joinLocation(location, name);
    // A run killed before the last file is written leaves a folder that resume takes as missing.
    if (last && before.includes(last.name)) await s3Store.remove(at(last.name));
    // Requests to a store take a round trip each: several at once, the last file after all the others.
    const limit = pLimit(8);
    await Promise.all(files.slice(0, -1).map((f) => limit(() => s3Store.write(at(f.name), f.data))));
    if (last) await s3Store.write(at(last.name), last.data);
    const kept = new Set(files.map((f) => f.name));
    await Promise.all(before.filter((name) => !kept.has(name)).map((name) => limit(() => s3Store.remove(at(name)))));
  },
  remove: (location) => remote(location, (s3, { bucket, key }) => s3.deleteObject(bucket, key)),
  list: async (location, top = false) => {
    const { key } = parseS3(location);
    const prefix = key ? `${key}/` : '';
    const objects = await remote(location, (s3, { bucket }) => s3.listObjects(bucket, prefix, top));
    if (objects.length === 0) return undefined;
    return objects.map((o) => o.key.slice(prefix.length)).sort(byWalkOrder);
  },
  // An object and a prefix of the same name live side by side in S3: only what is under the prefix is in the way.
  tree: async (location) => (await s3Store.list(location))?.map((name) => ({ name, kind: 'file' as const })),
  foldersAppearWhole: false,
  prepare: async (location, label) => {
    const { bucket, key } = parseS3(location);
    if (!bucket) throw new UsageError(`${label} ${location}: no bucket named (s3://BUCKET/PREFIX)`);
    // A write and its removal prove the bucket is there and these credentials may write to it, before any model or image loads.
    const probe = s3Location(bucket, [key, `.sam-amg-probe.${hostname()}.${process.pid}.tmp`].filter(Boolean).join('/'));
    try {
      await s3Store.write(probe, '');
      await s3Store.remove(probe);
    } catch (err) {
      throw new UsageError(`${label} ${location}: ${(err as Error).message}`);
    }
  },
};

/** The store a location is in. */
export function storeFor(location: string): Store {
  return isS3(location) ? s3Store : localStore;
}
